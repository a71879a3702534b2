#include "tracker/config.h"

namespace fanout::tracker {
namespace {

// An origin is a base URL, scheme://host[:port]; a trailing '/' is dropped. Paths are refused
// because httplib's client takes scheme, host and port only.
std::string normalize_origin(std::string url) {
  size_t scheme_end = url.find("://");
  std::string scheme = scheme_end == std::string::npos ? "" : url.substr(0, scheme_end);
  if (scheme != "http" && scheme != "https") {
    throw config::ConfigError("origins: \"" + url + "\" is not an http:// or https:// URL");
  }
  if (!url.empty() && url.back() == '/') url.pop_back();
  size_t host = scheme_end + 3;
  if (host >= url.size() || url.find_first_of("/?#", host) != std::string::npos) {
    throw config::ConfigError("origins: \"" + url + "\" must be scheme://host[:port] only");
  }
  return url;
}

}  // namespace

TrackerConfig TrackerConfig::read(const YAML::Node& root) {
  TrackerConfig c;
  config::Reader r(root);
  r.get_host_port("listen", c.listen);
  r.get("origins", c.origins);
  r.get_duration("announce_interval", c.announce_interval);
  r.get_duration("peer_ttl", c.peer_ttl);
  r.get("max_peers_per_swarm", c.max_peers_per_swarm);
  r.get("max_swarms", c.max_swarms);
  r.get("max_peers", c.max_peers);
  r.get("max_num_want", c.max_num_want);
  r.get("default_num_want", c.default_num_want);
  r.get("log_level", c.log_level);
  config::Reader sel = r.child("selection");
  sel.get("origins_until_seeders", c.selection.origins_until_seeders);
  sel.get("max_origins", c.selection.max_origins);
  sel.get("outside_rack_percent", c.selection.outside_rack_percent);
  sel.get("outside_zone_percent", c.selection.outside_zone_percent);
  sel.get("candidate_pool", c.selection.candidate_pool);
  sel.finish();
  config::Reader store = r.child("peer_store");
  store.get("type", c.peer_store.type);
  store.get_host_port("redis", c.peer_store.redis);
  store.get("key_prefix", c.peer_store.key_prefix);
  store.get_duration("redis_timeout", c.peer_store.redis_timeout);
  store.finish();
  if (root["registry"]) {
    c.registry_enabled = true;
    config::Reader reg = r.child("registry");
    registry::read_registry_options(reg, c.registry);
  }
  config::Reader alias_cache = r.child("alias_cache");
  c.alias_cache = AliasResolverOptions::read(alias_cache);
  r.finish();

  if (c.origins.empty()) throw config::ConfigError("origins: at least one origin is needed");
  for (auto& origin : c.origins) origin = normalize_origin(origin);
  // The protocol speaks whole seconds.
  if (c.announce_interval < std::chrono::seconds(1)) {
    throw config::ConfigError("announce_interval: must be at least 1s");
  }
  if (c.peer_ttl <= c.announce_interval) {
    throw config::ConfigError("peer_ttl: must be longer than announce_interval");
  }
  if (c.max_peers_per_swarm == 0) throw config::ConfigError("max_peers_per_swarm: must be >= 1");
  if (c.max_swarms == 0) throw config::ConfigError("max_swarms: must be >= 1");
  if (c.max_num_want == 0) throw config::ConfigError("max_num_want: must be >= 1");
  if (c.default_num_want > c.max_num_want) {
    throw config::ConfigError("default_num_want: must not exceed max_num_want");
  }
  if (c.selection.outside_rack_percent > 100) {
    throw config::ConfigError("selection.outside_rack_percent: must be 0-100");
  }
  if (c.selection.outside_zone_percent > 100) {
    throw config::ConfigError("selection.outside_zone_percent: must be 0-100");
  }
  if (c.selection.candidate_pool < c.max_num_want) {
    throw config::ConfigError("selection.candidate_pool: must be at least max_num_want");
  }
  if (c.peer_store.type != "memory" && c.peer_store.type != "redis") {
    throw config::ConfigError("peer_store.type: must be memory or redis, got \"" +
                              c.peer_store.type + "\"");
  }
  if (c.peer_store.redis_timeout <= std::chrono::milliseconds(0)) {
    throw config::ConfigError("peer_store.redis_timeout: must be positive");
  }
  return c;
}

}  // namespace fanout::tracker
