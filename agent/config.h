#pragma once
// fanout-agent's configuration: every key, its default (the member initialisers, the one place
// defaults are applied) and its meaning. The peer engine's knobs live under `swarm.` and are
// documented where they are declared, in common/swarm/settings.h.
#include <yaml-cpp/yaml.h>

#include <chrono>
#include <string>

#include "common/config/config.h"
#include "common/swarm/settings.h"

namespace fanout::agent {

struct AgentConfig {
  // The local HTTP API for serving processes on this node. Loopback by default: it serves any
  // blob to anyone who can reach it.
  config::HostPort listen{"127.0.0.1", 7200};
  // The peer protocol, reachable by the other agents and origins.
  config::HostPort peer_listen{"0.0.0.0", 7201};
  // The IP address announced to the tracker for peer_listen; empty lets the tracker use the
  // source address of our announces.
  std::string advertise_host;
  // Base URL of the tracker: metainfo lookups and announces.
  std::string tracker = "http://127.0.0.1:7000";
  // The local CAS of fetched blobs.
  std::string cache_dir = "agent-cache";
  // A GET that waits for a swarm fetch gives up (504) after this long; the fetch itself goes on,
  // and a later GET joins it.
  std::chrono::milliseconds fetch_timeout{std::chrono::minutes(30)};
  // trace, debug, info, warn, error, off.
  std::string log_level = "info";
  // swarm.threads, swarm.block_size, swarm.pipeline_pieces, swarm.max_peers_per_blob,
  // swarm.max_connections, swarm.max_queued_requests, swarm.announce_interval,
  // swarm.peer_timeout, swarm.peer_backoff. listen_host/listen_port and advertise_host come
  // from peer_listen and advertise_host above.
  swarm::Settings swarm;

  // Reads and validates a config tree (file plus overrides); throws config::ConfigError
  // naming the bad key.
  static AgentConfig read(const YAML::Node& root);
};

}  // namespace fanout::agent
