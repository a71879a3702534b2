#include "common/http/byte_range.h"

#include <charconv>

namespace fanout::http {
namespace {

constexpr std::string_view kUnit = "bytes=";

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Digits only (no sign, no spaces), fits in uint64_t.
bool parse_number(std::string_view s, uint64_t& out) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

}  // namespace

RangeRequest parse_range(std::string_view header, uint64_t size) {
  using Kind = RangeRequest::Kind;
  header = trim(header);
  if (header.empty()) return {};
  if (header.substr(0, kUnit.size()) != kUnit) return {Kind::kMalformed, {}};
  std::string_view spec = trim(header.substr(kUnit.size()));
  if (spec.find(',') != std::string_view::npos) return {};  // several ranges: send it whole
  size_t dash = spec.find('-');
  if (dash == std::string_view::npos) return {Kind::kMalformed, {}};
  std::string_view a = trim(spec.substr(0, dash));
  std::string_view b = trim(spec.substr(dash + 1));

  uint64_t first = 0, last = 0;
  if (a.empty()) {
    // Suffix range: the last n bytes.
    uint64_t n = 0;
    if (!parse_number(b, n)) return {Kind::kMalformed, {}};
    if (n == 0 || size == 0) return {Kind::kUnsatisfiable, {}};
    first = n >= size ? 0 : size - n;
    return {Kind::kPartial, {first, size - 1}};
  }
  if (!parse_number(a, first)) return {Kind::kMalformed, {}};
  if (b.empty()) {
    last = UINT64_MAX;
  } else if (!parse_number(b, last) || last < first) {
    return {Kind::kMalformed, {}};
  }
  if (first >= size) return {Kind::kUnsatisfiable, {}};
  if (last >= size) last = size - 1;
  return {Kind::kPartial, {first, last}};
}

void disable_httplib_ranges(const httplib::Request& req) {
  // The Request httplib hands to handlers is its own non-const local, so this is well defined.
  const_cast<httplib::Request&>(req).ranges.clear();
}

}  // namespace fanout::http
