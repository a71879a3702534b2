#pragma once
// Swarm state in Redis, so several trackers share it: any tracker answers any announce with
// every peer the others heard. Each announce is one round trip (a Lua script run atomically by
// Redis), so concurrent trackers never see a half-applied announce. Times are wall-clock
// milliseconds computed here, so trackers must have roughly synchronised clocks (NTP).
//
// Keys, for a swarm with 40-hex-digit info-hash H under prefix P:
//   P swarm:H:peers    hash  peer id (hex) -> "ip|port|seeder|origin|zone|rack|last_ms"
//   P swarm:H:seen     zset  peer id (hex) scored by its last announce (expiry, eviction)
//   P swarm:H:seeders  set   peer ids with nothing left
//   P swarm:H:meta     hash  digest, completed
//   P swarms           zset  H scored by the swarm's last announce (swarm count and limit)
// Every per-swarm key also carries a Redis TTL of twice the peer TTL, so an abandoned swarm
// vanishes even if no tracker ever sweeps it.
#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "common/config/config.h"
#include "tracker/peer_store.h"

struct redisContext;

namespace fanout::tracker {

class RedisPeerStore : public PeerStore {
 public:
  using WallClock = std::function<int64_t()>;  // milliseconds since the epoch

  struct Options {
    config::HostPort address{"127.0.0.1", 6379};
    std::string key_prefix = "fanout:";
    std::chrono::milliseconds timeout{std::chrono::seconds(2)};
    std::chrono::milliseconds peer_ttl{std::chrono::seconds(30)};
    uint32_t max_peers_per_swarm = 10000;
    uint32_t max_swarms = 100000;
  };

  // Does not connect yet: connections are opened on first use and re-opened after an error.
  explicit RedisPeerStore(Options options, WallClock clock = &RedisPeerStore::system_ms);
  ~RedisPeerStore() override;
  RedisPeerStore(const RedisPeerStore&) = delete;
  RedisPeerStore& operator=(const RedisPeerStore&) = delete;

  // Sends PING; throws PeerStoreError when Redis does not answer.
  void ping();

  SwarmCounts announce(const PeerAnnounce& announce) override;
  std::vector<StoredPeer> candidates(const std::string& info_hash,
                                     const std::string& exclude_peer_id, size_t limit) override;
  ScrapeCounts scrape(const std::string& info_hash) override;
  std::optional<Digest> digest_of(const std::string& info_hash) override;
  // Trims the swarm list; peers expire lazily on announce and by their Redis TTL. Returns 0.
  size_t expire() override;
  size_t swarm_count() override;
  // Sums the live peers of every swarm: O(swarms), for the metrics sweep, not per announce.
  size_t peer_count() override;
  size_t largest_swarm() override;

  static int64_t system_ms();

 private:
  struct Reply;
  // Runs one command (argv) on a pooled connection; throws PeerStoreError.
  Reply command(const std::vector<std::string>& argv);
  std::string swarm_key(const std::string& info_hash, const char* suffix) const;
  // now - ttl in ms: an announce at or after it is live, an older one expired.
  std::string live_from() const;

  const Options options_;
  const WallClock clock_;
  std::mutex pool_mu_;
  std::vector<redisContext*> pool_;  // idle connections
};

}  // namespace fanout::tracker
