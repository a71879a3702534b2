#pragma once
// Where the peer engine learns about peers: the tracker in production (HttpTrackerClient in
// common/tracker_client/), a fixed list in tests.
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "common/digest/digest.h"

namespace fanout::swarm {

struct PeerAddress {
  std::string host;  // IPv4/IPv6 literal or name
  uint16_t port = 0;
  friend bool operator==(const PeerAddress&, const PeerAddress&) = default;
  friend auto operator<=>(const PeerAddress&, const PeerAddress&) = default;
  std::string str() const { return host + ":" + std::to_string(port); }
};

struct AnnounceRequest {
  Digest digest;        // the swarm is named by the blob digest alone
  std::string peer_id;  // 20 bytes
  uint16_t port = 0;    // our peer-protocol port
  std::string ip;       // announced address; empty = the tracker uses the source address
  uint64_t uploaded = 0;
  uint64_t downloaded = 0;
  uint64_t left = 0;  // 0 = seeder
  std::string event;  // "started", "completed", "stopped" or empty
  uint32_t num_want = 50;
  // Locality labels for the tracker's peer selection (`zone=`, `rack=`); empty = unknown.
  // At most 64 characters of A-Z a-z 0-9 . _ : -
  std::string zone;
  std::string rack;
  bool is_origin = false;  // sent as `origin=1`: an origin engine, a seeder of last resort
};

struct AnnounceResponse {
  std::vector<PeerAddress> peers;
  std::chrono::seconds interval{30};
};

class PeerDiscovery {
 public:
  virtual ~PeerDiscovery() = default;
  // Blocking; the engine calls it from its own announce thread, never from an event loop.
  // Throws std::exception on failure (the engine logs and retries).
  virtual AnnounceResponse announce(const AnnounceRequest& request) = 0;
};

}  // namespace fanout::swarm
