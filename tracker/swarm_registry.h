#pragma once
// The tracker's in-memory swarm state (the default PeerStore): per swarm (keyed by the 20-byte
// info-hash) the peers that announced, with their address, bytes left and last announce. It is soft
// state: a peer silent for longer than the TTL is dropped, and a restarted tracker rebuilds
// everything from announces.
//
// Swarms are spread over shards by info-hash, each with its own lock, so announces to different
// swarms do not wait for each other; counts are atomics, read without any lock.
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/digest/digest.h"
#include "proto/announce.h"
#include "tracker/peer_store.h"

namespace fanout::tracker {

class SwarmRegistry : public PeerStore {
 public:
  using Clock = std::function<std::chrono::steady_clock::time_point()>;

  struct Limits {
    std::chrono::milliseconds peer_ttl{std::chrono::seconds(30)};
    uint32_t max_peers_per_swarm = 10000;
    uint32_t max_swarms = 100000;
    // Peers over all swarms (0 = no cap): a new peer beyond it first evicts the idlest peers of
    // the whole tracker (the ones silent longest), a batch of max(1, max_peers / 100) at a time.
    uint64_t max_peers = 0;
  };

  // The clock and the random seed are injected so tests control expiry and can repeat a draw.
  explicit SwarmRegistry(Limits limits, Clock clock = &std::chrono::steady_clock::now,
                         uint64_t seed = std::random_device{}());

  // Records an announce and returns the swarm's counts afterwards. A "stopped" announce removes
  // the peer (and an emptied swarm). A new peer in a full swarm replaces the longest silent
  // one. Throws SwarmLimitError when the announce would create one swarm too many.
  SwarmCounts announce(const PeerAnnounce& announce) override;
  std::vector<StoredPeer> candidates(const std::string& info_hash,
                                     const std::string& exclude_peer_id, size_t limit) override;
  ScrapeCounts scrape(const std::string& info_hash) override;
  // Records and selects under the swarm's lock, straight from the swarm's own peers: no copy of
  // the candidates, no allocation beyond the selector's.
  SwarmCounts announce_and_select(const PeerAnnounce& announce, const SelectionRequest& request,
                                  SelectedPeers& out) override;

  // Up to num_want live peers of the swarm, drawn uniformly at random without repetition and in
  // random order, never the requester itself. A random sample (not "the newest" or "the
  // first") is what keeps the swarm's graph connected instead of a chain of islands.
  std::vector<proto::AnnouncePeer> select_peers(const std::string& info_hash,
                                                const std::string& requester_peer_id,
                                                uint32_t num_want);

  SwarmCounts counts(const std::string& info_hash);
  // The blob digest a client gave for this swarm, if any did.
  std::optional<Digest> digest_of(const std::string& info_hash) override;

  // Drops every expired peer and every emptied swarm; returns how many peers went. Swarms are
  // also swept lazily when touched; this catches the ones nobody announces to any more.
  size_t expire() override;

  size_t swarm_count() override;
  size_t peer_count() override;
  size_t largest_swarm() override;

 private:
  using TimePoint = std::chrono::steady_clock::time_point;

  struct Peer {
    std::string peer_id;
    proto::IpAddress ip;
    uint16_t port = 0;
    uint64_t left = 0;
    TimePoint last_announce;
    Locality locality;
    bool origin = false;
  };

  // Peers live in a vector (uniform sampling by index) with an id -> position index
  // (O(1) update and swap-removal).
  struct Swarm {
    std::optional<Digest> digest;
    std::vector<Peer> peers;
    std::unordered_map<std::string, size_t> position;
    uint32_t seeders = 0;
    uint64_t completed = 0;               // "completed" events, for scrape
    std::vector<std::string> origin_ids;  // few: always offered as candidates
    // No peer announced before this: a lower bound of the oldest last_announce, exact right
    // after a sweep. Re-announces only make the true oldest newer, so it stays a bound.
    TimePoint oldest_announce{};
  };

  struct Shard {
    std::mutex mu;
    std::unordered_map<std::string, Swarm> swarms;
    std::mt19937_64 rng;  // for select_peers / candidates (the seeded, reproducible draws)
  };
  static constexpr size_t kShards = 64;

  Shard& shard_of(const std::string& info_hash);
  bool expired(const Peer& peer, TimePoint now) const;
  void remove_at(Swarm& swarm, size_t index);
  void erase_swarm(Shard& shard, std::unordered_map<std::string, Swarm>::iterator it);
  // Drops the swarm's expired peers and recomputes oldest_announce.
  size_t sweep(Swarm& swarm, TimePoint now);
  // Sweeps only when some peer may have expired, so counts and selections never include an
  // expired peer while a swarm of live peers costs O(1) per announce (a sweep is O(peers) and
  // happens about once per TTL).
  size_t sweep_if_due(Swarm& swarm, TimePoint now);
  void evict_longest_silent(Swarm& swarm);
  // Brings the tracker under limits_.max_peers by dropping its idlest peers (see Limits). Takes
  // shard locks one at a time: never call it holding one.
  void evict_idlest();
  // The announce itself, under the shard's lock; nullptr after a "stopped" one. Throws
  // SwarmLimitError.
  Swarm* record(Shard& shard, const PeerAnnounce& a, TimePoint now, SwarmCounts& counts);
  static SwarmCounts counts_of(const Swarm& swarm);
  // Up to k distinct random positions of the swarm other than `skip` (n = none), in random order.
  std::vector<size_t> sample(const Swarm& swarm, size_t skip, size_t k, std::mt19937_64& rng);

  const Limits limits_;
  const Clock clock_;
  std::array<Shard, kShards> shards_;
  std::atomic<size_t> swarm_count_{0};
  std::atomic<size_t> total_peers_{0};
  std::mutex evict_mu_;  // one eviction pass at a time
};

}  // namespace fanout::tracker
