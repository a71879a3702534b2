// The origin against a real S3-protocol server: s3rver (tests/s3rver, pinned, SigV4 checked by
// its launcher), started here on a free loopback port. Between the origin and s3rver sits
// FaultyS3Proxy, which counts the object bytes s3rver really served and can answer 500, stall or
// cut a body short.
#include <gtest/gtest.h>
#include <httplib.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <latch>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/digest/sha256.h"
#include "common/objectstore/s3_store.h"
#include "tests/support/bin_dir.h"
#include "tests/support/child_process.h"
#include "tests/support/http.h"
#include "tests/support/ports.h"
#include "tests/support/prometheus.h"
#include "tests/support/random_blob.h"
#include "tests/support/temp_dir.h"

namespace fanout::test {
namespace {

constexpr const char* kBucket = "fanout";

std::filesystem::path s3rver_dir() {
  return std::filesystem::path(__FILE__).parent_path().parent_path() / "s3rver";
}

// Why s3rver cannot run here, or empty when it can.
std::string s3rver_missing() {
  if (std::system("node --version > /dev/null 2>&1") != 0) return "node is not installed";
  if (!std::filesystem::exists(s3rver_dir() / "node_modules" / "s3rver")) {
    return "s3rver is not installed: run 'npm ci' in " + s3rver_dir().string();
  }
  return "";
}

S3Options s3_options(const std::string& endpoint) {
  S3Options o;
  o.endpoint = endpoint;
  o.bucket = kBucket;
  o.credentials = {"S3RVER", "S3RVER", ""};
  o.timeout = std::chrono::seconds(30);
  return o;
}

// An HTTP proxy in front of s3rver. Object GETs (ranged) pass through a fault plan; every body
// byte s3rver sends for them is counted.
class FaultyS3Proxy {
 public:
  // kLostAnswer: the request reaches s3rver and succeeds there, but the client gets a 500.
  enum class Fault { kNone, kServerError, kStall, kCutShort, kLostAnswer };

  explicit FaultyS3Proxy(std::string upstream) : upstream_(std::move(upstream)) {
    server_.new_task_queue = [] { return new httplib::ThreadPool(64); };
    auto forward = [this](const httplib::Request& req, httplib::Response& res) {
      handle(req, res);
    };
    server_.Get(".*", forward);
    server_.Put(".*", forward);
    server_.Post(".*", forward);
    server_.Delete(".*", forward);
    // httplib answers HEAD through the GET handler.
    port_ = static_cast<uint16_t>(server_.bind_to_any_port("127.0.0.1"));
    thread_ = std::thread([this] { server_.listen_after_bind(); });
  }
  ~FaultyS3Proxy() {
    server_.stop();
    thread_.join();
  }

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  // Faults for the next ranged GETs, in order; then requests pass.
  void plan(std::vector<Fault> faults) {
    std::lock_guard lock(mu_);
    plan_ = std::move(faults);
  }
  // Faults for the next upload requests (PutObject and UploadPart) and the next
  // CompleteMultipartUpload requests, in order; then requests pass.
  void plan_puts(std::vector<Fault> faults) {
    std::lock_guard lock(mu_);
    put_plan_ = std::move(faults);
  }
  void plan_completes(std::vector<Fault> faults) {
    std::lock_guard lock(mu_);
    complete_plan_ = std::move(faults);
  }
  // Every upload request (PUT, and POST of multipart uploads) fails with 500 while set.
  std::atomic<bool> always_fail_uploads{false};
  std::atomic<int> puts{0};  // PUT requests that reached the proxy, faulted or not
  // Every ranged GET fails with 500 while set.
  std::atomic<bool> always_fail{false};
  std::atomic<uint64_t> object_bytes{0};  // body bytes of ranged GETs that s3rver served
  std::atomic<int> ranged_gets{0};
  std::atomic<int> heads{0};

 private:
  void handle(const httplib::Request& req, httplib::Response& res) {
    httplib::Client client(upstream_);
    client.set_read_timeout(60);
    httplib::Headers headers;
    for (const auto& [k, v] : req.headers) {
      // The Host header is signed: it is passed on as the origin sent it.
      if (k == "Content-Length" || k == "REMOTE_ADDR" || k == "REMOTE_PORT" || k == "LOCAL_ADDR" ||
          k == "LOCAL_PORT") {
        continue;
      }
      headers.emplace(k, v);
    }
    bool ranged = req.method == "GET" && req.has_header("Range");
    // s3rver already applied the Range; httplib must not apply it again to the forwarded body.
    const_cast<httplib::Request&>(req).ranges.clear();
    Fault fault = Fault::kNone;
    if (ranged) {
      ++ranged_gets;
      std::lock_guard lock(mu_);
      if (!plan_.empty()) {
        fault = plan_.front();
        plan_.erase(plan_.begin());
      }
      if (always_fail) fault = Fault::kServerError;
    }
    auto next = [](std::vector<Fault>& plan) {
      if (plan.empty()) return Fault::kNone;
      Fault f = plan.front();
      plan.erase(plan.begin());
      return f;
    };
    bool complete = req.method == "POST" && req.has_param("uploadId");
    if (req.method == "PUT") {
      ++puts;
      std::lock_guard lock(mu_);
      fault = next(put_plan_);
    } else if (complete) {
      std::lock_guard lock(mu_);
      fault = next(complete_plan_);
    }
    if ((req.method == "PUT" || req.method == "POST") && always_fail_uploads) {
      fault = Fault::kServerError;
    }
    if (fault == Fault::kServerError) {
      res.status = 500;
      res.set_content("<Error><Code>InternalError</Code><Message>injected</Message></Error>",
                      "application/xml");
      return;
    }
    if (fault == Fault::kStall) {
      std::this_thread::sleep_for(std::chrono::seconds(3));
      res.status = 503;
      return;
    }
    httplib::Result up = [&] {
      if (req.method == "HEAD") return client.Head(req.target, headers);
      if (req.method == "GET") return client.Get(req.target, headers);
      if (req.method == "PUT")
        return client.Put(req.target, headers, req.body, "application/octet-stream");
      if (req.method == "POST")
        return client.Post(req.target, headers, req.body, "application/xml");
      return client.Delete(req.target, headers);
    }();
    if (req.method == "HEAD") ++heads;
    if (!up) {
      res.status = 502;
      return;
    }
    if (ranged) object_bytes += up->body.size();
    if (fault == Fault::kLostAnswer) {
      res.status = 500;
      res.set_content("<Error><Code>InternalError</Code><Message>answer lost</Message></Error>",
                      "application/xml");
      return;
    }
    res.status = up->status;
    for (const auto& [k, v] : up->headers) {
      if (k == "Content-Length" || k == "Transfer-Encoding" || k == "Connection" ||
          k == "Keep-Alive") {
        continue;
      }
      res.headers.emplace(k, v);
    }
    if (req.method == "HEAD") {
      res.set_header("Content-Length", up->get_header_value("Content-Length"));
      return;
    }
    if (fault == Fault::kCutShort) {
      // Announces the whole length, sends half, and closes.
      auto body = std::make_shared<std::string>(std::move(up->body));
      res.set_content_provider(body->size(), "application/octet-stream",
                               [body](size_t offset, size_t, httplib::DataSink& sink) {
                                 if (offset >= body->size() / 2) return false;
                                 sink.write(body->data() + offset, body->size() / 2 - offset);
                                 return true;
                               });
      return;
    }
    res.body = std::move(up->body);
  }

  std::string upstream_;
  httplib::Server server_;
  uint16_t port_ = 0;
  std::thread thread_;
  std::mutex mu_;
  std::vector<Fault> plan_;
  std::vector<Fault> put_plan_;
  std::vector<Fault> complete_plan_;
};

class OriginS3Test : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string missing = s3rver_missing();
    if (!missing.empty()) GTEST_SKIP() << "needs s3rver: " << missing;
    uint16_t port = free_port();
    s3_url_ = "http://127.0.0.1:" + std::to_string(port);
    s3rver_ = std::make_unique<ChildProcess>(
        "s3rver", "/bin/sh",
        std::vector<std::string>{(s3rver_dir() / "start.sh").string(), std::to_string(port),
                                 (dir_ / "s3rver-data").string(), kBucket},
        dir_ / "logs" / "s3rver.log");
    // Ready once it answers anything (an unsigned request is refused with 403).
    httplib::Client probe(s3_url_);
    for (int i = 0; i < 200; ++i) {
      if (auto res = probe.Get("/")) break;
      ASSERT_TRUE(s3rver_->running()) << "s3rver exited:\n" << s3rver_->log_tail();
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    direct_ = std::make_unique<S3Store>(s3_options(s3_url_));
    proxy_ = std::make_unique<FaultyS3Proxy>(s3_url_);
  }

  void TearDown() override {
    if (HasFailure()) {
      for (auto* p : {origin_.get(), s3rver_.get()}) {
        if (p) ADD_FAILURE() << p->describe() << "\n" << p->log_tail(30);
      }
    }
    origin_.reset();
    proxy_.reset();
    s3rver_.reset();
  }

  // Starts an origin whose object store is s3rver through the proxy.
  void start_origin(const std::string& extra_yaml) {
    origin_url_ = "http://127.0.0.1:" + std::to_string(free_port());
    auto config = dir_ / "origin.yaml";
    std::ofstream(config) << "object_store:\n  type: s3\n  endpoint: " << proxy_->url()
                          << "\n  bucket: " << kBucket
                          << "\n  access_key_id: S3RVER\n  secret_access_key: S3RVER\n"
                          << extra_yaml;
    origin_ = std::make_unique<ChildProcess>(
        "origin", bin("fanout-origin"),
        std::vector<std::string>{"--config", config.string(), "--listen", origin_url_.substr(7),
                                 "--peer-listen", "127.0.0.1:" + std::to_string(free_port()),
                                 "--tracker", "http://127.0.0.1:" + std::to_string(free_port()),
                                 "--cache-dir", (dir_ / "origin-cache").string(), "--log-level",
                                 "info"},
        dir_ / "logs" / "origin.log");
    ASSERT_TRUE(origin_->wait_healthy(origin_url_));
  }

  // Writes `size` random bytes straight into s3rver under their digest.
  Digest put_object(uint64_t size, uint64_t seed) {
    auto src = dir_ / "src.bin";
    Digest d = write_random_file(src, size, seed);
    direct_->put(blob_key(d), src);
    std::filesystem::remove(src);
    return d;
  }

  double origin_metric(const std::string& name) {
    return metric(get_body(origin_url_, "/metrics"), name);
  }

  TempDir dir_{"fanout-origin-s3-"};
  std::string s3_url_;
  std::string origin_url_;
  std::unique_ptr<ChildProcess> s3rver_;
  std::unique_ptr<ChildProcess> origin_;
  std::unique_ptr<S3Store> direct_;
  std::unique_ptr<FaultyS3Proxy> proxy_;
};

// GETs a blob from the origin and returns the digest of what came back ("" on failure).
std::string fetch_digest(const std::string& url, const Digest& d, int* status) {
  httplib::Client client(url);
  client.set_read_timeout(300);
  Sha256 hash;
  auto res = client.Get("/v1/blobs/" + d.str(), [&](const char* data, size_t n) {
    hash.update(data, n);
    return true;
  });
  *status = res ? res->status : -1;
  return res ? hash.finish().str() : "";
}

TEST_F(OriginS3Test, UploadThroughTheOriginReadsBackFromS3) {
  // Multipart above 8 MiB, in 5 MiB parts: a 21 MiB blob goes up as five parts.
  start_origin("  multipart_threshold: 8MiB\n  multipart_part_size: 5MiB\n");
  for (uint64_t size : std::vector<uint64_t>{1ull << 20, (21ull << 20) + 7}) {
    SCOPED_TRACE("size " + std::to_string(size));
    auto src = dir_ / "upload.bin";
    Digest d = write_random_file(src, size, size);
    std::ifstream in(src, std::ios::binary);
    std::string body((std::istreambuf_iterator<char>(in)), {});

    httplib::Client client(origin_url_);
    client.set_read_timeout(120);
    auto res = client.Put("/v1/blobs/" + d.str(), body, "application/octet-stream");
    ASSERT_TRUE(res) << describe(res);
    EXPECT_EQ(res->status, 201) << res->body;

    // Read back from s3rver itself, not through the origin.
    ASSERT_EQ(direct_->size(blob_key(d)), size);
    auto reader = direct_->open(blob_key(d));
    Sha256 hash;
    std::vector<char> buf(1 << 20);
    while (size_t n = reader->read(buf.data(), buf.size())) hash.update(buf.data(), n);
    EXPECT_EQ(hash.finish(), d);

    // And the origin serves it without reading the object store.
    int status = 0;
    EXPECT_EQ(fetch_digest(origin_url_, d, &status), d.str());
    EXPECT_EQ(status, 200);
  }
  EXPECT_EQ(proxy_->ranged_gets, 0);
  EXPECT_EQ(origin_metric("fanout_origin_uploads_total"), 2);
}

TEST_F(OriginS3Test, UploadThatDoesNotHashToItsDigestIsRefusedAndNothingIsStored) {
  start_origin("");
  Digest claimed = Sha256::of("the bytes the client promised");
  httplib::Client client(origin_url_);
  auto res = client.Put("/v1/blobs/" + claimed.str(), std::string(3 << 20, 'x'),
                        "application/octet-stream");
  ASSERT_TRUE(res) << describe(res);
  EXPECT_EQ(res->status, 400) << res->body;
  EXPECT_NE(res->body.find("digest_mismatch"), std::string::npos) << res->body;
  EXPECT_EQ(direct_->size(blob_key(claimed)), std::nullopt) << "the object store got the body";
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir_ / "origin-cache")) {
    EXPECT_FALSE(entry.is_regular_file() && entry.path().parent_path().filename() != "metainfo" &&
                 entry.path().string().find("blobs/sha256") == std::string::npos &&
                 entry.path().string().find("/tmp/") != std::string::npos)
        << "left behind: " << entry.path();
    EXPECT_EQ(entry.path().filename().string().find(claimed.hex()), std::string::npos)
        << "left behind: " << entry.path();
  }
  EXPECT_EQ(origin_metric("fanout_origin_uploads_rejected_total"), 1);
}

// Reads an object straight from s3rver; the digest of its bytes.
Digest read_back(S3Store& store, const Digest& d) {
  auto reader = store.open(blob_key(d));
  Sha256 hash;
  std::vector<char> buf(1 << 20);
  while (size_t n = reader->read(buf.data(), buf.size())) hash.update(buf.data(), n);
  return hash.finish();
}

std::string file_bytes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), {});
}

TEST_F(OriginS3Test, UploadRetriesFailedAndLostPutsAndPartsWithBackoff) {
  start_origin(
      "  multipart_threshold: 8MiB\n  multipart_part_size: 5MiB\n  put_max_attempts: 4\n"
      "  put_retry_base_delay: 10ms\n  put_retry_max_delay: 50ms\n");
  using F = FaultyS3Proxy::Fault;
  httplib::Client client(origin_url_);
  client.set_read_timeout(120);

  // One PutObject: a 500, then a 500 after s3rver stored it (the retry stores it again).
  auto src = dir_ / "small.bin";
  Digest small = write_random_file(src, 3ull << 20, 51);
  proxy_->plan_puts({F::kServerError, F::kLostAnswer});
  auto res = client.Put("/v1/blobs/" + small.str(), file_bytes(src), "application/octet-stream");
  ASSERT_TRUE(res) << describe(res);
  EXPECT_EQ(res->status, 201) << res->body;
  EXPECT_EQ(read_back(*direct_, small), small);
  EXPECT_EQ(proxy_->puts, 3);

  // Multipart, 17 MiB in four parts: part 1 fails, part 2's answer is lost, part 3 fails twice,
  // and CompleteMultipartUpload's answer is lost (its retry finds the upload already complete).
  src = dir_ / "big.bin";
  Digest big = write_random_file(src, (17ull << 20) + 9, 52);
  proxy_->puts = 0;
  proxy_->plan_puts(
      {F::kServerError, F::kNone, F::kLostAnswer, F::kNone, F::kServerError, F::kServerError});
  proxy_->plan_completes({F::kLostAnswer});
  res = client.Put("/v1/blobs/" + big.str(), file_bytes(src), "application/octet-stream");
  ASSERT_TRUE(res) << describe(res);
  EXPECT_EQ(res->status, 201) << res->body;
  EXPECT_EQ(read_back(*direct_, big), big);
  EXPECT_EQ(proxy_->puts, 4 + 4);
  EXPECT_EQ(origin_metric("fanout_origin_objectstore_retries_total"), 2 + 4 + 1);
  EXPECT_EQ(origin_metric("fanout_origin_uploads_total"), 2);
}

TEST_F(OriginS3Test, UploadThatKeepsFailingIsRefusedWithItsReasonAndNothingIsKept) {
  start_origin(
      "  multipart_threshold: 8MiB\n  multipart_part_size: 5MiB\n  put_max_attempts: 3\n"
      "  put_retry_base_delay: 10ms\n  put_retry_max_delay: 20ms\n");
  proxy_->always_fail_uploads = true;
  httplib::Client client(origin_url_);
  client.set_read_timeout(120);
  for (uint64_t size : {uint64_t{2} << 20, uint64_t{12} << 20}) {
    SCOPED_TRACE("size " + std::to_string(size));
    auto src = dir_ / "upload.bin";
    Digest d = write_random_file(src, size, size + 61);
    auto res = client.Put("/v1/blobs/" + d.str(), file_bytes(src), "application/octet-stream");
    ASSERT_TRUE(res) << describe(res);
    EXPECT_EQ(res->status, 502) << res->body;
    EXPECT_NE(res->body.find("gave up after 3 attempts"), std::string::npos) << res->body;
    EXPECT_EQ(direct_->size(blob_key(d)), std::nullopt);
    int status = 0;
    fetch_digest(origin_url_, d, &status);
    EXPECT_EQ(status, 404) << "the origin kept a blob the object store does not have";
  }
}

TEST_F(OriginS3Test, PullSurvivesServerErrorsStallsAndCutBodies) {
  start_origin(
      "  timeout: 1s\npull:\n  part_size: 4MiB\n  concurrency: 2\n  max_attempts: 6\n"
      "  retry_base_delay: 10ms\n  retry_max_delay: 100ms\n");
  const uint64_t size = (24ull << 20) + 3;
  Digest d = put_object(size, 31);
  using F = FaultyS3Proxy::Fault;
  proxy_->plan({F::kServerError, F::kStall, F::kCutShort, F::kServerError});

  int status = 0;
  EXPECT_EQ(fetch_digest(origin_url_, d, &status), d.str());
  EXPECT_EQ(status, 200);
  EXPECT_GE(origin_metric("fanout_origin_objectstore_retries_total"), 4);
  EXPECT_EQ(origin_metric("fanout_origin_pulls_total"), 1);

  // Prefetch of a second object: 202 at once, then its status reaches "ready".
  Digest e = put_object(5ull << 20, 32);
  httplib::Client client(origin_url_);
  auto res = client.Post("/v1/blobs/" + e.str() + "/prefetch");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 202);
  std::string state;
  for (int i = 0; i < 200 && state.find("\"ready\"") == std::string::npos; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    state = get_body(origin_url_, "/v1/blobs/" + e.str() + "/status");
  }
  EXPECT_NE(state.find("\"ready\""), std::string::npos) << state;
  EXPECT_NE(state.find("\"size\":" + std::to_string(5ull << 20)), std::string::npos) << state;
}

TEST_F(OriginS3Test, PullThatKeepsFailingLeavesNothingBehindAndSaysWhy) {
  start_origin(
      "pull:\n  part_size: 4MiB\n  max_attempts: 3\n  retry_base_delay: 10ms\n"
      "  retry_max_delay: 20ms\n");
  Digest d = put_object(10ull << 20, 41);
  proxy_->always_fail = true;
  httplib::Client client(origin_url_);
  auto res = client.Get("/v1/blobs/" + d.str() + "/metainfo");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 502);
  EXPECT_NE(res->body.find("InternalError"), std::string::npos) << res->body;
  EXPECT_NE(res->body.find("gave up after 3 attempts"), std::string::npos) << res->body;
  std::string status = get_body(origin_url_, "/v1/blobs/" + d.str() + "/status");
  EXPECT_NE(status.find("\"failed\""), std::string::npos) << status;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir_ / "origin-cache")) {
    EXPECT_FALSE(entry.is_regular_file()) << "left behind: " << entry.path();
  }
  // Once the store recovers, the next request pulls it.
  proxy_->always_fail = false;
  res = client.Get("/v1/blobs/" + d.str() + "/metainfo");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
}

TEST_F(OriginS3Test, FiftyConcurrentRequestsForOneColdBlobReadOneCopyFromS3) {
  start_origin("");
  const uint64_t size = 256ull << 20;
  Digest d = put_object(size, 51);
  constexpr int kRequests = 50;
  constexpr int kFullDownloads = 5;  // the rest ask for the metainfo, which needs the same pull
  std::vector<int> statuses(kRequests);
  std::vector<std::string> digests(kRequests);
  {
    std::latch start(kRequests);
    std::vector<std::jthread> threads;
    for (int i = 0; i < kRequests; ++i) {
      threads.emplace_back([&, i] {
        start.arrive_and_wait();
        if (i < kFullDownloads) {
          digests[i] = fetch_digest(origin_url_, d, &statuses[i]);
        } else {
          httplib::Client client(origin_url_);
          client.set_read_timeout(300);
          auto res = client.Get("/v1/blobs/" + d.str() + "/metainfo");
          statuses[i] = res ? res->status : -1;
        }
      });
    }
  }
  for (int i = 0; i < kRequests; ++i) {
    EXPECT_EQ(statuses[i], 200) << "request " << i;
    if (i < kFullDownloads) {
      EXPECT_EQ(digests[i], d.str()) << "request " << i;
    }
  }
  std::printf("s3rver served %llu object bytes for %d requests (%d ranged GETs, %d HEADs)\n",
              static_cast<unsigned long long>(proxy_->object_bytes.load()), kRequests,
              proxy_->ranged_gets.load(), proxy_->heads.load());
  EXPECT_EQ(proxy_->object_bytes, size) << "the object store served more than one copy";
  EXPECT_EQ(origin_metric("fanout_origin_pulls_total"), 1);
  EXPECT_GE(origin_metric("fanout_origin_singleflight_joins_total"), 1);
}

}  // namespace
}  // namespace fanout::test
