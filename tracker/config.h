#pragma once
// The tracker's settings: one struct, each field's default is its member initialiser, read from
// YAML by TrackerConfig::read (every key optional; unknown keys and bad values name the key).
#include <yaml-cpp/yaml.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "common/config/config.h"
#include "common/registry/registry_config.h"
#include "tracker/alias_routes.h"

namespace fanout::tracker {

struct TrackerConfig {
  // Where the HTTP API (/announce, /v1/metainfo, /healthz, /metrics) listens.
  config::HostPort listen{"127.0.0.1", 7000};
  // Origins asked for a blob's metainfo, in order, until one has it. Base URLs.
  std::vector<std::string> origins{"http://127.0.0.1:7100"};
  // How often clients are told to re-announce ("interval"); "min interval" is half of it.
  std::chrono::milliseconds announce_interval{std::chrono::seconds(5)};
  // A peer not heard from for this long is dropped from its swarm. Must exceed
  // announce_interval, or live peers would flicker out between announces.
  std::chrono::milliseconds peer_ttl{std::chrono::seconds(30)};
  // A swarm keeps at most this many peers; a new one replaces the longest silent.
  uint32_t max_peers_per_swarm = 10000;
  // A new swarm beyond this many is refused (announce failure), bounding memory.
  uint32_t max_swarms = 100000;
  // Peers over all swarms (0 = no cap; memory is about 300 B a peer): a new peer beyond it
  // evicts the tracker's idlest peers first, 1% of the cap at a time.
  uint64_t max_peers = 2000000;
  // Cap on the peers returned by one announce, whatever numwant asks for.
  uint32_t max_num_want = 200;
  // Peers returned when an announce does not say numwant.
  uint32_t default_num_want = 50;
  // Peer selection (tracker/peer_selector.h): origins are offered while fewer than
  // origins_until_seeders agents hold the whole blob, at most max_origins per answer; these
  // percentages of every answer are kept for peers outside the requester's rack and zone.
  struct Selection {
    uint32_t origins_until_seeders = 3;
    uint32_t max_origins = 2;
    uint32_t outside_rack_percent = 25;
    uint32_t outside_zone_percent = 13;
    // Peers of a swarm considered per announce (a random sample beyond this, plus origins).
    uint32_t candidate_pool = 1000;
  } selection;
  // Where swarm state lives: "memory" (this process; the default) or "redis" (shared by every
  // tracker pointed at the same server).
  struct PeerStoreSettings {
    std::string type = "memory";
    config::HostPort redis{"127.0.0.1", 6379};
    // Prefix of every Redis key, so trackers of different fleets can share one server.
    std::string key_prefix = "fanout:";
    // Timeout of one Redis command (connect, read, write).
    std::chrono::milliseconds redis_timeout{std::chrono::seconds(2)};
  } peer_store;
  // The model registry behind GET /v1/models/{name}/aliases/{alias}: off unless a `registry`
  // section is given (registry.url: a SQLite file path or a PostgreSQL connection string).
  bool registry_enabled = false;
  registry::RegistryOptions registry;
  // Alias answers are cached for alias_cache.ttl; on PostgreSQL a flip also invalidates at once.
  AliasResolverOptions alias_cache;
  // trace, debug, info, warn, error, off.
  std::string log_level = "info";

  // Reads and validates; throws config::ConfigError naming the key.
  static TrackerConfig read(const YAML::Node& root);
};

}  // namespace fanout::tracker
