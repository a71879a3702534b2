#pragma once
// Streaming SHA-256 on OpenSSL's EVP interface (uses the CPU's SHA extensions where present).
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string_view>

#include "common/digest/digest.h"

namespace fanout {

class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(Sha256&&) noexcept;
  Sha256& operator=(Sha256&&) noexcept;

  void update(const void* data, size_t size);
  void update(std::string_view data) { update(data.data(), data.size()); }
  // Ends this hash; the object is ready for a new one afterwards.
  Digest finish();

  static Digest of(const void* data, size_t size);
  static Digest of(std::string_view data) { return of(data.data(), data.size()); }
  // Hashes a whole file with large reads; throws std::system_error when it cannot be read.
  static Digest of_file(const std::filesystem::path& path);

 private:
  struct Ctx;
  std::unique_ptr<Ctx> ctx_;
};

}  // namespace fanout
