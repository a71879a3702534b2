// The origin's HTTP API on a real server, with a directory object store and no peer engine.
#include "origin/origin_server.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include <chrono>
#include <fstream>
#include <thread>

#include "common/digest/sha256.h"
#include "common/objectstore/directory_store.h"
#include "proto/error_body.h"
#include "tests/support/prometheus.h"
#include "tests/support/random_blob.h"
#include "tests/support/temp_dir.h"

namespace fanout::origin {
namespace {

class OriginServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto src = dir_ / "src";
    digest_ = test::write_random_file(src, kSize, 11);
    std::ifstream in(src, std::ios::binary);
    content_.assign(std::istreambuf_iterator<char>(in), {});
    objects_.put(blob_key(digest_), src);
    server_.bind({"127.0.0.1", 0});
    server_.start();
    client_ = std::make_unique<httplib::Client>("127.0.0.1", server_.port());
  }

  static constexpr uint64_t kSize = (4u << 20) + 100;
  test::TempDir dir_;
  DirectoryStore objects_{dir_ / "objects"};
  BlobStore cas_{dir_ / "cache"};
  metrics::Registry registry_;
  OriginMetrics metrics_{registry_};
  int seeds_ = 0;
  BlobPuller puller_{objects_, cas_, dir_ / "cache" / "metainfo",
                     [this](const proto::Metainfo&, const std::filesystem::path&) { ++seeds_; },
                     metrics_};
  OriginServer server_{puller_, registry_, metrics_};
  std::unique_ptr<httplib::Client> client_;
  Digest digest_;
  std::string content_;
};

TEST_F(OriginServerTest, MetainfoIsCanonicalBencode) {
  auto r = client_->Get("/v1/blobs/" + digest_.str() + "/metainfo");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->get_header_value("Content-Type"), "application/octet-stream");
  proto::Metainfo m = proto::Metainfo::decode(r->body);
  EXPECT_EQ(m.digest, digest_);
  EXPECT_EQ(m.size, kSize);
  EXPECT_EQ(seeds_, 1);
}

TEST_F(OriginServerTest, BlobWholeAndRanged) {
  auto whole = client_->Get("/v1/blobs/" + digest_.str());
  ASSERT_TRUE(whole);
  EXPECT_EQ(whole->status, 200);
  EXPECT_TRUE(whole->body == content_);
  EXPECT_EQ(Sha256::of(whole->body), digest_);

  auto part = client_->Get("/v1/blobs/" + digest_.str(), {{"Range", "bytes=100-199"}});
  ASSERT_TRUE(part);
  EXPECT_EQ(part->status, 206);
  EXPECT_EQ(part->body, content_.substr(100, 100));

  // The server counts a chunk once its write returns, which can be just after the client has
  // read it: wait a moment for the last one.
  std::string text;
  for (int i = 0; i < 100; ++i) {
    auto metrics = client_->Get("/metrics");
    ASSERT_TRUE(metrics);
    text = metrics->body;
    if (test::metric(text, "fanout_origin_http_bytes_sent_total") == kSize + 100) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(test::metric(text, "fanout_origin_http_bytes_sent_total"), kSize + 100);
  EXPECT_EQ(test::metric(text, "fanout_origin_objectstore_bytes_read_total"), kSize);
  EXPECT_EQ(test::metric(text, "fanout_origin_pulls_total"), 1);
}

TEST_F(OriginServerTest, MalformedDigestIs400) {
  for (std::string bad : {std::string("sha256:abc"), "md5:" + std::string(32, '0'),
                          "sha256:" + std::string(64, 'A')}) {
    for (std::string path : {"/v1/blobs/" + bad, "/v1/blobs/" + bad + "/metainfo"}) {
      auto r = client_->Get(path);
      ASSERT_TRUE(r) << path;
      EXPECT_EQ(r->status, 400) << path;
      EXPECT_EQ(proto::decode_error_body(r->body).error, "invalid_digest") << path;
    }
  }
}

TEST_F(OriginServerTest, UnknownDigestIs404) {
  Digest unknown = Sha256::of("not in the object store");
  for (std::string path :
       {"/v1/blobs/" + unknown.str(), "/v1/blobs/" + unknown.str() + "/metainfo"}) {
    auto r = client_->Get(path);
    ASSERT_TRUE(r) << path;
    EXPECT_EQ(r->status, 404) << path;
    EXPECT_EQ(proto::decode_error_body(r->body).error, "blob_not_found");
  }
}

TEST_F(OriginServerTest, CorruptObjectIs502NamingTheDigest) {
  Digest wrong = Sha256::of("the name of other bytes");
  objects_.put(blob_key(wrong), dir_ / "src");
  auto r = client_->Get("/v1/blobs/" + wrong.str());
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 502);
  proto::ErrorBody body = proto::decode_error_body(r->body);
  EXPECT_EQ(body.error, "corrupt_object");
  EXPECT_NE(body.detail.find(wrong.str()), std::string::npos) << body.detail;
  EXPECT_FALSE(cas_.contains(wrong));
  EXPECT_EQ(seeds_, 0);

  auto metrics = client_->Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_EQ(test::metric(metrics->body, "fanout_origin_pull_failures_total"), 1);
}

}  // namespace
}  // namespace fanout::origin
