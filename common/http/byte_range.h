#pragma once
// Parsing of a request's Range header against a file size, for serve_file. Kept apart from the
// streaming so the edge cases (suffix ranges, clamping, unsatisfiable starts) are unit-tested.
#include <httplib.h>

#include <cstdint>
#include <optional>
#include <string_view>

namespace fanout::http {

struct ByteRange {
  uint64_t first = 0;  // inclusive
  uint64_t last = 0;   // inclusive
  uint64_t length() const { return last - first + 1; }
  friend bool operator==(const ByteRange&, const ByteRange&) = default;
};

struct RangeRequest {
  enum class Kind {
    kWhole,          // no Range header, or several ranges (we may ignore Range: RFC 9110 14.2)
    kPartial,        // one satisfiable range: 206
    kUnsatisfiable,  // 416
    kMalformed,      // 416 as well; told apart only for the error detail
  };
  Kind kind = Kind::kWhole;
  ByteRange range;
};

// Interprets `header` ("bytes=a-b", "bytes=a-", "bytes=-n"; empty = no header) for a file of
// `size` bytes. An end beyond the file is clamped; a start at or past it is unsatisfiable.
RangeRequest parse_range(std::string_view header, uint64_t size);

// cpp-httplib 0.11 slices every response body (even a JSON error) by the ranges it parsed from
// the request. Our handlers apply Range themselves, so they switch that off per request.
void disable_httplib_ranges(const httplib::Request& req);

}  // namespace fanout::http
