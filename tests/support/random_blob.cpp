#include "tests/support/random_blob.h"

#include <fstream>
#include <random>
#include <stdexcept>
#include <vector>

#include "common/digest/sha256.h"

namespace fanout::test {

Digest write_random_file(const std::filesystem::path& path, uint64_t size, uint64_t seed) {
  if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) throw std::runtime_error("cannot create " + path.string());

  std::mt19937_64 rng(seed);
  Sha256 hash;
  std::vector<uint64_t> buffer(128 * 1024);  // 1 MiB
  uint64_t left = size;
  while (left > 0) {
    for (auto& word : buffer) word = rng();
    size_t n = static_cast<size_t>(std::min<uint64_t>(left, buffer.size() * sizeof(uint64_t)));
    hash.update(buffer.data(), n);
    out.write(reinterpret_cast<const char*>(buffer.data()), static_cast<std::streamsize>(n));
    left -= n;
  }
  out.close();
  if (!out) throw std::runtime_error("cannot write " + path.string());
  return hash.finish();
}

Digest write_random_file(const std::filesystem::path& path, uint64_t size) {
  std::random_device device;
  uint64_t seed = (static_cast<uint64_t>(device()) << 32) ^ device();
  return write_random_file(path, size, seed);
}

}  // namespace fanout::test
