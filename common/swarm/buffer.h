#pragma once
// Byte buffers for blocks and pieces. Three properties, each for a measured cost:
// - not zero-filled: every byte is overwritten right after allocation (a memset per byte moved);
// - page-aligned, so piece files can be written and read with O_DIRECT (common/store/direct_io.h);
// - recycled: a freshly mapped page costs a fault per 4 KiB. On the VMs we measure on that is
//   ~300 MB/s against ~25 GB/s for a page already touched, and a buffer per piece made page
//   faults a tenth of an agent's CPU in the 50-agent fan-out.
#include <cstddef>
#include <memory>

#include "common/store/direct_io.h"

namespace fanout::swarm {

using Buffer = fileio::AlignedBytes;
using BufferPtr = std::shared_ptr<Buffer>;

// A buffer of `size` bytes (capacity rounded up to whole pages, so a direct read of a file's
// tail fits), reused from buffers released earlier when one is large enough. Released buffers
// are kept up to a cap of idle bytes. Thread-safe.
BufferPtr acquire_buffer(size_t size);

// Idle bytes the pool holds (for tests and metrics).
size_t pooled_buffer_bytes();

}  // namespace fanout::swarm
