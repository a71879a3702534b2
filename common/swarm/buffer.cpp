#include "common/swarm/buffer.h"

#include <algorithm>
#include <mutex>

namespace fanout::swarm {
namespace {

// Enough for every piece and block in flight on a busy node; beyond it buffers are freed.
constexpr size_t kMaxIdleBytes = size_t{256} << 20;
constexpr size_t kMaxIdleBuffers = 512;  // bounds the search in acquire()

class BufferPool {
 public:
  BufferPtr acquire(size_t size) {
    size_t capacity = std::max(fileio::kPageAlign, fileio::round_up_to_page(size));
    std::unique_ptr<Buffer> buffer;
    {
      std::lock_guard lock(mu_);
      // The smallest idle buffer that fits: pieces and blocks come in a few sizes.
      auto best = idle_.end();
      for (auto it = idle_.begin(); it != idle_.end(); ++it) {
        if ((*it)->capacity() >= capacity &&
            (best == idle_.end() || (*it)->capacity() < (*best)->capacity())) {
          best = it;
        }
      }
      if (best != idle_.end()) {
        buffer = std::move(*best);
        *best = std::move(idle_.back());
        idle_.pop_back();
        idle_bytes_ -= buffer->capacity();
      }
    }
    if (!buffer) {
      buffer = std::make_unique<Buffer>();
      buffer->reserve(capacity);
    }
    buffer->resize(size);
    return BufferPtr(buffer.release(), [this](Buffer* b) { release(std::unique_ptr<Buffer>(b)); });
  }

  size_t idle_bytes() {
    std::lock_guard lock(mu_);
    return idle_bytes_;
  }

 private:
  void release(std::unique_ptr<Buffer> buffer) {
    std::lock_guard lock(mu_);
    if (idle_bytes_ + buffer->capacity() > kMaxIdleBytes || idle_.size() >= kMaxIdleBuffers) {
      return;  // freed here
    }
    idle_bytes_ += buffer->capacity();
    idle_.push_back(std::move(buffer));
  }

  std::mutex mu_;
  std::vector<std::unique_ptr<Buffer>> idle_;
  size_t idle_bytes_ = 0;
};

// Never destroyed: buffers may be released by threads still running at exit.
BufferPool& pool() {
  static auto* instance = new BufferPool;
  return *instance;
}

}  // namespace

BufferPtr acquire_buffer(size_t size) { return pool().acquire(size); }

size_t pooled_buffer_bytes() { return pool().idle_bytes(); }

}  // namespace fanout::swarm
