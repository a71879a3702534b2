#include "common/swarm/pipe_pool.h"

#include <fcntl.h>
#include <unistd.h>

#include <mutex>
#include <vector>

namespace fanout::swarm {
namespace {

constexpr int kPipeBytes = 1 << 20;  // one block
// Past an unprivileged user's pipe limit the kernel refuses the size and a new pipe holds 8 KiB:
// a megabyte through it takes hundreds of system calls, dearer than copying it.
constexpr size_t kMinPipeBytes = 256 << 10;
constexpr size_t kMaxIdlePipes = 16;  // about the uploads one node has under way at once

std::unique_ptr<Pipe> make_pipe() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return nullptr;
  auto pipe = std::make_unique<Pipe>();
  pipe->read_fd = fds[0];
  pipe->write_fd = fds[1];
  // Refused (EPERM) past the user's pipe limit: whatever the pipe got, if it is enough.
  int size = ::fcntl(fds[1], F_SETPIPE_SZ, kPipeBytes);
  if (size < 0) size = ::fcntl(fds[1], F_GETPIPE_SZ);
  if (size < static_cast<int>(kMinPipeBytes)) return nullptr;
  pipe->capacity = static_cast<size_t>(size);
  return pipe;
}

class PipePool {
 public:
  PipePtr acquire() {
    std::unique_ptr<Pipe> pipe;
    {
      std::lock_guard lock(mu_);
      if (!idle_.empty()) {
        pipe = std::move(idle_.back());
        idle_.pop_back();
      }
    }
    if (!pipe) pipe = make_pipe();
    if (!pipe) return nullptr;
    return PipePtr(pipe.release(), [this](Pipe* p) { release(std::unique_ptr<Pipe>(p)); });
  }

  size_t idle() {
    std::lock_guard lock(mu_);
    return idle_.size();
  }

 private:
  void release(std::unique_ptr<Pipe> pipe) {
    if (pipe->held != 0) return;  // closed here, with whatever it still holds
    std::lock_guard lock(mu_);
    if (idle_.size() < kMaxIdlePipes) idle_.push_back(std::move(pipe));
  }

  std::mutex mu_;
  std::vector<std::unique_ptr<Pipe>> idle_;
};

// Never destroyed: pipes may be released by threads still running at exit.
PipePool& pool() {
  static auto* instance = new PipePool;
  return *instance;
}

}  // namespace

Pipe::~Pipe() {
  if (read_fd >= 0) ::close(read_fd);
  if (write_fd >= 0) ::close(write_fd);
}

PipePtr acquire_pipe() { return pool().acquire(); }

size_t pooled_pipes() { return pool().idle(); }

}  // namespace fanout::swarm
