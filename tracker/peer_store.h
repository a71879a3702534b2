#pragma once
// Where the tracker keeps swarm state: one interface, two implementations chosen by config.
// SwarmRegistry (swarm_registry.h) keeps it in this process (the default; soft state rebuilt
// from announces after a restart); RedisPeerStore (redis_peer_store.h) keeps it in Redis so
// several trackers can share it.
#include <array>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/digest/digest.h"
#include "proto/announce.h"
#include "tracker/peer_selector.h"

namespace fanout::tracker {

// One peer's announce, as a store needs it (the HTTP layer resolves the address).
struct PeerAnnounce {
  std::string info_hash;         // the swarm key: 20 bytes
  std::optional<Digest> digest;  // the blob, when the client told us
  std::string peer_id;
  proto::IpAddress ip;
  uint16_t port = 0;
  uint64_t left = 0;
  proto::AnnounceEvent event = proto::AnnounceEvent::kNone;
  Locality locality;
  bool origin = false;
};

// A live peer of a swarm, as a store hands it to peer selection.
struct StoredPeer {
  std::string peer_id;
  proto::IpAddress ip;
  uint16_t port = 0;
  Locality locality;
  bool seeder = false;
  bool origin = false;
};

struct SwarmCounts {
  uint32_t seeders = 0;  // peers with nothing left to download
  uint32_t leechers = 0;
  friend bool operator==(const SwarmCounts&, const SwarmCounts&) = default;
};

// BEP 48's numbers for one swarm.
struct ScrapeCounts {
  SwarmCounts peers;
  uint64_t downloaded = 0;  // "completed" events seen while the swarm existed
};

// Thrown when a new swarm would exceed the store's maximum number of swarms.
class SwarmLimitError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Thrown when a store cannot answer (Redis unreachable, a malformed reply).
class PeerStoreError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// What announce_and_select needs besides the announce: who picks, and how many.
struct SelectionRequest {
  const PeerSelector* selector = nullptr;
  uint32_t num_want = 0;             // 0: record only
  size_t candidate_pool = 1000;      // candidates() limit
  bool requester_is_seeder = false;  // left == 0 and not an origin
  bool want_peer_ids = false;        // fill AnnouncePeer::peer_id (non-compact answers only)
  PeerSelector::Random* random = nullptr;
};

// The chosen peers, and how many of each locality class (for the metrics). Callers reuse one
// per thread: clear() keeps the capacity.
struct SelectedPeers {
  std::vector<proto::AnnouncePeer> peers;
  std::array<uint64_t, kLocalityClassCount> by_class{};
  void clear() {
    peers.clear();
    by_class.fill(0);
  }
};

class PeerStore {
 public:
  virtual ~PeerStore() = default;

  // Records an announce and returns the swarm's counts afterwards. A "stopped" announce removes
  // the peer (and an emptied swarm). A new peer in a full swarm replaces the longest silent one.
  // Throws SwarmLimitError when the announce would create one swarm too many.
  virtual SwarmCounts announce(const PeerAnnounce& announce) = 0;

  // The swarm's live peers except `exclude_peer_id`: all of them when there are at most `limit`,
  // otherwise a uniform random sample of `limit` plus every origin. Peer selection picks from
  // these, so `limit` bounds the work of one announce in a huge swarm.
  virtual std::vector<StoredPeer> candidates(const std::string& info_hash,
                                             const std::string& exclude_peer_id, size_t limit) = 0;

  // announce(), then (unless it is a "stopped" announce or num_want is 0) the selector's choice
  // among candidates(), appended to `out`. Stores override it when they can do both at once.
  virtual SwarmCounts announce_and_select(const PeerAnnounce& announce,
                                          const SelectionRequest& request, SelectedPeers& out);

  virtual ScrapeCounts scrape(const std::string& info_hash) = 0;
  // The blob digest a client gave for this swarm, if any did.
  virtual std::optional<Digest> digest_of(const std::string& info_hash) = 0;

  // Drops expired peers and emptied swarms; returns how many peers went.
  virtual size_t expire() = 0;
  virtual size_t swarm_count() = 0;
  virtual size_t peer_count() = 0;
  // Peers in the biggest swarm (a gauge; may be approximate or 0 where it is expensive).
  virtual size_t largest_swarm() = 0;
};

}  // namespace fanout::tracker
