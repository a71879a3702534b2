#pragma once
// An ObjectStore over the S3 API, signed with AWS Signature Version 4: AWS S3 and S3-compatible
// stores (MinIO, Ceph RGW, s3rver). Key "blobs/sha256/<hex>" is the object
// <prefix>blobs/sha256/<hex> in the bucket. Reads are ranged GETs, each buffered whole (callers
// keep ranges part-sized); puts above a threshold use multipart upload, each request retried with
// backoff.
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "common/objectstore/object_store.h"
#include "common/objectstore/sigv4.h"

namespace httplib {
class Client;
}

namespace fanout {

struct S3Options {
  // scheme://host[:port] of the S3 API, e.g. "https://s3.eu-west-1.amazonaws.com" or
  // "http://127.0.0.1:9000".
  std::string endpoint;
  std::string region = "us-east-1";
  std::string bucket;
  // Prepended to every key ("fanout/" puts blobs under fanout/blobs/sha256/..).
  std::string prefix;
  // Virtual-host style (bucket.endpoint-host/key) instead of path style (endpoint/bucket/key).
  bool virtual_host = false;
  sigv4::Credentials credentials;
  // Connect, read and write timeout of each request; a stalled read fails after this long.
  std::chrono::milliseconds timeout{30000};
  // Objects larger than this are put with multipart upload, in parts of multipart_part_size.
  uint64_t multipart_threshold = 64ull << 20;
  uint64_t multipart_part_size = 16ull << 20;
  // Uploads retry each request (PutObject, CreateMultipartUpload, every UploadPart,
  // CompleteMultipartUpload) on transient errors (5xx, 408, 429, resets, timeouts) up to
  // put_max_attempts tries, waiting before try k+1 a time uniform in
  // [0, min(put_retry_max_delay, put_retry_base_delay * 2^(k-1))] (full jitter). Reads are
  // retried by their caller (origin::BlobPuller), which sees the whole pull.
  uint32_t put_max_attempts = 5;
  std::chrono::milliseconds put_retry_base_delay{100};
  std::chrono::milliseconds put_retry_max_delay{5000};
  // Injected so tests do not wait through backoffs.
  std::function<void(std::chrono::milliseconds)> sleep = [](std::chrono::milliseconds d) {
    std::this_thread::sleep_for(d);
  };
  // Called once per retry (the origin counts them in fanout_origin_objectstore_retries_total).
  std::function<void()> on_retry;
};

class S3Store : public ObjectStore {
 public:
  // Throws std::invalid_argument when the endpoint or bucket is unusable.
  explicit S3Store(S3Options options);
  ~S3Store() override;

  std::string describe() const override;
  // HEAD; nullopt on 404.
  std::optional<uint64_t> size(const std::string& key) override;
  std::unique_ptr<ObjectReader> open(const std::string& key) override;
  std::unique_ptr<ObjectReader> open_range(const std::string& key, uint64_t offset,
                                           uint64_t length) override;
  void put(const std::string& key, const std::filesystem::path& source) override;
  // One ranged GET straight into `out`.
  void read_range(const std::string& key, uint64_t offset, uint64_t length,
                  std::string& out) override;

  // The path an object's requests go to ("/bucket/prefix/key" or "/prefix/key"), URI-encoded.
  std::string object_path(const std::string& key) const;
  // The Host header every request carries.
  const std::string& host_header() const { return host_; }

  // One HTTP exchange, signed; public so the multipart steps and tests share it.
  struct Response {
    int status = 0;
    std::string body;
    std::string etag;
    uint64_t content_length = 0;
  };

 private:
  friend class S3RangeReader;
  // Reads [offset, offset+length) into `out`; throws as described in object_store.h.
  void get_range(const std::string& key, uint64_t offset, uint64_t length, std::string& out);
  Response send(const std::string& method, const std::string& key, const sigv4::Params& query,
                const std::string& body, const std::string& what);
  void put_single(const std::string& key, const std::filesystem::path& source, uint64_t size);
  void put_multipart(const std::string& key, const std::filesystem::path& source, uint64_t size);
  // Runs `request(attempt)` until it returns, retrying transient errors as S3Options describes;
  // gives up with an ObjectStoreError that says how many attempts were made.
  void with_put_retries(const std::function<void(uint32_t attempt)>& request);

  std::unique_ptr<httplib::Client> take_client();
  void give_back(std::unique_ptr<httplib::Client> client);
  std::vector<std::pair<std::string, std::string>> sign(const std::string& method,
                                                        const std::string& path,
                                                        const sigv4::Params& query,
                                                        sigv4::Params headers,
                                                        const std::string& payload_sha256) const;

  S3Options options_;
  std::string connect_url_;  // scheme://host[:port] the client connects to
  std::string host_;         // Host header
  std::mutex mu_;
  std::vector<std::unique_ptr<httplib::Client>> idle_;  // keep-alive connections
  std::mt19937_64 rng_{std::random_device{}()};         // backoff jitter, under mu_
};

}  // namespace fanout
