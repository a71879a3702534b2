#pragma once
// fanout-agent's configuration: every key, its default (the member initialisers, the one place
// defaults are applied) and its meaning. The peer engine's knobs live under `swarm.` and are
// documented where they are declared, in common/swarm/settings.h.
#include <yaml-cpp/yaml.h>

#include <chrono>
#include <string>
#include <vector>

#include "common/cache/cache_index.h"
#include "common/config/config.h"
#include "common/swarm/settings.h"
#include "proto/metainfo_signature.h"

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
  // Locality labels sent with every announce: the tracker hands out peers of the same rack
  // first, then of the same zone. At most 64 of A-Z a-z 0-9 . _ : - each; empty = unknown.
  std::string zone;
  std::string rack;
  // Base URL of the tracker: metainfo lookups and announces.
  std::string tracker = "http://127.0.0.1:7000";
  // Several trackers (their base URLs, the same list on every node): each blob's announces go to
  // its owner on the trackers' rendezvous ring, then the next. Non-empty: replaces `tracker`.
  std::vector<std::string> trackers;
  // Origins' base URLs, for the HTTP fallback when the swarm makes no progress (see
  // swarm.fallback_after). Each blob tries them in the rendezvous order of its digest, so its
  // owning origin is asked first. Empty disables the fallback.
  std::vector<std::string> origins{"http://127.0.0.1:7100"};
  // The local CAS of fetched blobs, with the metainfo of every blob it holds or is fetching
  // (metainfo/<hex>), so fetches resume and blobs are seeded again after a restart.
  std::string cache_dir = "agent-cache";
  // cache.max_size (a size; 0 = no cap), cache.high_watermark and cache.low_watermark (percent
  // of max_size): above high, least recently used unpinned blobs are evicted down to low.
  cache::CacheLimits cache;
  // Piece data is written and read around the page cache (O_DIRECT) where the file system
  // allows it: new page-cache pages cost more than the network on VMs, and a rollout does not
  // evict the serving process's pages. false: through the page cache.
  bool direct_io = true;
  // For blobs whose metainfo is not signed by a key in metainfo_public_keys: published only once
  // the whole blob, hashed in order, equals the digest (besides every piece matching the
  // metainfo), since nothing else ties unsigned piece hashes to the digest. false: published on
  // verified pieces alone, trusting the tracker and origin path for the metainfo. The second
  // SHA-256 pass is sequential, so one blob cannot complete faster than one core hashes
  // (BlobStore::set_whole_blob_hash). Blobs with signed metainfo always skip it.
  bool whole_blob_hash = true;
  // PEM Ed25519 public keys of the origins' metainfo_signing_key (several during a key
  // rotation). Not empty: metainfo must carry a signature by one of them (a fetch refuses it
  // otherwise), and such blobs are published on their verified pieces alone.
  std::vector<std::string> metainfo_public_keys;
  // Aliases kept warm, "MODEL@ALIAS": each new version is pulled when the alias moves, and the
  // previous one stays pinned for a rollback.
  std::vector<std::string> watch;
  // How often watched aliases are resolved.
  std::chrono::milliseconds watch_interval{std::chrono::seconds(30)};
  // A GET that waits for a swarm fetch gives up (504) after this long; the fetch itself goes on,
  // and a later GET joins it.
  std::chrono::milliseconds fetch_timeout{std::chrono::minutes(30)};
  // trace, debug, info, warn, error, off.
  std::string log_level = "info";
  // swarm.threads, swarm.block_size, swarm.pipeline_pieces, swarm.max_peers_per_blob,
  // swarm.max_connections, swarm.max_queued_requests, swarm.announce_interval,
  // swarm.peer_timeout, swarm.peer_backoff, swarm.peer_rate_trust, swarm.fallback_after, and
  // swarm.ingress_rate and swarm.egress_rate (bytes per second, 0 = unlimited:
  // Settings::*_bytes_per_sec).
  // listen_host/listen_port and advertise_host come from peer_listen and advertise_host above.
  swarm::Settings swarm;

  // metainfo_public_keys, loaded by read() so a bad key file fails at start-up.
  proto::MetainfoVerifier metainfo_verifier;

  // Reads and validates a config tree (file plus overrides); throws config::ConfigError
  // naming the bad key.
  static AgentConfig read(const YAML::Node& root);
};

}  // namespace fanout::agent
