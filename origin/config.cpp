#include "origin/config.h"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <string_view>

namespace fanout::origin {
namespace {

// Value checks that config::Reader does not make. agent/config.cpp has the same ones; they
// belong in common/config/ once its owner takes them (see the notes).
void check_not_empty(const std::string& key, const std::string& value) {
  if (value.empty()) throw config::ConfigError(key + ": must not be empty");
}

void check_http_url(const std::string& key, const std::string& value) {
  std::string_view v = value;
  bool ok = (v.starts_with("http://") && v.size() > 7) || (v.starts_with("https://") && v.size() > 8);
  if (!ok) throw config::ConfigError(key + ": \"" + value + "\" is not an http:// or https:// URL");
}

void check_ip_or_empty(const std::string& key, const std::string& value) {
  in6_addr buf{};
  if (value.empty() || inet_pton(AF_INET, value.c_str(), &buf) == 1 ||
      inet_pton(AF_INET6, value.c_str(), &buf) == 1) {
    return;
  }
  throw config::ConfigError(key + ": \"" + value + "\" is not an IPv4 or IPv6 address");
}

void check_log_level(const std::string& key, const std::string& value) {
  static constexpr std::array<std::string_view, 6> kLevels = {"trace", "debug", "info",
                                                              "warn",  "error", "off"};
  if (std::find(kLevels.begin(), kLevels.end(), value) == kLevels.end()) {
    throw config::ConfigError(key + ": unknown level \"" + value +
                              "\" (trace, debug, info, warn, error, off)");
  }
}

}  // namespace

OriginConfig OriginConfig::read(const YAML::Node& root) {
  OriginConfig c;
  config::Reader r(root);
  r.get_host_port("listen", c.listen);
  r.get_host_port("peer_listen", c.peer_listen);
  r.get("advertise_host", c.advertise_host);
  r.get("tracker", c.tracker);
  config::Reader store = r.child("object_store");
  store.get("type", c.object_store.type);
  store.get("path", c.object_store.path);
  store.finish();
  r.get("cache_dir", c.cache_dir);
  r.get("log_level", c.log_level);
  r.finish();

  if (c.object_store.type != "directory") {
    throw config::ConfigError("object_store.type: unknown type \"" + c.object_store.type +
                              "\" (supported: directory)");
  }
  check_not_empty("object_store.path", c.object_store.path);
  check_not_empty("cache_dir", c.cache_dir);
  check_http_url("tracker", c.tracker);
  check_ip_or_empty("advertise_host", c.advertise_host);
  check_log_level("log_level", c.log_level);
  return c;
}

}  // namespace fanout::origin
