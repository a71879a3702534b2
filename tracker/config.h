#pragma once
// The tracker's settings: one struct, each field's default is its member initialiser, read from
// YAML by TrackerConfig::read (every key optional; unknown keys and bad values name the key).
#include <yaml-cpp/yaml.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "common/config/config.h"

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
  // Cap on the peers returned by one announce, whatever numwant asks for.
  uint32_t max_num_want = 200;
  // Peers returned when an announce does not say numwant.
  uint32_t default_num_want = 50;
  // trace, debug, info, warn, error, off.
  std::string log_level = "info";

  // Reads and validates; throws config::ConfigError naming the key.
  static TrackerConfig read(const YAML::Node& root);
};

}  // namespace fanout::tracker
