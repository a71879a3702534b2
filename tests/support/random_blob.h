#pragma once
// Random test blobs written straight to disk, hashed on the way so the test knows their digest.
#include <cstdint>
#include <filesystem>

#include "common/digest/digest.h"

namespace fanout::test {

// Writes `size` pseudo-random bytes to `path` (creating its parent directories) and returns
// the digest of exactly those bytes. The same seed gives the same bytes.
Digest write_random_file(const std::filesystem::path& path, uint64_t size, uint64_t seed);
// As above with a seed drawn from std::random_device.
Digest write_random_file(const std::filesystem::path& path, uint64_t size);

}  // namespace fanout::test
