#pragma once
// AWS Signature Version 4 for S3 requests (header-based, the "Authorization" header form):
// https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html
// Written on OpenSSL's HMAC-SHA256; no AWS SDK.
#include <chrono>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace fanout::sigv4 {

struct Credentials {
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;  // empty unless temporary (STS) credentials
};

using Params = std::vector<std::pair<std::string, std::string>>;

struct Request {
  std::string method;  // "GET", "PUT", ...
  std::string host;    // the Host header as sent: "bucket.s3.amazonaws.com" or "127.0.0.1:9000"
  // The path exactly as sent on the wire, already URI-encoded ("/bucket/blobs/sha256/ab..").
  std::string encoded_path;
  // Query parameters, not encoded; "?uploads" is {"uploads", ""}.
  Params query;
  // Extra headers to sign and send (e.g. Range, Content-Type); names in any case.
  Params headers;
  // Hex SHA-256 of the body, or "UNSIGNED-PAYLOAD".
  std::string payload_sha256;
};

struct Signature {
  // Headers to add to the request: Authorization, x-amz-date, x-amz-content-sha256 and, with a
  // session token, x-amz-security-token.
  Params headers;
  // The intermediate values, for tests and for debugging a SignatureDoesNotMatch.
  std::string canonical_request;
  std::string string_to_sign;
  std::string signature;  // hex
};

// Signs `request` for `region`/`service` at time `now`.
Signature sign(const Request& request, const Credentials& credentials, std::string_view region,
               std::string_view service, std::chrono::system_clock::time_point now);

// RFC 3986 percent-encoding as SigV4 wants it: unreserved characters (A-Z a-z 0-9 - _ . ~) stay,
// everything else becomes %XX (uppercase); '/' stays when keep_slash.
std::string uri_encode(std::string_view text, bool keep_slash);
// The canonical query string: names and values encoded, sorted by name then value, joined by '&'.
std::string canonical_query(const Params& query);
// Lowercase hex SHA-256 of `data`.
std::string sha256_hex(std::string_view data);
// "20130524T000000Z".
std::string amz_date(std::chrono::system_clock::time_point t);

// The hash of an empty body, which every GET and HEAD signs.
inline constexpr std::string_view kEmptyPayloadSha256 =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

}  // namespace fanout::sigv4
