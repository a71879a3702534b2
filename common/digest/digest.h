#pragma once
// A blob's identity: "sha256:" followed by 64 lowercase hex digits. Every component parses
// digests through this type so a malformed one is rejected at the edge, never half-used.
#include <array>
#include <cstring>
#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace fanout {

class DigestError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

class Digest {
 public:
  static constexpr size_t kSize = 32;
  using Bytes = std::array<uint8_t, kSize>;

  // Parses "sha256:<64 lowercase hex>"; throws DigestError naming what is wrong.
  static Digest parse(std::string_view text);
  // Like parse, without throwing: false when text is not a valid digest.
  static bool try_parse(std::string_view text, Digest& out);
  static Digest from_bytes(const Bytes& raw) { return Digest(raw); }
  static Digest from_bytes(const uint8_t* raw);

  Digest() = default;

  const Bytes& bytes() const { return bytes_; }
  std::string hex() const;          // 64 lowercase hex digits
  std::string str() const;          // "sha256:<hex>"
  // The 20-byte BitTorrent info-hash fanout uses to name this blob's swarm.
  std::string info_hash() const { return std::string(reinterpret_cast<const char*>(bytes_.data()), 20); }

  friend bool operator==(const Digest&, const Digest&) = default;
  friend auto operator<=>(const Digest&, const Digest&) = default;

 private:
  explicit Digest(const Bytes& raw) : bytes_(raw) {}
  Bytes bytes_{};
};

std::string to_hex(const uint8_t* data, size_t size);

}  // namespace fanout

template <>
struct std::hash<fanout::Digest> {
  size_t operator()(const fanout::Digest& d) const noexcept {
    size_t h;
    static_assert(sizeof(h) <= fanout::Digest::kSize);
    std::memcpy(&h, d.bytes().data(), sizeof(h));
    return h;
  }
};
