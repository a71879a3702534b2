#include "common/http/http_error.h"

#include "proto/error_body.h"

namespace fanout::http {

Digest parse_digest_param(const std::string& text) {
  try {
    return Digest::parse(text);
  } catch (const DigestError& e) {
    throw HttpError(400, "invalid_digest", e.what());
  }
}

void write_error(httplib::Response& res, int status, const std::string& error,
                 const std::string& detail) {
  res.status = status;
  res.set_content(proto::encode_error_body({error, detail}), "application/json");
}

}  // namespace fanout::http
