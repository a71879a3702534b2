#pragma once
// The JSON body every fanout HTTP API answers an error with: {"error": "...", "detail": "..."}.
// `error` is a short machine-readable code (snake_case), `detail` a sentence for humans.
#include <string>
#include <string_view>

namespace fanout::proto {

struct ErrorBody {
  std::string error;
  std::string detail;
  friend bool operator==(const ErrorBody&, const ErrorBody&) = default;
};

std::string encode_error_body(const ErrorBody& body);
// Throws ProtoError when `text` is not a JSON object with a string "error" (detail may be absent).
ErrorBody decode_error_body(std::string_view text);

}  // namespace fanout::proto
