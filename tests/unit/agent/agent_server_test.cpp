// The agent's HTTP API on a real server, with a fake tracker and swarm behind BlobFetcher.
#include "agent/agent_server.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include <nlohmann/json.hpp>

#include "common/digest/sha256.h"
#include "common/tracker_client/http_tracker_client.h"
#include "proto/error_body.h"
#include "tests/support/prometheus.h"
#include "tests/support/temp_dir.h"

namespace fanout::agent {
namespace {

using tracker_client::TrackerClientError;

class AgentServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_.bind({"127.0.0.1", 0});
    server_.start();
    client_ = std::make_unique<httplib::Client>("127.0.0.1", server_.port());
  }

  proto::Metainfo metainfo(const Digest& d) {
    if (d != digest_)
      throw TrackerClientError(TrackerClientError::Kind::kNotFound, 404, "HTTP 404");
    proto::MetainfoBuilder b(content_.size());
    b.update(content_.data(), content_.size());
    return b.finish();
  }

  std::shared_future<swarm::FetchResult> fetch(const proto::Metainfo& info) {
    std::promise<swarm::FetchResult> p;
    swarm::FetchResult r;
    if (swarm_fails_) {
      r.error = "no peer has the blob";
    } else {
      auto w = cas_.begin(info.digest);
      w->write(content_.data(), content_.size());
      r.path = w->commit();
      r.ok = true;
    }
    p.set_value(r);
    return p.get_future().share();
  }

  test::TempDir dir_;
  BlobStore cas_{dir_.path()};
  metrics::Registry registry_;
  AgentMetrics metrics_{registry_};
  std::string content_ = std::string(3u << 20, 'a') + "the end";
  Digest digest_ = Sha256::of(content_);
  bool swarm_fails_ = false;
  BlobFetcher fetcher_{cas_,
                       [this](const Digest& d) {
                         return proto::MetainfoWithSignature{metainfo(d), {}};
                       },
                       [this](const proto::Metainfo& m, bool) { return fetch(m); }, metrics_,
                       std::chrono::seconds(10)};
  AgentServer server_{fetcher_, registry_, metrics_};
  std::unique_ptr<httplib::Client> client_;
};

TEST_F(AgentServerTest, FetchesThenServesWithRanges) {
  auto whole = client_->Get("/v1/blobs/" + digest_.str());
  ASSERT_TRUE(whole);
  EXPECT_EQ(whole->status, 200);
  EXPECT_TRUE(whole->body == content_);

  auto tail = client_->Get("/v1/blobs/" + digest_.str(), {{"Range", "bytes=-7"}});
  ASSERT_TRUE(tail);
  EXPECT_EQ(tail->status, 206);
  EXPECT_EQ(tail->body, "the end");

  auto metrics = client_->Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_EQ(test::metric(metrics->body, "fanout_agent_fetches_total"), 1);
  EXPECT_EQ(test::metric(metrics->body, "fanout_agent_cache_hits_total"), 1);
}

TEST_F(AgentServerTest, MalformedDigestIs400) {
  auto r = client_->Get("/v1/blobs/sha256:1234");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  EXPECT_EQ(proto::decode_error_body(r->body).error, "invalid_digest");
}

TEST_F(AgentServerTest, UnknownDigestIs404) {
  auto r = client_->Get("/v1/blobs/" + Sha256::of("nobody has this").str());
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404);
  EXPECT_EQ(proto::decode_error_body(r->body).error, "blob_not_found");
}

TEST_F(AgentServerTest, SwarmFailureIs502WithTheReason) {
  swarm_fails_ = true;
  auto r = client_->Get("/v1/blobs/" + digest_.str());
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 502);
  proto::ErrorBody body = proto::decode_error_body(r->body);
  EXPECT_EQ(body.error, "fetch_failed");
  EXPECT_NE(body.detail.find("no peer has the blob"), std::string::npos);
  EXPECT_FALSE(cas_.contains(digest_));
}

TEST_F(AgentServerTest, HeadAnswersFromTheCacheAndNeverFetches) {
  auto cold = client_->Head("/v1/blobs/" + digest_.str());
  ASSERT_TRUE(cold);
  EXPECT_EQ(cold->status, 404);
  EXPECT_FALSE(cas_.contains(digest_)) << "HEAD started a fetch";
  ASSERT_EQ(client_->Get("/v1/blobs/" + digest_.str())->status, 200);
  auto warm = client_->Head("/v1/blobs/" + digest_.str());
  ASSERT_TRUE(warm);
  EXPECT_EQ(warm->status, 200);
  EXPECT_EQ(warm->get_header_value("Content-Length"), std::to_string(content_.size()));
  EXPECT_TRUE(warm->body.empty());
  auto bad = client_->Head("/v1/blobs/sha256:1234");
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 400);
  auto metrics = client_->Get("/metrics");
  EXPECT_EQ(test::metric(metrics->body, "fanout_agent_fetches_total"), 1);
}

TEST_F(AgentServerTest, ListsTheCompleteBlobsTheCacheHolds) {
  metrics::Registry registry;
  AgentMetrics metrics(registry);
  BlobCache cache(cas_, {}, metrics);
  AgentServer server(fetcher_, registry, metrics,
                     {.cache = &cache, .partial = {}, .pulls = nullptr});
  server.bind({"127.0.0.1", 0});
  server.start();
  httplib::Client client("127.0.0.1", server.port());
  auto empty = client.Get("/v1/blobs");
  ASSERT_TRUE(empty);
  EXPECT_EQ(empty->status, 200);
  EXPECT_EQ(nlohmann::json::parse(empty->body)["blobs"].size(), 0u) << empty->body;

  ASSERT_EQ(client.Get("/v1/blobs/" + digest_.str())->status, 200);
  cache.admit(digest_);  // main wires this as the fetcher's after_fetch hook
  auto held = client.Get("/v1/blobs");
  ASSERT_TRUE(held);
  auto j = nlohmann::json::parse(held->body);
  ASSERT_EQ(j["blobs"].size(), 1u) << held->body;
  EXPECT_EQ(j["blobs"][0]["digest"], digest_.str());
  EXPECT_EQ(j["blobs"][0]["size"], content_.size());
  EXPECT_EQ(j["bytes"], content_.size());
  server.stop();
}

}  // namespace
}  // namespace fanout::agent
