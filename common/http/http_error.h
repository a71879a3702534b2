#pragma once
// Errors that cross an HTTP API. Handlers throw HttpError; HttpServer turns it (and DigestError,
// and anything unexpected) into a JSON body {"error": ..., "detail": ...} in one place.
#include <httplib.h>

#include <stdexcept>
#include <string>

#include "common/digest/digest.h"

namespace fanout::http {

class HttpError : public std::runtime_error {
 public:
  HttpError(int status, std::string error, std::string detail)
      : std::runtime_error(error + ": " + detail),
        status_(status),
        error_(std::move(error)),
        detail_(std::move(detail)) {}
  int status() const { return status_; }
  const std::string& error() const { return error_; }
  const std::string& detail() const { return detail_; }

 private:
  int status_;
  std::string error_;
  std::string detail_;
};

// Parses a {digest} path parameter; throws HttpError 400 ("invalid_digest") naming the problem.
Digest parse_digest_param(const std::string& text);
// Writes the JSON error body with `status`.
void write_error(httplib::Response& res, int status, const std::string& error,
                 const std::string& detail);

}  // namespace fanout::http
