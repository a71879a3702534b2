#include "tests/support/child_process.h"

#include <fcntl.h>
#include <httplib.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <deque>
#include <fstream>
#include <stdexcept>
#include <system_error>
#include <thread>

namespace fanout::test {
namespace {

void close_quietly(int fd) {
  if (fd >= 0) ::close(fd);
}

}  // namespace

ChildProcess::ChildProcess(std::string name, const std::string& binary,
                           const std::vector<std::string>& args, std::filesystem::path log_path)
    : name_(std::move(name)), log_path_(std::move(log_path)) {
  // Everything the child needs is prepared before fork: between fork and exec only
  // async-signal-safe calls are allowed (the test binary has other threads).
  std::vector<std::string> argv_storage;
  argv_storage.push_back(binary);
  argv_storage.insert(argv_storage.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_storage) {
    argv.push_back(a.data());
    command_ += (command_.empty() ? "" : " ") + a;
  }
  argv.push_back(nullptr);

  if (log_path_.has_parent_path()) std::filesystem::create_directories(log_path_.parent_path());
  int log_fd = ::open(log_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0) {
    throw std::system_error(errno, std::generic_category(), "open " + log_path_.string());
  }
  int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  // The child reports a failed exec through this pipe; a successful exec closes it (CLOEXEC).
  int exec_pipe[2];
  if (null_fd < 0 || ::pipe2(exec_pipe, O_CLOEXEC) != 0) {
    int err = errno;
    close_quietly(log_fd);
    close_quietly(null_fd);
    throw std::system_error(err, std::generic_category(), "pipe2");
  }

  pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid < 0) {
    int err = errno;
    close_quietly(log_fd);
    close_quietly(null_fd);
    close_quietly(exec_pipe[0]);
    close_quietly(exec_pipe[1]);
    throw std::system_error(err, std::generic_category(), "fork");
  }
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);  // the parent died before prctl took effect
    ::dup2(null_fd, STDIN_FILENO);
    ::dup2(log_fd, STDOUT_FILENO);
    ::dup2(log_fd, STDERR_FILENO);
    ::execv(argv[0], argv.data());
    int err = errno;
    ssize_t ignored = ::write(exec_pipe[1], &err, sizeof(err));
    (void)ignored;
    ::_exit(127);
  }

  pid_ = pid;
  close_quietly(log_fd);
  close_quietly(null_fd);
  close_quietly(exec_pipe[1]);
  int child_errno = 0;
  ssize_t n;
  do {
    n = ::read(exec_pipe[0], &child_errno, sizeof(child_errno));
  } while (n < 0 && errno == EINTR);
  close_quietly(exec_pipe[0]);
  if (n == static_cast<ssize_t>(sizeof(child_errno))) {
    reap(/*block=*/true);
    throw std::runtime_error("cannot execute " + binary + ": " + std::strerror(child_errno) +
                             " (is it built? run `ninja -C <build dir>` first)");
  }
}

ChildProcess::~ChildProcess() {
  stop();
}

void ChildProcess::reap(bool block) {
  if (pid_ < 0 || status_) return;
  int status = 0;
  pid_t r;
  do {
    r = ::waitpid(pid_, &status, block ? 0 : WNOHANG);
  } while (r < 0 && errno == EINTR);
  if (r == pid_) status_ = status;
}

bool ChildProcess::running() {
  reap(/*block=*/false);
  return pid_ > 0 && !status_;
}

std::string ChildProcess::describe() {
  std::string head = name_ + " (pid " + std::to_string(pid_) + "): ";
  if (running()) return head + "running";
  int s = *status_;
  if (WIFEXITED(s)) return head + "exited with code " + std::to_string(WEXITSTATUS(s));
  if (WIFSIGNALED(s)) {
    return head + "killed by signal " + std::to_string(WTERMSIG(s)) + " (" +
           ::strsignal(WTERMSIG(s)) + ")";
  }
  return head + "ended with wait status " + std::to_string(s);
}

::testing::AssertionResult ChildProcess::wait_healthy(const std::string& base_url,
                                                      std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string last_error = "no answer yet";
  while (true) {
    if (!running()) {
      return ::testing::AssertionFailure()
             << describe() << " before " << base_url << "/healthz answered\n"
             << "command: " << command_ << "\n--- last lines of " << log_path_.string() << " ---\n"
             << log_tail();
    }
    httplib::Client client(base_url);
    client.set_connection_timeout(std::chrono::milliseconds(200));
    client.set_read_timeout(std::chrono::seconds(2));
    if (auto res = client.Get("/healthz")) {
      if (res->status == 200) return ::testing::AssertionSuccess();
      last_error = "HTTP " + std::to_string(res->status) + ": " + res->body;
    } else {
      last_error = httplib::to_string(res.error());
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      return ::testing::AssertionFailure()
             << name_ << " not healthy at " << base_url << "/healthz after " << timeout.count()
             << " ms (last: " << last_error << "); " << describe() << "\n"
             << "command: " << command_ << "\n--- last lines of " << log_path_.string() << " ---\n"
             << log_tail();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

void ChildProcess::stop(std::chrono::milliseconds grace) {
  if (!running()) return;
  ::kill(pid_, SIGTERM);
  auto deadline = std::chrono::steady_clock::now() + grace;
  while (std::chrono::steady_clock::now() < deadline) {
    reap(/*block=*/false);
    if (status_) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ::kill(pid_, SIGKILL);
  reap(/*block=*/true);
}

std::string ChildProcess::log_tail(size_t max_lines) const {
  std::ifstream in(log_path_, std::ios::binary);
  if (!in) return "(no log at " + log_path_.string() + ")\n";
  // Only the end of a long log matters; read at most its last 256 KiB.
  constexpr std::streamoff kMaxRead = 256 * 1024;
  in.seekg(0, std::ios::end);
  std::streamoff size = in.tellg();
  in.seekg(size > kMaxRead ? size - kMaxRead : 0);
  std::deque<std::string> lines;
  std::string line;
  while (std::getline(in, line)) {
    lines.push_back(std::move(line));
    if (lines.size() > max_lines) lines.pop_front();
  }
  if (lines.empty()) return "(log is empty)\n";
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  return out;
}

}  // namespace fanout::test
