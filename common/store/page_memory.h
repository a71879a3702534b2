#pragma once
// Memory for the buffers blocks and pieces are received into and written from with O_DIRECT:
// page-aligned and, from 256 KiB up, backed by transparent huge pages.
//
// Why huge pages: on the VMs we benchmark on a first touch of a 4 KiB page costs ~11 us (memory
// moves at ~360 MB/s through fresh pages), and each of 50 agents faulted ~4,600 of them during
// the fan-out, in `recv` into buffers the pool had not reused yet. A 2 MiB page is one fault:
// first touch at 16 GB/s once the host has backed the memory, and ~200 faults per agent
// (bench/README.md, "Fewer wake-ups, fewer faults").
//
// 256 KiB, 512 KiB and 1 MiB requests get slots carved from 2 MiB pages; a freed slot is kept
// for the next request of its size and never unmapped (a huge page cannot be given back a slot
// at a time), so a process keeps as many slots as it ever had in use at once: on a node, the
// blocks in flight plus the buffer pool's idle ones (common/swarm/buffer.h). Larger requests get
// a mapping of their own, rounded up to 2 MiB and unmapped when freed. The huge pages are advice
// (madvise): with transparent huge pages off, the same memory comes in 4 KiB pages.
#include <cstddef>

namespace fanout::fileio {

inline constexpr size_t kPageAlign = 4096;  // a page: what O_DIRECT aligns memory and offsets to
inline constexpr size_t kHugePage = size_t{2} << 20;

// `bytes` rounded up to a multiple of `unit`.
inline constexpr size_t round_up(size_t bytes, size_t unit) {
  return (bytes + unit - 1) / unit * unit;
}

// Page-aligned memory for at least `bytes` bytes; throws std::bad_alloc.
void* allocate_pages(size_t bytes);
// Frees what allocate_pages(bytes) returned (the same `bytes`).
void free_pages(void* p, size_t bytes) noexcept;

}  // namespace fanout::fileio
