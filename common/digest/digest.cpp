#include "common/digest/digest.h"

namespace fanout {
namespace {

constexpr std::string_view kPrefix = "sha256:";

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;  // uppercase is rejected on purpose: one digest, one spelling
}

// Returns an empty string when text is valid, otherwise why it is not.
std::string check(std::string_view text, Digest::Bytes& out) {
  if (text.substr(0, kPrefix.size()) != kPrefix) {
    return "digest must start with \"sha256:\"";
  }
  std::string_view hex = text.substr(kPrefix.size());
  if (hex.size() != 2 * Digest::kSize) {
    return "digest must have 64 hex digits after \"sha256:\", got " + std::to_string(hex.size());
  }
  for (size_t i = 0; i < Digest::kSize; ++i) {
    int hi = hex_value(hex[2 * i]);
    int lo = hex_value(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return "digest must be lowercase hex after \"sha256:\"";
    out[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return {};
}

}  // namespace

Digest Digest::parse(std::string_view text) {
  Bytes raw;
  if (std::string why = check(text, raw); !why.empty()) throw DigestError(why);
  return Digest(raw);
}

bool Digest::try_parse(std::string_view text, Digest& out) {
  Bytes raw;
  if (!check(text, raw).empty()) return false;
  out = Digest(raw);
  return true;
}

Digest Digest::from_bytes(const uint8_t* raw) {
  Bytes b;
  std::memcpy(b.data(), raw, kSize);
  return Digest(b);
}

std::string Digest::hex() const { return to_hex(bytes_.data(), bytes_.size()); }

std::string Digest::str() const { return std::string(kPrefix) + hex(); }

std::string to_hex(const uint8_t* data, size_t size) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(2 * size, '0');
  for (size_t i = 0; i < size; ++i) {
    out[2 * i] = kDigits[data[i] >> 4];
    out[2 * i + 1] = kDigits[data[i] & 0xf];
  }
  return out;
}

}  // namespace fanout
