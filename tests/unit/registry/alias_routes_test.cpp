// The tracker's alias resolution: answers from its cache within the TTL, from the database after
// it, at once after a flip on PostgreSQL (LISTEN/NOTIFY), and over HTTP with the right statuses.
#include "tracker/alias_routes.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include <nlohmann/json.hpp>
#include <thread>

#include "common/http/http_server.h"
#include "tests/support/prometheus.h"
#include "tests/unit/registry/registry_fixture.h"

namespace fanout::registry::testing {
namespace {

using tracker::AliasResolver;
using tracker::AliasResolverOptions;

class FakeClock {
 public:
  std::chrono::steady_clock::time_point now() const {
    return std::chrono::steady_clock::time_point(std::chrono::milliseconds(ms_.load()));
  }
  void advance(std::chrono::milliseconds by) { ms_ += by.count(); }

 private:
  std::atomic<int64_t> ms_{1'000'000};
};

using AliasResolverTest = RegistryTest;

TEST_P(AliasResolverTest, AnswersFromTheCacheUntilTheTtlThenSeesTheFlip) {
  push("llama", {"a"});
  push("llama", {"b"});
  db_->flip({"llama", "prod", 1, "v1"}, promote_token_);
  metrics::Registry metrics;
  FakeClock clock;
  AliasResolver resolver(*db_, {std::chrono::seconds(2), /*listen=*/false}, metrics,
                         [&] { return clock.now(); });
  auto first = resolver.resolve("llama", "prod");
  ASSERT_TRUE(first);
  EXPECT_EQ(first->version, 1);
  EXPECT_EQ(first->digest, artifact({"a"}).digest);

  open()->flip({"llama", "prod", 2, "v2"}, promote_token_);
  EXPECT_EQ(resolver.resolve("llama", "prod")->version, 1);  // cached
  clock.advance(std::chrono::milliseconds(2001));
  EXPECT_EQ(resolver.resolve("llama", "prod")->version, 2);
  EXPECT_EQ(resolver.resolve("llama", "prod")->digest, artifact({"b"}).digest);

  std::string text = metrics.render();
  EXPECT_EQ(test::metric(text, "fanout_tracker_alias_resolves_total"), 4);
  EXPECT_EQ(test::metric(text, "fanout_tracker_alias_cache_hits_total"), 2);
  EXPECT_EQ(test::metric(text, "fanout_tracker_alias_cache_misses_total"), 2);
}

TEST_P(AliasResolverTest, UnknownAliasesAreCachedToo) {
  push("llama", {"a"});
  metrics::Registry metrics;
  FakeClock clock;
  AliasResolver resolver(*db_, {std::chrono::seconds(2), false}, metrics,
                         [&] { return clock.now(); });
  EXPECT_FALSE(resolver.resolve("llama", "prod"));
  EXPECT_FALSE(resolver.resolve("ghost", "prod"));
  db_->flip({"llama", "prod", 1, "v1"}, promote_token_);
  EXPECT_FALSE(resolver.resolve("llama", "prod"));
  resolver.invalidate("llama", "prod");
  EXPECT_EQ(resolver.resolve("llama", "prod")->version, 1);
  EXPECT_THROW(resolver.resolve("llama", "../x"), InvalidRequestError);
}

TEST_P(AliasResolverTest, AFlipInvalidatesAtOnceWhereTheDatabaseNotifies) {
  push("llama", {"a"});
  push("llama", {"b"});
  db_->flip({"llama", "prod", 1, "v1"}, promote_token_);
  metrics::Registry metrics;
  AliasResolver resolver(*db_, {std::chrono::hours(1), true}, metrics);
  if (GetParam() == "sqlite") {
    EXPECT_FALSE(resolver.push_invalidation());
    return;
  }
  for (int i = 0; i < 100 && !resolver.push_invalidation(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_TRUE(resolver.push_invalidation());
  EXPECT_EQ(resolver.resolve("llama", "prod")->version, 1);
  open()->flip({"llama", "prod", 2, "v2"}, promote_token_);
  int64_t seen = 1;
  for (int i = 0; i < 100 && seen == 1; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    seen = resolver.resolve("llama", "prod")->version;
  }
  EXPECT_EQ(seen, 2) << "the one-hour TTL would have kept version 1";
}

TEST_P(AliasResolverTest, HttpRoutesAnswerJsonWithTheRightStatus) {
  push("llama", {"a"});
  db_->flip({"llama", "prod", 1, "v1"}, promote_token_);
  metrics::Registry metrics;
  AliasResolver resolver(*db_, {std::chrono::seconds(2), false}, metrics);
  http::HttpServer server("tracker", metrics);
  tracker::register_alias_routes(server.routes(), resolver, metrics);
  server.bind({"127.0.0.1", 0});
  server.start();
  httplib::Client client("127.0.0.1", server.port());

  auto ok = client.Get("/v1/models/llama/aliases/prod");
  ASSERT_TRUE(ok);
  ASSERT_EQ(ok->status, 200) << ok->body;
  auto body = nlohmann::json::parse(ok->body);
  EXPECT_EQ(body["version"], 1);
  EXPECT_EQ(body["digest"], artifact({"a"}).digest);

  auto version = client.Get("/v1/models/llama/versions/1");
  ASSERT_TRUE(version);
  EXPECT_EQ(version->status, 200);
  EXPECT_EQ(nlohmann::json::parse(version->body)["digest"], artifact({"a"}).digest);

  EXPECT_EQ(client.Get("/v1/models/llama/aliases/canary")->status, 404);
  EXPECT_EQ(client.Get("/v1/models/ghost/aliases/prod")->status, 404);
  EXPECT_EQ(client.Get("/v1/models/llama/versions/9")->status, 404);
  EXPECT_EQ(client.Get("/v1/models/llama/versions/x1")->status, 400);
  auto bad = client.Get("/v1/models/ll%20ama/aliases/prod");
  EXPECT_EQ(bad->status, 400);
  EXPECT_EQ(nlohmann::json::parse(bad->body)["error"], "invalid_name");
  server.stop();
}

INSTANTIATE_TEST_SUITE_P(Backends, AliasResolverTest, ::testing::Values("sqlite", "postgresql"),
                         backend_name);

}  // namespace
}  // namespace fanout::registry::testing
