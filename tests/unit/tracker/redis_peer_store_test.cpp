// RedisPeerStore against a real redis-server that the test starts on a free loopback port in a
// temp dir (Debian package redis-server); skipped when the binary is not installed.
#include "tracker/redis_peer_store.h"

#include <gtest/gtest.h>
#include <httplib.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <set>
#include <thread>

#include "proto/announce.h"
#include "tests/support/child_process.h"
#include "tests/support/ports.h"
#include "tests/support/temp_dir.h"
#include "tests/unit/tracker/fakes.h"
#include "tracker/tracker_server.h"

namespace fanout::tracker {
namespace {

using std::chrono::seconds;

std::string find_redis_server() {
  for (const char* dir : {"/usr/bin", "/usr/local/bin", "/usr/sbin"}) {
    std::string path = std::string(dir) + "/redis-server";
    if (::access(path.c_str(), X_OK) == 0) return path;
  }
  return "";
}

std::string peer_id(int n) {
  std::string id = "-FO0001-" + std::to_string(n);
  id.resize(20, 'x');
  return id;
}

const std::string kSwarm = Digest::parse("sha256:" + std::string(64, 'c')).info_hash();

class RedisPeerStoreTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    std::string binary = find_redis_server();
    if (binary.empty()) return;
    dir_ = new test::TempDir("fanout-redis-");
    port_ = test::free_port();
    redis_ = new test::ChildProcess(
        "redis-server", binary,
        {"--port", std::to_string(port_), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", dir_->path().string(), "--protected-mode", "no"},
        *dir_ / "redis.log");
  }
  static void TearDownTestSuite() {
    delete redis_;
    delete dir_;
    redis_ = nullptr;
    dir_ = nullptr;
  }

  void SetUp() override {
    if (redis_ == nullptr) GTEST_SKIP() << "redis-server is not installed (Debian: redis-server)";
    // Each test gets its own key prefix, so tests never see each other's swarms.
    options_.address = {"127.0.0.1", port_};
    options_.key_prefix = "test" + std::to_string(++prefix_counter_) + ":";
    options_.peer_ttl = seconds(30);
    auto deadline = std::chrono::steady_clock::now() + seconds(10);
    for (;;) {
      try {
        make().ping();
        break;
      } catch (const PeerStoreError& e) {
        ASSERT_LT(std::chrono::steady_clock::now(), deadline)
            << "redis-server did not come up: " << e.what() << "\n"
            << redis_->log_tail();
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
    }
  }

  RedisPeerStore make() {
    return RedisPeerStore(options_, [this] { return now_ms_.load(); });
  }

  PeerAnnounce announce_of(int n, uint64_t left, Locality locality = {}) {
    PeerAnnounce a;
    a.info_hash = kSwarm;
    a.peer_id = peer_id(n);
    a.ip = *proto::IpAddress::parse("10.0.0." + std::to_string(n));
    a.port = static_cast<uint16_t>(6000 + n);
    a.left = left;
    a.locality = std::move(locality);
    return a;
  }

  static inline test::TempDir* dir_ = nullptr;
  static inline test::ChildProcess* redis_ = nullptr;
  static inline uint16_t port_ = 0;
  static inline int prefix_counter_ = 0;
  RedisPeerStore::Options options_;
  std::atomic<int64_t> now_ms_{1'700'000'000'000};
};

TEST_F(RedisPeerStoreTest, AnnounceCountsAndCandidates) {
  RedisPeerStore store = make();
  EXPECT_EQ(store.announce(announce_of(1, 100, {"z1", "r1"})), (SwarmCounts{0, 1}));
  PeerAnnounce seeder = announce_of(2, 0, {"z1", "r2"});
  seeder.origin = true;
  seeder.digest = Digest::parse("sha256:" + std::string(64, 'c'));
  EXPECT_EQ(store.announce(seeder), (SwarmCounts{1, 1}));
  EXPECT_EQ(store.digest_of(kSwarm), seeder.digest);

  auto peers = store.candidates(kSwarm, peer_id(1), 100);
  ASSERT_EQ(peers.size(), 1u);
  EXPECT_EQ(peers[0].peer_id, peer_id(2));
  EXPECT_EQ(peers[0].ip.str(), "10.0.0.2");
  EXPECT_EQ(peers[0].port, 6002);
  EXPECT_TRUE(peers[0].seeder);
  EXPECT_TRUE(peers[0].origin);
  EXPECT_EQ(peers[0].locality, (Locality{"z1", "r2"}));

  EXPECT_EQ(store.swarm_count(), 1u);
  EXPECT_EQ(store.peer_count(), 2u);
  EXPECT_EQ(store.largest_swarm(), 2u);
}

TEST_F(RedisPeerStoreTest, CompletedStoppedAndScrape) {
  RedisPeerStore store = make();
  store.announce(announce_of(1, 100));
  PeerAnnounce done = announce_of(1, 0);
  done.event = proto::AnnounceEvent::kCompleted;
  store.announce(done);
  store.announce(announce_of(2, 50));
  ScrapeCounts s = store.scrape(kSwarm);
  EXPECT_EQ(s.peers, (SwarmCounts{1, 1}));
  EXPECT_EQ(s.downloaded, 1u);

  PeerAnnounce stop = announce_of(2, 50);
  stop.event = proto::AnnounceEvent::kStopped;
  EXPECT_EQ(store.announce(stop), (SwarmCounts{1, 0}));
  stop = announce_of(1, 0);
  stop.event = proto::AnnounceEvent::kStopped;
  EXPECT_EQ(store.announce(stop), (SwarmCounts{0, 0}));
  EXPECT_EQ(store.swarm_count(), 0u);
  EXPECT_EQ(store.scrape(kSwarm).peers, (SwarmCounts{0, 0}));
}

TEST_F(RedisPeerStoreTest, PeersExpireAfterTheTtl) {
  RedisPeerStore store = make();
  store.announce(announce_of(1, 100));
  now_ms_ += 20'000;
  store.announce(announce_of(2, 100));
  now_ms_ += 15'000;  // peer 1 is 35 s silent: gone; peer 2 is 15 s: live
  auto peers = store.candidates(kSwarm, peer_id(3), 10);
  ASSERT_EQ(peers.size(), 1u);
  EXPECT_EQ(peers[0].peer_id, peer_id(2));
  EXPECT_EQ(store.scrape(kSwarm).peers, (SwarmCounts{0, 1}));
  EXPECT_EQ(store.announce(announce_of(3, 100)), (SwarmCounts{0, 2}));
  now_ms_ += 31'000;
  EXPECT_EQ(store.swarm_count(), 0u);
}

TEST_F(RedisPeerStoreTest, FullSwarmEvictsTheLongestSilentAndSwarmLimitRefuses) {
  options_.max_peers_per_swarm = 3;
  options_.max_swarms = 1;
  RedisPeerStore store = make();
  for (int n = 1; n <= 3; ++n) {
    store.announce(announce_of(n, 100));
    now_ms_ += 1000;
  }
  store.announce(announce_of(4, 100));
  std::set<std::string> ids;
  for (const auto& p : store.candidates(kSwarm, "", 10)) ids.insert(p.peer_id);
  EXPECT_EQ(ids, (std::set<std::string>{peer_id(2), peer_id(3), peer_id(4)}));

  PeerAnnounce other = announce_of(5, 100);
  other.info_hash = std::string(20, 'o');
  EXPECT_THROW(store.announce(other), SwarmLimitError);
}

TEST_F(RedisPeerStoreTest, CandidatesAreSampledInBigSwarms) {
  RedisPeerStore store = make();
  for (int n = 1; n <= 60; ++n) store.announce(announce_of(n, 100));
  auto peers = store.candidates(kSwarm, peer_id(1), 20);
  EXPECT_EQ(peers.size(), 20u);
  std::set<std::string> ids;
  for (const auto& p : peers) ids.insert(p.peer_id);
  EXPECT_EQ(ids.size(), 20u);
  EXPECT_FALSE(ids.count(peer_id(1)));
}

TEST_F(RedisPeerStoreTest, UnreachableRedisIsAPeerStoreError) {
  options_.address = {"127.0.0.1", test::free_port()};
  options_.timeout = std::chrono::milliseconds(300);
  RedisPeerStore store = make();
  EXPECT_THROW(store.announce(announce_of(1, 0)), PeerStoreError);
}

// Two trackers on one Redis: a peer that announced to one is handed out by the other.
TEST_F(RedisPeerStoreTest, TwoTrackersShareSwarmState) {
  testing::FakeOrigin origin;
  TrackerConfig config;
  config.listen = {"127.0.0.1", 0};
  config.origins = {origin.url()};
  config.peer_store.type = "redis";
  config.peer_store.redis = options_.address;
  config.peer_store.key_prefix = options_.key_prefix;
  metrics::Registry registry_a, registry_b;
  TrackerServer a(config, registry_a);
  TrackerServer b(config, registry_b);
  uint16_t port_a = a.start(), port_b = b.start();

  auto announce = [](uint16_t port, int n) {
    proto::AnnounceRequest r;
    Digest blob = Digest::parse("sha256:" + std::string(64, 'd'));
    r.info_hash = blob.info_hash();
    r.digest = blob;
    r.peer_id = peer_id(n);
    r.port = static_cast<uint16_t>(7000 + n);
    r.left = 10;
    httplib::Client client("127.0.0.1", port);
    client.set_url_encode(false);
    auto res = client.Get(("/announce?" + proto::encode_announce_query(r)).c_str());
    EXPECT_TRUE(res && res->status == 200);
    return res ? proto::decode_announce_response(res->body) : proto::AnnounceResponse{};
  };
  EXPECT_TRUE(announce(port_a, 1).peers.empty());
  proto::AnnounceResponse r = announce(port_b, 2);
  EXPECT_EQ(r.failure_reason, "");
  ASSERT_EQ(r.peers.size(), 1u);
  EXPECT_EQ(r.peers[0].port, 7001);
  EXPECT_EQ(r.incomplete, 2u);
  EXPECT_EQ(b.swarms().digest_of(Digest::parse("sha256:" + std::string(64, 'd')).info_hash()),
            Digest::parse("sha256:" + std::string(64, 'd')));
}

}  // namespace
}  // namespace fanout::tracker
