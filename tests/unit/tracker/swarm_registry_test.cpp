#include "tracker/swarm_registry.h"

#include <gtest/gtest.h>

#include <map>
#include <set>

#include "tests/unit/tracker/fakes.h"

namespace fanout::tracker {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::FakeClock;

const std::string kSwarm(20, 'S');
const std::string kOtherSwarm(20, 'T');

std::string peer_id(int n) {
  std::string id = "-FO0001-" + std::to_string(n);
  id.resize(20, 'z');
  return id;
}

PeerAnnounce announce_of(int n, uint64_t left, const std::string& swarm = kSwarm) {
  PeerAnnounce a;
  a.info_hash = swarm;
  a.peer_id = peer_id(n);
  a.ip = *proto::IpAddress::parse("10.0.0." + std::to_string(n % 250 + 1));
  a.port = static_cast<uint16_t>(6000 + n);
  a.left = left;
  return a;
}

std::set<uint16_t> ports_of(const std::vector<proto::AnnouncePeer>& peers) {
  std::set<uint16_t> ports;
  for (const auto& p : peers) ports.insert(p.port);
  return ports;
}

class SwarmRegistryTest : public ::testing::Test {
 protected:
  SwarmRegistry make(SwarmRegistry::Limits limits = {seconds(30), 10000, 100000},
                     uint64_t seed = 1) {
    return SwarmRegistry(limits, clock_.as_function(), seed);
  }
  FakeClock clock_;
};

TEST_F(SwarmRegistryTest, CountsSeedersAndLeechersAsPeersProgress) {
  SwarmRegistry r = make();
  EXPECT_EQ(r.announce(announce_of(1, 100)), (SwarmCounts{0, 1}));
  EXPECT_EQ(r.announce(announce_of(2, 0)), (SwarmCounts{1, 1}));
  EXPECT_EQ(r.announce(announce_of(3, 5)), (SwarmCounts{1, 2}));
  // Peer 1 finishes: the same peer, now a seeder; never counted twice.
  EXPECT_EQ(r.announce(announce_of(1, 0)), (SwarmCounts{2, 1}));
  EXPECT_EQ(r.peer_count(), 3u);
  EXPECT_EQ(r.swarm_count(), 1u);
  EXPECT_EQ(r.counts(kOtherSwarm), (SwarmCounts{0, 0}));
}

TEST_F(SwarmRegistryTest, ReannounceUpdatesTheAddress) {
  SwarmRegistry r = make();
  r.announce(announce_of(1, 0));
  PeerAnnounce moved = announce_of(1, 0);
  moved.ip = *proto::IpAddress::parse("2001:db8::7");
  moved.port = 9;
  r.announce(moved);
  auto peers = r.select_peers(kSwarm, peer_id(99), 10);
  ASSERT_EQ(peers.size(), 1u);
  EXPECT_EQ(peers[0].ip.str(), "2001:db8::7");
  EXPECT_EQ(peers[0].port, 9);
  EXPECT_EQ(peers[0].peer_id, peer_id(1));
}

TEST_F(SwarmRegistryTest, StoppedRemovesThePeerAndAnEmptiedSwarm) {
  SwarmRegistry r = make();
  r.announce(announce_of(1, 0));
  r.announce(announce_of(2, 7));
  PeerAnnounce stop = announce_of(1, 0);
  stop.event = proto::AnnounceEvent::kStopped;
  EXPECT_EQ(r.announce(stop), (SwarmCounts{0, 1}));
  EXPECT_EQ(ports_of(r.select_peers(kSwarm, peer_id(99), 10)), (std::set<uint16_t>{6002}));
  stop = announce_of(2, 7);
  stop.event = proto::AnnounceEvent::kStopped;
  EXPECT_EQ(r.announce(stop), (SwarmCounts{0, 0}));
  EXPECT_EQ(r.swarm_count(), 0u);
  EXPECT_EQ(r.peer_count(), 0u);
  // Stopping in an unknown swarm creates nothing.
  EXPECT_EQ(r.announce(stop), (SwarmCounts{0, 0}));
  EXPECT_EQ(r.swarm_count(), 0u);
}

TEST_F(SwarmRegistryTest, RemembersTheFirstDigestGiven) {
  SwarmRegistry r = make();
  Digest digest = Digest::parse("sha256:" + std::string(64, 'c'));
  PeerAnnounce a = announce_of(1, 0, digest.info_hash());
  r.announce(a);
  EXPECT_FALSE(r.digest_of(digest.info_hash()));
  a.digest = digest;
  r.announce(a);
  EXPECT_EQ(r.digest_of(digest.info_hash()), digest);
  a.digest = Digest::parse("sha256:" + std::string(64, 'd'));
  r.announce(a);
  EXPECT_EQ(r.digest_of(digest.info_hash()), digest);
}

TEST_F(SwarmRegistryTest, PeersExpireAfterTheTtl) {
  SwarmRegistry r = make({seconds(30), 10000, 100000});
  r.announce(announce_of(1, 0));  // t = 0
  clock_.advance(seconds(20));
  r.announce(announce_of(2, 10));  // t = 20
  clock_.advance(seconds(10));     // t = 30: peer 1 is exactly at the TTL, still live
  EXPECT_EQ(r.counts(kSwarm), (SwarmCounts{1, 1}));
  EXPECT_EQ(ports_of(r.select_peers(kSwarm, peer_id(3), 10)), (std::set<uint16_t>{6001, 6002}));

  clock_.advance(milliseconds(1));  // peer 1 is now silent for longer than the TTL
  EXPECT_EQ(r.counts(kSwarm), (SwarmCounts{0, 1}));
  EXPECT_EQ(ports_of(r.select_peers(kSwarm, peer_id(3), 10)), (std::set<uint16_t>{6002}));
  EXPECT_EQ(r.peer_count(), 1u);

  // A re-announce keeps a peer alive indefinitely.
  for (int i = 0; i < 10; ++i) {
    r.announce(announce_of(2, 10));
    clock_.advance(seconds(25));
  }
  EXPECT_EQ(r.counts(kSwarm), (SwarmCounts{0, 1}));
}

TEST_F(SwarmRegistryTest, ExpireDropsSwarmsNobodyAnnouncesToAnyMore) {
  SwarmRegistry r = make({seconds(30), 10000, 100000});
  r.announce(announce_of(1, 0, kSwarm));
  r.announce(announce_of(2, 0, kSwarm));
  clock_.advance(seconds(20));
  r.announce(announce_of(3, 0, kOtherSwarm));
  EXPECT_EQ(r.expire(), 0u);
  clock_.advance(seconds(11));
  EXPECT_EQ(r.expire(), 2u);
  EXPECT_EQ(r.swarm_count(), 1u);
  EXPECT_EQ(r.peer_count(), 1u);
  clock_.advance(seconds(20));
  EXPECT_EQ(r.expire(), 1u);
  EXPECT_EQ(r.swarm_count(), 0u);
  EXPECT_EQ(r.peer_count(), 0u);
}

TEST_F(SwarmRegistryTest, SelectionExcludesTheRequesterAndIsCapped) {
  SwarmRegistry r = make();
  for (int i = 0; i < 50; ++i) r.announce(announce_of(i, i % 2));
  for (uint32_t want : {0u, 1u, 10u, 48u, 49u, 50u, 200u}) {
    auto peers = r.select_peers(kSwarm, peer_id(7), want);
    EXPECT_EQ(peers.size(), std::min<size_t>(want, 49)) << want;
    std::set<uint16_t> ports = ports_of(peers);
    EXPECT_EQ(ports.size(), peers.size()) << "a peer was returned twice";
    EXPECT_EQ(ports.count(6007), 0u) << "the requester was returned to itself";
  }
  // A requester that is not (yet) in the swarm can get every peer.
  EXPECT_EQ(r.select_peers(kSwarm, peer_id(1000), 500).size(), 50u);
  EXPECT_TRUE(r.select_peers(kOtherSwarm, peer_id(1), 10).empty());
}

TEST_F(SwarmRegistryTest, SelectionIsUniformlyRandom) {
  // 100 peers, samples of 10 excluding peer 0: each other peer should appear in ~10% of draws.
  SwarmRegistry r = make({seconds(30), 10000, 100000}, /*seed=*/42);
  for (int i = 0; i < 100; ++i) r.announce(announce_of(i, 1));
  std::map<uint16_t, int> hits;
  std::map<uint16_t, int> first;
  constexpr int kDraws = 4000;
  for (int d = 0; d < kDraws; ++d) {
    auto peers = r.select_peers(kSwarm, peer_id(0), 10);
    ASSERT_EQ(peers.size(), 10u);
    for (const auto& p : peers) ++hits[p.port];
    ++first[peers[0].port];
  }
  ASSERT_EQ(hits.size(), 99u);  // every other peer gets picked sometimes
  EXPECT_EQ(hits.count(6000), 0u);
  // Expected 4000 * 10 / 99 = ~404 per peer, sd ~19: the bounds are > 7 sd away.
  for (const auto& [port, n] : hits) {
    EXPECT_GT(n, 260) << port;
    EXPECT_LT(n, 550) << port;
  }
  // The order is random too: the first slot is not always the same few peers.
  EXPECT_GT(first.size(), 80u);
}

TEST_F(SwarmRegistryTest, SameSeedSameDraws) {
  SwarmRegistry a = make({seconds(30), 10000, 100000}, 7);
  SwarmRegistry b = make({seconds(30), 10000, 100000}, 7);
  for (int i = 0; i < 30; ++i) {
    a.announce(announce_of(i, 1));
    b.announce(announce_of(i, 1));
  }
  EXPECT_EQ(a.select_peers(kSwarm, peer_id(0), 5), b.select_peers(kSwarm, peer_id(0), 5));
}

TEST_F(SwarmRegistryTest, AFullSwarmReplacesItsLongestSilentPeer) {
  SwarmRegistry r = make({seconds(30), 3, 100000});
  r.announce(announce_of(1, 1));
  clock_.advance(seconds(1));
  r.announce(announce_of(2, 1));
  clock_.advance(seconds(1));
  r.announce(announce_of(3, 1));
  clock_.advance(seconds(1));
  r.announce(announce_of(1, 1));  // peer 1 refreshes: peer 2 is now the longest silent
  r.announce(announce_of(4, 0));
  EXPECT_EQ(r.counts(kSwarm), (SwarmCounts{1, 2}));
  EXPECT_EQ(ports_of(r.select_peers(kSwarm, peer_id(99), 10)),
            (std::set<uint16_t>{6001, 6003, 6004}));
}

TEST_F(SwarmRegistryTest, RefusesSwarmsBeyondTheLimit) {
  SwarmRegistry r = make({seconds(30), 10, 2});
  r.announce(announce_of(1, 0, std::string(20, 'a')));
  r.announce(announce_of(1, 0, std::string(20, 'b')));
  EXPECT_THROW(r.announce(announce_of(1, 0, std::string(20, 'c'))), SwarmLimitError);
  r.announce(announce_of(2, 0, std::string(20, 'a')));  // existing swarms still take peers
  EXPECT_EQ(r.swarm_count(), 2u);
  clock_.advance(seconds(31));
  r.expire();
  r.announce(announce_of(1, 0, std::string(20, 'c')));  // room again once swarms expired
  EXPECT_EQ(r.swarm_count(), 1u);
}

TEST_F(SwarmRegistryTest, ConcurrentAnnouncesKeepCountsConsistent) {
  SwarmRegistry r = make();
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&r, t] {
      for (int i = 0; i < 500; ++i) {
        int n = t * 1000 + i;
        r.announce(announce_of(n, n % 3 == 0 ? 0 : 1));
        r.select_peers(kSwarm, peer_id(n), 20);
        if (i % 5 == 0) {
          PeerAnnounce stop = announce_of(n, 0);
          stop.event = proto::AnnounceEvent::kStopped;
          r.announce(stop);
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(r.peer_count(), 4u * 400);
  SwarmCounts c = r.counts(kSwarm);
  EXPECT_EQ(c.seeders + c.leechers, 1600u);
  EXPECT_EQ(r.select_peers(kSwarm, "", 5000).size(), 1600u);
}

// The announce path the tracker serves: record and select under one lock, straight from the
// swarm's peers.
SelectionRequest selection_of(const PeerSelector& selector, uint32_t num_want,
                              PeerSelector::Random& random, size_t pool = 1000) {
  SelectionRequest s;
  s.selector = &selector;
  s.num_want = num_want;
  s.candidate_pool = pool;
  s.random = &random;
  return s;
}

TEST_F(SwarmRegistryTest, AnnounceAndSelectPicksByLocalityAndNeverTheRequester) {
  SwarmRegistry r = make();
  for (int i = 0; i < 40; ++i) {
    PeerAnnounce a = announce_of(i, 1);
    a.locality = {i % 2 == 0 ? "a" : "b", i % 4 < 2 ? "r1" : "r2"};
    r.announce(a);
  }
  SelectionPolicy policy;
  policy.outside_rack_share = 0;
  policy.outside_zone_share = 0;
  PeerSelector selector(policy);
  PeerSelector::Random random(3);
  PeerAnnounce me = announce_of(0, 1);  // zone a, rack r1: peers 0, 4, 8, ... (10 of them)
  me.locality = {"a", "r1"};
  SelectedPeers out;
  SwarmCounts counts = r.announce_and_select(me, selection_of(selector, 5, random), out);
  EXPECT_EQ(counts, (SwarmCounts{0, 40}));
  ASSERT_EQ(out.peers.size(), 5u);
  std::set<uint16_t> ports = ports_of(out.peers);
  EXPECT_EQ(ports.size(), 5u);
  EXPECT_EQ(ports.count(6000), 0u) << "the requester was handed itself";
  for (uint16_t port : ports) EXPECT_EQ((port - 6000) % 4, 0) << port << " is not in rack a/r1";
  EXPECT_EQ(out.by_class[static_cast<size_t>(LocalityClass::kSameRack)], 5u);
  for (const auto& p : out.peers) EXPECT_EQ(p.peer_id, "") << "compact answers carry no ids";

  // Asking for more than the rack holds backfills from the zone, then the rest.
  out.clear();
  SelectionRequest wide = selection_of(selector, 30, random);
  wide.want_peer_ids = true;
  r.announce_and_select(me, wide, out);
  ASSERT_EQ(out.peers.size(), 30u);
  EXPECT_EQ(out.by_class[static_cast<size_t>(LocalityClass::kSameRack)], 9u);
  EXPECT_EQ(out.by_class[static_cast<size_t>(LocalityClass::kSameZone)], 10u);
  EXPECT_EQ(out.by_class[static_cast<size_t>(LocalityClass::kOther)], 11u);
  EXPECT_EQ(out.peers[0].peer_id.size(), 20u);

  // A stopped announce leaves and gets nobody.
  out.clear();
  me.event = proto::AnnounceEvent::kStopped;
  EXPECT_EQ(r.announce_and_select(me, selection_of(selector, 5, random), out),
            (SwarmCounts{0, 39}));
  EXPECT_TRUE(out.peers.empty());
}

TEST_F(SwarmRegistryTest, AnnounceAndSelectSamplesAHugeSwarmButKeepsItsOrigins) {
  SwarmRegistry r = make();
  for (int i = 1; i <= 200; ++i) r.announce(announce_of(i, 1));
  PeerAnnounce origin = announce_of(500, 0);
  origin.origin = true;
  r.announce(origin);
  PeerSelector selector;
  PeerSelector::Random random(5);
  std::map<uint16_t, int> hits;
  int with_origin = 0;
  for (int d = 0; d < 300; ++d) {
    SelectedPeers out;
    r.announce_and_select(announce_of(1, 1), selection_of(selector, 50, random, /*pool=*/20), out);
    // 20 sampled agents plus the origin, which is always a candidate.
    ASSERT_GE(out.peers.size(), 20u);
    ASSERT_LE(out.peers.size(), 21u);
    std::set<uint16_t> ports = ports_of(out.peers);
    EXPECT_EQ(ports.size(), out.peers.size()) << "a peer was handed out twice";
    EXPECT_EQ(ports.count(6001), 0u);
    with_origin += ports.count(6500) ? 1 : 0;
    for (uint16_t p : ports) ++hits[p];
  }
  EXPECT_EQ(with_origin, 300);
  // Every agent but the requester shows up: the pool is a fresh random sample each time.
  EXPECT_EQ(hits.size(), 200u);
}

TEST_F(SwarmRegistryTest, TheTotalPeerCapEvictsTheIdlestPeersOfTheWholeTracker) {
  SwarmRegistry r = make({seconds(3600), 10000, 100000, /*max_peers=*/100});
  // 100 peers over 100 swarms, one second apart: peer 0 is the idlest.
  for (int i = 0; i < 100; ++i) {
    r.announce(announce_of(i, 1, "swarm-" + std::to_string(1000 + i) + std::string(10, 'x')));
    clock_.advance(seconds(1));
  }
  EXPECT_EQ(r.peer_count(), 100u);
  // Peer 0 re-announces: no longer the idlest, and re-announces never evict.
  r.announce(announce_of(0, 1, "swarm-1000" + std::string(10, 'x')));
  EXPECT_EQ(r.peer_count(), 100u);
  // A new peer at the cap: the idlest (now peer 1) goes, with its emptied swarm.
  r.announce(announce_of(500, 1, "swarm-1000" + std::string(10, 'x')));
  EXPECT_EQ(r.peer_count(), 100u);
  EXPECT_EQ(r.swarm_count(), 99u);
  EXPECT_EQ(r.counts("swarm-1001" + std::string(10, 'x')), (SwarmCounts{0, 0}));
  EXPECT_EQ(r.counts("swarm-1000" + std::string(10, 'x')), (SwarmCounts{0, 2}));
}

TEST_F(SwarmRegistryTest, TheTotalPeerCapEvictsInBatchesOfOnePercent) {
  SwarmRegistry r = make({seconds(3600), 10000, 100000, /*max_peers=*/1000});
  for (int i = 0; i < 1000; ++i) {
    r.announce(announce_of(i, 1, i % 2 ? kSwarm : kOtherSwarm));
    clock_.advance(milliseconds(10));
  }
  r.announce(announce_of(5000, 1));
  EXPECT_EQ(r.peer_count(), 991u);  // 10 evicted, then the newcomer joined
  // The ten oldest (0-9) are gone: nobody hands them out.
  std::set<uint16_t> left = ports_of(r.select_peers(kSwarm, "", 5000));
  auto other = ports_of(r.select_peers(kOtherSwarm, "", 5000));
  left.insert(other.begin(), other.end());
  EXPECT_EQ(left.size(), 991u);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(left.count(static_cast<uint16_t>(6000 + i)), 0u) << i;
  EXPECT_EQ(left.count(6010), 1u);
}

}  // namespace
}  // namespace fanout::tracker
