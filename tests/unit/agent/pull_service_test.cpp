// PullService's watched aliases with a fake resolver and every blob already in the CAS (so no
// swarm is needed): which versions stay pinned across flips, after the pull that brought them
// in has ended, and across a restart of the agent.
#include "agent/pull_service.h"

#include <gtest/gtest.h>

#include <map>
#include <mutex>
#include <thread>

#include "common/digest/sha256.h"
#include "tests/support/temp_dir.h"

namespace fanout::agent {
namespace {

using namespace std::chrono_literals;
constexpr uint64_t kMiB = 1u << 20;

struct Version {
  Digest manifest;
  Digest adapter;  // the layer only this version has
};

class PullServiceWatchTest : public ::testing::Test {
 protected:
  Digest put(const std::string& bytes) {
    Digest d = Sha256::of(bytes);
    auto w = cas_.begin(d);
    w->write(bytes.data(), bytes.size());
    w->commit();
    return d;
  }
  // Version n: the shared base layer and an adapter of its own, and its manifest.
  Version put_version(int n) {
    Version v;
    v.adapter = put(std::string(kMiB, static_cast<char>('0' + n)));
    nlohmann::json manifest = {
        {"layers",
         {{{"digest", base_.str()}, {"size", kMiB}, {"file_name", "base.bin"}},
          {{"digest", v.adapter.str()}, {"size", kMiB}, {"file_name", "adapter.bin"}}}}};
    v.manifest = put(manifest.dump());
    versions_[n] = v;
    return v;
  }

  // An agent's parts over the shared CAS: a fresh cache index, as after a restart.
  struct Agent {
    Agent(PullServiceWatchTest& t, cache::CacheLimits limits)
        : cache(t.cas_, limits, t.metrics_),
          fetcher(
              t.cas_,
              [](const Digest& d) -> proto::MetainfoWithSignature {
                throw std::runtime_error("unexpected fetch of " + d.str());
              },
              [](const proto::Metainfo&, bool) -> std::shared_future<swarm::FetchResult> {
                throw std::runtime_error("unexpected swarm fetch");
              },
              t.metrics_, 5s),
          pulls(fetcher, cache, t.metrics_, t.resolver(), t.dir_ / "models",
                t.dir_ / "watch.json") {}
    BlobCache cache;
    BlobFetcher fetcher;
    PullService pulls;
  };

  PullService::ResolveFn resolver() {
    return [this](const std::string& model, const std::string& alias, int64_t version) {
      std::lock_guard lock(mu_);
      int64_t n = alias.empty() ? version : prod_;
      if (!versions_.count(n)) throw PullService::ResolveNotFound(model + " " + std::to_string(n));
      return ResolvedVersion{n, versions_[n].manifest};
    };
  }
  void flip(int64_t n) {
    std::lock_guard lock(mu_);
    prod_ = n;
  }
  static bool wait_for(PullService& p, std::pair<int64_t, int64_t> want) {
    for (int i = 0; i < 500 && p.watched_versions("llama@prod") != want; ++i) {
      std::this_thread::sleep_for(10ms);
    }
    return p.watched_versions("llama@prod") == want;
  }

  test::TempDir dir_;
  BlobStore cas_{dir_.path()};
  metrics::Registry registry_;
  AgentMetrics metrics_{registry_};
  Digest base_ = put(std::string(kMiB, 'b'));
  std::mutex mu_;
  std::map<int64_t, Version> versions_;
  int64_t prod_ = 1;
};

TEST_F(PullServiceWatchTest, CurrentAndPreviousStayPinnedAcrossFlipsAndARestart) {
  Version v1 = put_version(1), v2 = put_version(2), v3 = put_version(3);
  Version v4 = put_version(4);
  {
    Agent agent(*this, {});
    agent.pulls.watch({"llama@prod"}, 20ms);
    ASSERT_TRUE(wait_for(agent.pulls, {1, 0}));
    // Pinned after the pull has ended, not only while it ran.
    EXPECT_TRUE(agent.cache.index().pinned(v1.manifest));
    EXPECT_TRUE(agent.cache.index().pinned(v1.adapter));
    EXPECT_TRUE(agent.cache.index().pinned(base_));

    // A pull that no watch asked for lets go of its pins when it ends.
    auto done = agent.pulls.pull_now("llama", "", 4);
    ASSERT_EQ(done["state"], "done") << done.dump();
    EXPECT_FALSE(agent.cache.index().pinned(v4.adapter));

    flip(2);
    ASSERT_TRUE(wait_for(agent.pulls, {2, 1}));
    EXPECT_TRUE(agent.cache.index().pinned(v1.adapter)) << "the rollback version lost its pin";
    EXPECT_TRUE(agent.cache.index().pinned(v2.adapter));
    flip(3);
    ASSERT_TRUE(wait_for(agent.pulls, {3, 2}));
    EXPECT_FALSE(agent.cache.index().pinned(v1.adapter));
    EXPECT_FALSE(agent.cache.index().pinned(v1.manifest));
    EXPECT_TRUE(agent.cache.index().pinned(v2.adapter));
    EXPECT_TRUE(agent.cache.index().pinned(v3.adapter));
    EXPECT_TRUE(agent.cache.index().pinned(base_));
  }
  ASSERT_TRUE(std::filesystem::exists(dir_ / "watch.json"));

  // Restart with a cache capped below what is held: before the watch even runs, versions 3 and
  // 2 are pinned again, so trimming takes version 1's and 4's adapters and nothing of theirs.
  Agent agent(*this,
              {.max_bytes = 5 * kMiB, .high_watermark_percent = 80, .low_watermark_percent = 50});
  EXPECT_EQ(agent.pulls.watched_versions("llama@prod"), std::make_pair(int64_t{3}, int64_t{2}));
  agent.cache.load();
  agent.cache.trim();
  EXPECT_FALSE(cas_.contains(v1.adapter));
  EXPECT_FALSE(cas_.contains(v4.adapter));
  for (const auto& d : {base_, v2.adapter, v2.manifest, v3.adapter, v3.manifest}) {
    EXPECT_TRUE(cas_.contains(d)) << d.str();
  }
  agent.pulls.watch({"llama@prod"}, 20ms);
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(agent.pulls.watched_versions("llama@prod"), std::make_pair(int64_t{3}, int64_t{2}));

  // A rollback to 2 keeps 3 as the previous version.
  flip(2);
  ASSERT_TRUE(wait_for(agent.pulls, {2, 3}));
  EXPECT_TRUE(agent.cache.index().pinned(v3.adapter));
  EXPECT_TRUE(agent.cache.index().pinned(v2.adapter));
}

TEST_F(PullServiceWatchTest, AnAliasNoLongerWatchedLetsGoOfItsPins) {
  Version v1 = put_version(1);
  {
    Agent agent(*this, {});
    agent.pulls.watch({"llama@prod"}, 20ms);
    ASSERT_TRUE(wait_for(agent.pulls, {1, 0}));
  }
  Agent agent(*this, {});
  EXPECT_TRUE(agent.cache.index().pinned(v1.adapter));
  agent.pulls.watch({}, 20ms);  // the config no longer watches llama@prod
  EXPECT_FALSE(agent.cache.index().pinned(v1.adapter));
  EXPECT_EQ(agent.pulls.watched_versions("llama@prod"), std::make_pair(int64_t{0}, int64_t{0}));
}

TEST_F(PullServiceWatchTest, AnUnreadableStateFileIsIgnored) {
  put_version(1);
  std::ofstream(dir_ / "watch.json") << "{not json";
  Agent agent(*this, {});
  EXPECT_EQ(agent.pulls.watched_versions("llama@prod"), std::make_pair(int64_t{0}, int64_t{0}));
  agent.pulls.watch({"llama@prod"}, 20ms);
  EXPECT_TRUE(wait_for(agent.pulls, {1, 0}));
}

}  // namespace
}  // namespace fanout::agent
