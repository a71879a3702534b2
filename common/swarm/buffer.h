#pragma once
// Byte buffers for blocks and pieces that are overwritten entirely right after allocation, so
// the zero-fill std::vector would do is skipped (it costs a memset of every byte moved).
#include <cstdint>
#include <memory>
#include <vector>

namespace fanout::swarm {

template <typename T>
struct DefaultInitAllocator : std::allocator<T> {
  template <typename U>
  struct rebind {
    using other = DefaultInitAllocator<U>;
  };
  using std::allocator<T>::allocator;
  template <typename U>
  void construct(U* p) noexcept {
    ::new (static_cast<void*>(p)) U;  // default-init: no zeroing
  }
  template <typename U, typename... Args>
  void construct(U* p, Args&&... args) {
    ::new (static_cast<void*>(p)) U(std::forward<Args>(args)...);
  }
};

using Buffer = std::vector<uint8_t, DefaultInitAllocator<uint8_t>>;
using BufferPtr = std::shared_ptr<Buffer>;

}  // namespace fanout::swarm
