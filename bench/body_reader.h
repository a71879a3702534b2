#pragma once
// The harness's HTTP client for blob bodies. On a two-core machine the client reading N bodies
// competes with the N agents serving them, so it must be cheap: one blocking socket, 1 MiB reads.
// (httplib's client polls before every 4 KiB read: in the 50-agent run that was a tenth of the
// machine, spent measuring.)
//
// Two steps, so a caller can take the time the answer started (an agent answers a blob GET only
// once the blob is verified in its cache) apart from the time the body took to read.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/digest/digest.h"

namespace fanout::bench {

class BodyReader {
 public:
  // GET http://host:port/path with "Connection: close"; returns once the response headers are
  // in. False on a connection failure, a status other than 200 or no Content-Length.
  bool open(const std::string& host, uint16_t port, const std::string& path);
  // Reads the rest of the body, at most `rate` bytes/s when rate > 0, hashing it when `hash`.
  // Returns the body bytes read when the whole announced Content-Length arrived; -1 otherwise.
  int64_t read_rest(double rate, bool hash);
  // SHA-256 of the body, after read_rest(..., true) read all of it.
  std::optional<Digest> digest() const { return digest_; }
  // When open() had sent the whole request: the fetch's start, as the node would see it.
  std::chrono::steady_clock::time_point sent_at() const { return sent_at_; }

 private:
  struct Socket {
    int fd = -1;
    ~Socket();
  } s_;
  std::vector<char> buf_;
  std::string early_;  // body bytes that came in with the headers
  int64_t length_ = -1;
  std::optional<Digest> digest_;
  std::chrono::steady_clock::time_point sent_at_{};
};

}  // namespace fanout::bench
