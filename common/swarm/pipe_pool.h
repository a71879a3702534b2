#pragma once
// Pipes for zero-copy uploads. A block served from disk goes file -> pipe -> socket with
// splice(2): the kernel hands the socket references to the pages it read, where a read() into our
// buffer and a send() from it copied every byte twice through user memory. In the 50-agent
// benchmark the send copy alone was 7% of the CPU (bench/README.md, "Zero-copy uploads").
//
// A pipe holds one block (1 MiB; a larger block goes through in rounds). An unprivileged user's
// pipes share a size limit; past it no pipe is handed out and uploads copy through a buffer as
// before. Only pipes released empty are reused: one closed with bytes in it (its connection died
// mid-block) would hand them to the next upload.
#include <cstddef>
#include <memory>

namespace fanout::swarm {

struct Pipe {
  int read_fd = -1;
  int write_fd = -1;
  size_t capacity = 0;  // bytes it can hold
  size_t held = 0;      // bytes in it now, kept by whoever uses it
  Pipe() = default;
  Pipe(const Pipe&) = delete;
  Pipe& operator=(const Pipe&) = delete;
  ~Pipe();
};

using PipePtr = std::shared_ptr<Pipe>;

// An empty pipe, reused from pipes released empty when there is one; null when none can be made
// (out of descriptors): the caller then copies through a buffer. Thread-safe.
PipePtr acquire_pipe();

// Idle pipes the pool holds (for tests).
size_t pooled_pipes();

}  // namespace fanout::swarm
