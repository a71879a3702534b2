#pragma once
// One real fanout binary started by a test: its own log file, a health wait that fails fast
// when the process dies, and a shutdown that cannot leave a stray process behind.
#include <gtest/gtest.h>
#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace fanout::test {

class ChildProcess {
 public:
  // Starts `binary args...` with stdin from /dev/null and stdout and stderr appended to
  // log_path. Throws std::runtime_error naming the binary when it cannot be executed.
  // The child gets SIGKILL if the thread that started it dies (PR_SET_PDEATHSIG), so a crashed
  // test run leaves nothing behind: start children from the test's main thread.
  ChildProcess(std::string name, const std::string& binary, const std::vector<std::string>& args,
               std::filesystem::path log_path);
  // stop(): SIGTERM, then SIGKILL after 5 s.
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  const std::string& name() const { return name_; }
  pid_t pid() const { return pid_; }
  const std::filesystem::path& log_path() const { return log_path_; }
  // The command line, for failure messages.
  const std::string& command() const { return command_; }

  // True while the process has not exited (reaps it when it has).
  bool running();
  // The raw wait status once the process has exited.
  std::optional<int> wait_status() const { return status_; }
  // "fanout-agent[0] (pid 123): running" / "... exited with code 1" / "... killed by signal 11".
  std::string describe();

  // Polls GET base_url + "/healthz" until it answers 200. Fails early, with the log tail, when
  // the process exits first or the timeout passes.
  ::testing::AssertionResult wait_healthy(
      const std::string& base_url, std::chrono::milliseconds timeout = std::chrono::seconds(20));

  // SIGTERM, wait up to `grace`, then SIGKILL; always reaps. Safe to call more than once.
  void stop(std::chrono::milliseconds grace = std::chrono::seconds(5));

  // The last max_lines lines of the log, for failure messages.
  std::string log_tail(size_t max_lines = 40) const;

 private:
  void reap(bool block);

  std::string name_;
  std::filesystem::path log_path_;
  std::string command_;
  pid_t pid_ = -1;
  std::optional<int> status_;
};

}  // namespace fanout::test
