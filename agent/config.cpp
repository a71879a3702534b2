#include "agent/config.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <string_view>

#include "proto/peer_wire.h"

namespace fanout::agent {
namespace {

using config::check_http_url;
using config::check_ip_or_empty;
using config::check_log_level;
using config::check_not_empty;

void check_positive(const std::string& key, uint64_t value) {
  if (value == 0) throw config::ConfigError(key + ": must be at least 1");
}

void read_swarm(config::Reader r, swarm::Settings& s) {
  uint32_t threads = s.threads;
  r.get("threads", threads);
  s.threads = threads;
  r.get("disk_threads", s.disk_threads);
  r.get("read_threads", s.read_threads);
  r.get_size("block_size", s.block_size);
  r.get_size("receive_batch", s.receive_batch);
  r.get("pipeline_pieces", s.pipeline_pieces);
  r.get("max_pieces_in_flight", s.max_pieces_in_flight);
  r.get("upload_slots", s.upload_slots);
  r.get_size("hot_pieces", s.hot_piece_bytes);
  r.get("zero_copy_uploads", s.zero_copy_uploads);
  r.get("max_peers_per_blob", s.max_peers_per_blob);
  r.get("max_connections", s.max_connections);
  r.get("max_queued_requests", s.max_queued_requests);
  r.get_duration("announce_interval", s.announce_interval);
  r.get_duration("peer_timeout", s.peer_timeout);
  r.get_duration("peer_backoff", s.peer_backoff);
  r.get_duration("peer_rate_trust", s.peer_rate_trust);
  r.get_size("ingress_rate", s.ingress_bytes_per_sec);
  r.get_size("egress_rate", s.egress_bytes_per_sec);
  r.get_duration("fallback_after", s.fallback_after);
  r.finish();

  // A block must fit in one DATA frame (which also keeps it inside the smallest piece).
  if (s.block_size < 16u * 1024 || s.block_size > proto::wire::kMaxBlock) {
    throw config::ConfigError("swarm.block_size: must be between 16KiB and " +
                              std::to_string(proto::wire::kMaxBlock >> 10) + "KiB");
  }
  // A typo like 4000 would start thousands of threads per agent; no machine needs more than this.
  constexpr unsigned kMaxThreads = 256;
  if (s.threads > kMaxThreads) throw config::ConfigError("swarm.threads: must be at most 256");
  if (s.disk_threads > kMaxThreads) {
    throw config::ConfigError("swarm.disk_threads: must be at most 256");
  }
  // SO_RCVLOWAT takes an int, and the kernel holds at most half a receive buffer anyway.
  if (s.receive_batch > (16u << 20)) {
    throw config::ConfigError("swarm.receive_batch: must be at most 16MiB");
  }
  if (s.read_threads > kMaxThreads) {
    throw config::ConfigError("swarm.read_threads: must be at most 256");
  }
  check_positive("swarm.pipeline_pieces", s.pipeline_pieces);
  check_positive("swarm.max_pieces_in_flight", s.max_pieces_in_flight);
  check_positive("swarm.max_peers_per_blob", s.max_peers_per_blob);
  check_positive("swarm.max_connections", s.max_connections);
  check_positive("swarm.max_queued_requests", s.max_queued_requests);
  check_positive("swarm.announce_interval", s.announce_interval.count());
  check_positive("swarm.peer_timeout", s.peer_timeout.count());
  check_positive("swarm.peer_rate_trust", s.peer_rate_trust.count());
  check_positive("swarm.fallback_after", s.fallback_after.count());
}

void read_cache(config::Reader r, cache::CacheLimits& c) {
  r.get_size("max_size", c.max_bytes);
  r.get("high_watermark", c.high_watermark_percent);
  r.get("low_watermark", c.low_watermark_percent);
  r.finish();
  if (c.high_watermark_percent == 0 || c.high_watermark_percent > 100) {
    throw config::ConfigError("cache.high_watermark: must be a percentage between 1 and 100");
  }
  if (c.low_watermark_percent > c.high_watermark_percent) {
    throw config::ConfigError("cache.low_watermark: must not be above cache.high_watermark");
  }
}

// "MODEL@ALIAS", both parts non-empty.
void check_watch(const std::vector<std::string>& watch) {
  for (const auto& w : watch) {
    auto at = w.find('@');
    if (at == std::string::npos || at == 0 || at + 1 == w.size() ||
        w.find('@', at + 1) != std::string::npos) {
      throw config::ConfigError("watch: \"" + w + "\" is not MODEL@ALIAS");
    }
  }
}

// The tracker accepts the same alphabet in its announce parameters.
void check_label(const std::string& key, const std::string& value) {
  bool ok = value.size() <= 64 && std::all_of(value.begin(), value.end(), [](char ch) {
              return std::isalnum(static_cast<unsigned char>(ch)) || ch == '.' || ch == '_' ||
                     ch == ':' || ch == '-';
            });
  if (!ok) {
    throw config::ConfigError(key + ": \"" + value +
                              "\" must be at most 64 of A-Z a-z 0-9 . _ : -");
  }
}

}  // namespace

AgentConfig AgentConfig::read(const YAML::Node& root) {
  AgentConfig c;
  config::Reader r(root);
  r.get_host_port("listen", c.listen);
  r.get_host_port("peer_listen", c.peer_listen);
  r.get("advertise_host", c.advertise_host);
  r.get("zone", c.zone);
  r.get("rack", c.rack);
  r.get("tracker", c.tracker);
  r.get("trackers", c.trackers);
  r.get("origins", c.origins);
  r.get("cache_dir", c.cache_dir);
  read_cache(r.child("cache"), c.cache);
  r.get("direct_io", c.direct_io);
  r.get("whole_blob_hash", c.whole_blob_hash);
  r.get("metainfo_public_keys", c.metainfo_public_keys);
  r.get("watch", c.watch);
  r.get_duration("watch_interval", c.watch_interval);
  r.get_duration("fetch_timeout", c.fetch_timeout);
  r.get("log_level", c.log_level);
  read_swarm(r.child("swarm"), c.swarm);
  r.finish();

  check_ip_or_empty("advertise_host", c.advertise_host);
  check_label("zone", c.zone);
  check_label("rack", c.rack);
  check_http_url("tracker", c.tracker);
  for (const auto& url : c.trackers) check_http_url("trackers", url);
  for (const auto& origin : c.origins) check_http_url("origins", origin);
  check_not_empty("cache_dir", c.cache_dir);
  check_watch(c.watch);
  check_positive("watch_interval", c.watch_interval.count());
  check_positive("fetch_timeout", c.fetch_timeout.count());
  check_log_level("log_level", c.log_level);
  try {
    c.metainfo_verifier = proto::MetainfoVerifier::load(std::vector<std::filesystem::path>(
        c.metainfo_public_keys.begin(), c.metainfo_public_keys.end()));
  } catch (const proto::MetainfoKeyError& e) {
    throw config::ConfigError(std::string("metainfo_public_keys: ") + e.what());
  }

  c.swarm.listen_host = c.peer_listen.host;
  c.swarm.listen_port = c.peer_listen.port;
  c.swarm.advertise_host = c.advertise_host;
  c.swarm.zone = c.zone;
  c.swarm.rack = c.rack;
  c.swarm.is_origin = false;
  return c;
}

}  // namespace fanout::agent
