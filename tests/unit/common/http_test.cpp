// HttpServer and serve_file against a real server on 127.0.0.1, port 0.
#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <string>
#include <thread>

#include "common/http/byte_range.h"
#include "common/http/file_response.h"
#include "common/http/http_error.h"
#include "common/http/http_server.h"
#include "proto/error_body.h"
#include "tests/support/prometheus.h"
#include "tests/support/temp_dir.h"

namespace fanout::http {
namespace {

std::string read_all(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

class HttpServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    blob_ = dir_ / "blob";
    {
      std::ofstream out(blob_, std::ios::binary);
      // 3 MiB + 17 bytes so the body spans several 1 MiB provider chunks and a ragged tail.
      for (size_t i = 0; i < (3u << 20) + 17; ++i) out.put(static_cast<char>((i * 131) >> 3));
    }
    content_ = read_all(blob_);
    server_.routes().Get("/file", [this](const httplib::Request& req, httplib::Response& res) {
      serve_file(req, res, blob_, "application/octet-stream", &sent_);
    });
    server_.routes().Get("/empty", [this](const httplib::Request& req, httplib::Response& res) {
      std::ofstream(dir_ / "empty").close();
      serve_file(req, res, dir_ / "empty", "application/octet-stream", &sent_);
    });
    server_.routes().Get("/missing", [this](const httplib::Request& req, httplib::Response& res) {
      serve_file(req, res, dir_ / "nope", "application/octet-stream");
    });
    server_.routes().Get(R"(/digest/([^/]+))",
                         [](const httplib::Request& req, httplib::Response& res) {
                           Digest d = parse_digest_param(req.matches[1]);
                           res.set_content(d.hex(), "text/plain");
                         });
    server_.routes().Get("/teapot", [](const httplib::Request&, httplib::Response&) {
      throw HttpError(418, "teapot", "short and stout");
    });
    server_.routes().Get("/boom", [](const httplib::Request&, httplib::Response&) {
      throw std::runtime_error("kaboom");
    });
    server_.routes().Get("/raw-digest", [](const httplib::Request&, httplib::Response&) {
      Digest::parse("sha256:xyz");
    });
    server_.set_ready([this] { return ready_.load(); });
    port_ = server_.bind({"127.0.0.1", 0});
    server_.start();
    client_ = std::make_unique<httplib::Client>("127.0.0.1", port_);
  }

  httplib::Result get(const std::string& path, const std::string& range = "") {
    httplib::Headers headers;
    if (!range.empty()) headers.emplace("Range", range);
    return client_->Get(path, headers);
  }

  // serve_file counts a chunk once its write returns, which can be just after the client read
  // it: give the last chunk a moment.
  uint64_t sent_eventually(uint64_t expected) {
    for (int i = 0; i < 100 && sent_.value() != expected; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return sent_.value();
  }

  static proto::ErrorBody error_of(const httplib::Result& r) {
    EXPECT_EQ(r->get_header_value("Content-Type"), "application/json");
    return proto::decode_error_body(r->body);
  }

  test::TempDir dir_;
  std::filesystem::path blob_;
  std::string content_;
  metrics::Registry registry_;
  metrics::Counter sent_;
  std::atomic<bool> ready_{false};
  HttpServer server_{"test", registry_};
  uint16_t port_ = 0;
  std::unique_ptr<httplib::Client> client_;
};

TEST_F(HttpServerTest, BindsAnEphemeralPort) {
  EXPECT_NE(port_, 0);
  EXPECT_EQ(server_.port(), port_);
}

TEST_F(HttpServerTest, WholeFileIs200WithAcceptRanges) {
  auto r = get("/file");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->get_header_value("Accept-Ranges"), "bytes");
  EXPECT_EQ(r->get_header_value("Content-Length"), std::to_string(content_.size()));
  EXPECT_TRUE(r->body == content_);
  EXPECT_EQ(sent_eventually(content_.size()), content_.size());
}

TEST_F(HttpServerTest, ClosedRangeIs206) {
  auto r = get("/file", "bytes=1048570-2097160");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 206);
  EXPECT_EQ(r->get_header_value("Content-Range"),
            "bytes 1048570-2097160/" + std::to_string(content_.size()));
  EXPECT_TRUE(r->body == content_.substr(1048570, 2097160 - 1048570 + 1));
  EXPECT_EQ(sent_eventually(r->body.size()), r->body.size());
}

TEST_F(HttpServerTest, OpenAndSuffixRanges) {
  auto open = get("/file", "bytes=3145728-");
  ASSERT_TRUE(open);
  EXPECT_EQ(open->status, 206);
  EXPECT_EQ(open->body, content_.substr(3145728));

  auto suffix = get("/file", "bytes=-5");
  ASSERT_TRUE(suffix);
  EXPECT_EQ(suffix->status, 206);
  EXPECT_EQ(suffix->body, content_.substr(content_.size() - 5));

  // An end past the file is clamped, not refused.
  auto clamped = get("/file", "bytes=10-999999999");
  ASSERT_TRUE(clamped);
  EXPECT_EQ(clamped->status, 206);
  EXPECT_EQ(clamped->body.size(), content_.size() - 10);
}

TEST_F(HttpServerTest, UnsatisfiableRangeIs416WithJson) {
  auto r = get("/file", "bytes=" + std::to_string(content_.size()) + "-");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 416);
  EXPECT_EQ(r->get_header_value("Content-Range"), "bytes */" + std::to_string(content_.size()));
  EXPECT_EQ(error_of(r).error, "range_not_satisfiable");
  EXPECT_EQ(sent_.value(), 0u);
}

TEST_F(HttpServerTest, MalformedRangeIs416WithJson) {
  for (const char* range : {"bytes=9-3", "bytes=abc", "items=0-1"}) {
    auto r = get("/file", range);
    ASSERT_TRUE(r) << range;
    EXPECT_EQ(r->status, 416) << range;
    EXPECT_FALSE(error_of(r).error.empty()) << range << ": " << r->body;
  }
}

TEST_F(HttpServerTest, SeveralRangesGetTheWholeFile) {
  auto r = get("/file", "bytes=0-1,5-9");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_TRUE(r->body == content_);
}

TEST_F(HttpServerTest, EmptyFile) {
  auto r = get("/empty");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_TRUE(r->body.empty());
  auto ranged = get("/empty", "bytes=0-");
  ASSERT_TRUE(ranged);
  EXPECT_EQ(ranged->status, 416);
}

TEST_F(HttpServerTest, MissingFileIs404) {
  auto r = get("/missing");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404);
  EXPECT_EQ(error_of(r).error, "not_found");
}

TEST_F(HttpServerTest, ErrorsAreJson) {
  auto bad = get("/digest/sha256:XYZ");
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 400);
  EXPECT_EQ(error_of(bad).error, "invalid_digest");
  EXPECT_NE(error_of(bad).detail.find("sha256"), std::string::npos);

  auto good = get("/digest/sha256:" + std::string(64, 'a'));
  ASSERT_TRUE(good);
  EXPECT_EQ(good->status, 200);

  auto raw = get("/raw-digest");
  ASSERT_TRUE(raw);
  EXPECT_EQ(raw->status, 400);
  EXPECT_EQ(error_of(raw).error, "invalid_digest");

  auto teapot = get("/teapot");
  ASSERT_TRUE(teapot);
  EXPECT_EQ(teapot->status, 418);
  EXPECT_EQ(error_of(teapot), (proto::ErrorBody{"teapot", "short and stout"}));

  auto boom = get("/boom");
  ASSERT_TRUE(boom);
  EXPECT_EQ(boom->status, 500);
  EXPECT_EQ(error_of(boom).error, "internal");

  auto none = get("/no/such/route");
  ASSERT_TRUE(none);
  EXPECT_EQ(none->status, 404);
  EXPECT_EQ(error_of(none).error, "not_found");
}

TEST_F(HttpServerTest, DotSegmentsAre400) {
  for (const char* path : {"/digest/..%2F..%2Fetc%2Fpasswd", "/digest/sha256:..%2F..%2Fx",
                           "/digest/.%2Fx", "/digest/a%00b"}) {
    auto r = get(path);
    ASSERT_TRUE(r) << path;
    EXPECT_EQ(r->status, 400) << path << ": " << r->body;
    EXPECT_FALSE(error_of(r).error.empty()) << path;
  }
  // Dots inside a segment are fine.
  auto r = get("/digest/sha256:..x");
  ASSERT_TRUE(r);
  EXPECT_EQ(error_of(r).error, "invalid_digest");
}

TEST_F(HttpServerTest, ErrorBodiesAreNotSlicedByRange) {
  auto r = get("/teapot", "bytes=0-3");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 418);
  EXPECT_EQ(error_of(r).detail, "short and stout");
}

TEST_F(HttpServerTest, HealthzFollowsReadiness) {
  auto starting = get("/healthz");
  ASSERT_TRUE(starting);
  EXPECT_EQ(starting->status, 503);
  EXPECT_EQ(starting->body, R"({"status":"starting"})");
  ready_ = true;
  auto ok = get("/healthz");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200);
  EXPECT_EQ(ok->body, R"({"status":"ok"})");
}

TEST_F(HttpServerTest, MetricsAreText) {
  registry_.counter("fanout_test_things_total", "Things").inc(7);
  auto r = get("/metrics");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->get_header_value("Content-Type"), "text/plain; version=0.0.4");
  EXPECT_EQ(test::metric(r->body, "fanout_test_things_total"), 7);
}

TEST_F(HttpServerTest, StopIsIdempotent) {
  server_.stop();
  server_.stop();
  EXPECT_FALSE(get("/healthz"));
}

TEST(HttpServerBind, TakenPortNamesTheAddress) {
  metrics::Registry registry;
  HttpServer first("a", registry);
  uint16_t port = first.bind({"127.0.0.1", 0});
  HttpServer second("b", registry);
  try {
    second.bind({"127.0.0.1", port});
    FAIL() << "bind should have failed";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("127.0.0.1:" + std::to_string(port)), std::string::npos)
        << e.what();
  }
}

TEST(HttpServerStart, StopRightAfterStartReturns) {
  metrics::Registry registry;
  for (int i = 0; i < 20; ++i) {
    HttpServer server("s", registry);
    server.bind({"127.0.0.1", 0});
    server.start();
    server.stop();
  }
}

TEST(ByteRange, Parse) {
  using K = RangeRequest::Kind;
  EXPECT_EQ(parse_range("", 100).kind, K::kWhole);
  EXPECT_EQ(parse_range("bytes=0-0", 100).range, (ByteRange{0, 0}));
  EXPECT_EQ(parse_range("bytes=0-99", 100).range, (ByteRange{0, 99}));
  EXPECT_EQ(parse_range("bytes=50-", 100).range, (ByteRange{50, 99}));
  EXPECT_EQ(parse_range("bytes=-10", 100).range, (ByteRange{90, 99}));
  EXPECT_EQ(parse_range("bytes=-1000", 100).range, (ByteRange{0, 99}));
  EXPECT_EQ(parse_range("bytes=90-1000", 100).range, (ByteRange{90, 99}));
  EXPECT_EQ(parse_range("bytes=90-1000", 100).kind, K::kPartial);
  EXPECT_EQ(parse_range("bytes=100-", 100).kind, K::kUnsatisfiable);
  EXPECT_EQ(parse_range("bytes=-0", 100).kind, K::kUnsatisfiable);
  EXPECT_EQ(parse_range("bytes=0-", 0).kind, K::kUnsatisfiable);
  EXPECT_EQ(parse_range("bytes=5-4", 100).kind, K::kMalformed);
  EXPECT_EQ(parse_range("bytes=-", 100).kind, K::kMalformed);
  EXPECT_EQ(parse_range("bytes=+1-2", 100).kind, K::kMalformed);
  EXPECT_EQ(parse_range("bytes=99999999999999999999-", 100).kind, K::kMalformed);
  EXPECT_EQ(parse_range("lines=1-2", 100).kind, K::kMalformed);
  EXPECT_EQ(parse_range("bytes=0-1,4-5", 100).kind, K::kWhole);
}

}  // namespace
}  // namespace fanout::http
