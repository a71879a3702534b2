#include "common/store/page_memory.h"

#include <sys/mman.h>

#include <array>
#include <cstdint>
#include <mutex>
#include <new>
#include <vector>

namespace fanout::fileio {
namespace {

constexpr size_t kSmallestSlot = size_t{256} << 10;  // below this, the C++ allocator
constexpr size_t kSlotClasses = 3;                   // 256 KiB, 512 KiB, 1 MiB

// `len` (a multiple of kHugePage) bytes at a 2 MiB boundary, advised to be huge pages.
void* map_huge(size_t len) {
  void* m = ::mmap(nullptr, len + kHugePage, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                   -1, 0);
  if (m == MAP_FAILED) throw std::bad_alloc();
  auto base = reinterpret_cast<uintptr_t>(m);
  uintptr_t aligned = round_up(base, kHugePage);
  if (aligned > base) ::munmap(m, aligned - base);
  uintptr_t end = base + len + kHugePage;
  if (end > aligned + len) ::munmap(reinterpret_cast<void*>(aligned + len), end - aligned - len);
  auto* p = reinterpret_cast<void*>(aligned);
  ::madvise(p, len, MADV_HUGEPAGE);  // advice: refused (THP off), these stay 4 KiB pages
  return p;
}

// The slot class for `bytes`, or kSlotClasses when it needs a mapping of its own.
size_t slot_class(size_t bytes) {
  size_t c = 0;
  for (size_t slot = kSmallestSlot; c < kSlotClasses; ++c, slot *= 2) {
    if (bytes <= slot) return c;
  }
  return kSlotClasses;
}

class Slots {
 public:
  void* take(size_t c) {
    std::lock_guard lock(mu_);
    auto& free = free_[c];
    if (free.empty()) {
      size_t slot = kSmallestSlot << c;
      free.reserve(free.size() + kHugePage / slot);  // cannot throw once the page is mapped
      auto* page = static_cast<char*>(map_huge(kHugePage));
      for (size_t off = kHugePage; off > 0; off -= slot) free.push_back(page + off - slot);
    }
    void* p = free.back();
    free.pop_back();
    return p;
  }
  void give(size_t c, void* p) noexcept {
    std::lock_guard lock(mu_);
    try {
      free_[c].push_back(p);
    } catch (const std::bad_alloc&) {
      // Cannot remember it: the slot is lost, its page stays mapped.
    }
  }

 private:
  std::mutex mu_;
  std::array<std::vector<void*>, kSlotClasses> free_;
};

// Never destroyed: buffers may be freed by threads still running at exit.
Slots& slots() {
  static auto* instance = new Slots;
  return *instance;
}

}  // namespace

void* allocate_pages(size_t bytes) {
  if (bytes < kSmallestSlot) return ::operator new(bytes, std::align_val_t{kPageAlign});
  size_t c = slot_class(bytes);
  if (c < kSlotClasses) return slots().take(c);
  return map_huge(round_up(bytes, kHugePage));
}

void free_pages(void* p, size_t bytes) noexcept {
  if (p == nullptr) return;
  if (bytes < kSmallestSlot) return ::operator delete(p, std::align_val_t{kPageAlign});
  size_t c = slot_class(bytes);
  if (c < kSlotClasses) return slots().give(c, p);
  ::munmap(p, round_up(bytes, kHugePage));
}

}  // namespace fanout::fileio
