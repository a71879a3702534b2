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
  r.get("max_num_want", c.max_num_want);
  r.get("default_num_want", c.default_num_want);
  r.get("log_level", c.log_level);
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
  return c;
}

}  // namespace fanout::tracker
