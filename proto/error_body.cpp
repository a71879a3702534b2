#include "proto/error_body.h"

#include <nlohmann/json.hpp>

#include "proto/proto_error.h"

namespace fanout::proto {

std::string encode_error_body(const ErrorBody& body) {
  // Details may quote bytes from a request (a bad digest, a path); replace invalid UTF-8 rather
  // than throwing from inside an error path.
  return nlohmann::json{{"error", body.error}, {"detail", body.detail}}.dump(
      -1, ' ', false, nlohmann::json::error_handler_t::replace);
}

ErrorBody decode_error_body(std::string_view text) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) throw ProtoError("error body: not a JSON object");
  auto error = j.find("error");
  if (error == j.end() || !error->is_string()) {
    throw ProtoError("error body: \"error\" must be a string");
  }
  ErrorBody out{error->get<std::string>(), ""};
  auto detail = j.find("detail");
  if (detail != j.end()) {
    if (!detail->is_string()) throw ProtoError("error body: \"detail\" must be a string");
    out.detail = detail->get<std::string>();
  }
  return out;
}

}  // namespace fanout::proto
