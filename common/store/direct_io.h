#pragma once
// Piece data written and read around the page cache (O_DIRECT). A node writes every byte it
// fetches once and reads it back a few times to serve peers; through the page cache each of those
// bytes lands on a freshly allocated page first. That copy into new pages ran at 300-450 MB/s on
// the VMs we benchmark on (dd of a new 4 GiB file: 453 MB/s; the same with oflag=direct: 2.4 GB/s)
// and was a fifth of the CPU of a 50-agent fan-out. It also keeps a 200 GB rollout from evicting
// the serving process's own pages.
//
// A call goes direct only when the memory, the offset and the length allow it (4 KiB alignment;
// see common/swarm/buffer.h for buffers that are); anything else, and file systems that refuse
// O_DIRECT (tmpfs), use the ordinary descriptor. Both descriptors name the same file, and the
// kernel keeps direct and buffered I/O of one file coherent.
#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <new>
#include <utility>
#include <vector>

#include "common/store/page_memory.h"

namespace fanout::fileio {

// `size` rounded up to whole pages.
inline constexpr size_t round_up_to_page(size_t size) { return round_up(size, kPageAlign); }

// Allocates page-aligned memory (what O_DIRECT needs; huge pages from 256 KiB, page_memory.h) and
// default-initialises elements: buffers that are overwritten right after allocation skip the
// zero-fill a std::vector would do.
template <typename T>
struct PageAlignedAllocator {
  using value_type = T;
  PageAlignedAllocator() = default;
  template <typename U>
  PageAlignedAllocator(const PageAlignedAllocator<U>&) noexcept {}
  T* allocate(size_t n) { return static_cast<T*>(allocate_pages(n * sizeof(T))); }
  void deallocate(T* p, size_t n) noexcept { free_pages(p, n * sizeof(T)); }
  template <typename U>
  void construct(U* p) noexcept {
    ::new (static_cast<void*>(p)) U;
  }
  template <typename U, typename... Args>
  void construct(U* p, Args&&... args) {
    ::new (static_cast<void*>(p)) U(std::forward<Args>(args)...);
  }
  template <typename U>
  bool operator==(const PageAlignedAllocator<U>&) const noexcept {
    return true;
  }
};
using AlignedBytes = std::vector<uint8_t, PageAlignedAllocator<uint8_t>>;

class DirectIo {
 public:
  static constexpr size_t kAlign = kPageAlign;

  // `fd` is the caller's ordinary descriptor of `path` (not owned). With `enabled`, `path` is
  // opened a second time, with O_DIRECT and the same access mode; if that fails every call uses
  // `fd`.
  DirectIo(int fd, std::filesystem::path path, bool enabled);
  ~DirectIo();
  DirectIo(const DirectIo&) = delete;
  DirectIo& operator=(const DirectIo&) = delete;

  bool direct() const { return direct_fd_ >= 0; }

  // Writes all of `data`. Direct for the whole pages of a write at an aligned offset (memory that
  // is not aligned is copied through a small aligned buffer); a tail under one page is written
  // through the page cache.
  void pwrite(const void* data, size_t size, off_t offset) const;
  // Reads exactly `size` bytes. Direct when `out` and `offset` are aligned and `capacity` (the
  // bytes `out` can hold) covers `size` rounded up to a page; the file may end inside that page.
  void pread(void* out, size_t size, off_t offset, size_t capacity) const;
  // Moves up to `size` bytes from `offset` into the pipe `pipe_w` (splice(2), see
  // common/swarm/pipe_pool.h); returns how many, 0 at the end of the file. Direct when `offset` and
  // `size` are whole pages: the kernel reads the disk into pages it hands to the pipe, with no
  // copy and nothing left in the page cache. Otherwise, or where the file system refuses, through
  // the page cache.
  size_t splice_to_pipe(int pipe_w, size_t size, off_t offset) const;

 private:
  int fd_;
  int direct_fd_ = -1;
  std::filesystem::path path_;
};

}  // namespace fanout::fileio
