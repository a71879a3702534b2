#include "origin/config.h"

#include <string_view>

namespace fanout::origin {

using config::check_http_url;
using config::check_ip_or_empty;
using config::check_log_level;
using config::check_not_empty;

OriginConfig OriginConfig::read(const YAML::Node& root) {
  OriginConfig c;
  config::Reader r(root);
  r.get_host_port("listen", c.listen);
  r.get_host_port("peer_listen", c.peer_listen);
  r.get("advertise_host", c.advertise_host);
  r.get("tracker", c.tracker);
  r.get("trackers", c.trackers);
  config::Reader store = r.child("object_store");
  store.get("type", c.object_store.type);
  store.get("path", c.object_store.path);
  store.get("endpoint", c.object_store.endpoint);
  store.get("region", c.object_store.region);
  store.get("bucket", c.object_store.bucket);
  store.get("prefix", c.object_store.prefix);
  store.get("addressing", c.object_store.addressing);
  store.get("access_key_id", c.object_store.access_key_id);
  store.get("secret_access_key", c.object_store.secret_access_key);
  store.get("session_token", c.object_store.session_token);
  store.get_duration("timeout", c.object_store.timeout);
  store.get_size("multipart_threshold", c.object_store.multipart_threshold);
  store.get_size("multipart_part_size", c.object_store.multipart_part_size);
  store.get("put_max_attempts", c.object_store.put_max_attempts);
  store.get_duration("put_retry_base_delay", c.object_store.put_retry_base_delay);
  store.get_duration("put_retry_max_delay", c.object_store.put_retry_max_delay);
  store.finish();
  config::Reader pull = r.child("pull");
  pull.get_size("part_size", c.pull.part_size);
  pull.get("concurrency", c.pull.concurrency);
  pull.get("max_attempts", c.pull.max_attempts);
  pull.get_duration("retry_base_delay", c.pull.retry_base_delay);
  pull.get_duration("retry_max_delay", c.pull.retry_max_delay);
  pull.finish();
  r.child("cluster");  // marks the key known; config::Reader has no list-of-mappings getter, so
                       // "origins" is read by hand below and the rest through a copy without it
  YAML::Node cluster_node =
      root.IsMap() && root["cluster"].IsMap() ? YAML::Clone(root["cluster"]) : YAML::Node();
  if (cluster_node.IsMap()) cluster_node.remove("origins");
  config::Reader cluster(cluster_node, "cluster.");
  cluster.get("self", c.cluster.self);
  cluster.get("replicas", c.cluster.replicas);
  cluster.finish();
  if (root.IsMap() && root["cluster"].IsMap() && root["cluster"]["origins"].IsDefined()) {
    YAML::Node list = root["cluster"]["origins"];
    if (!list.IsSequence())
      throw config::ConfigError("cluster.origins: expected a list of {id, url}");
    for (size_t i = 0; i < list.size(); ++i) {
      OriginMember m;
      config::Reader item(list[i], "cluster.origins[" + std::to_string(i) + "].");
      item.get("id", m.id);
      item.get("url", m.url);
      item.finish();
      check_not_empty(item.full("id"), m.id);
      check_http_url(item.full("url"), m.url);
      while (m.url.ends_with('/')) m.url.pop_back();
      for (const auto& other : c.cluster.origins) {
        if (other.id == m.id)
          throw config::ConfigError(item.full("id") + ": duplicate id \"" + m.id + "\"");
      }
      c.cluster.origins.push_back(std::move(m));
    }
  }
  r.get("cache_dir", c.cache_dir);
  r.get_size("cache_max_size", c.cache_max_size);
  r.get("direct_io", c.direct_io);
  r.get("reveal_slots", c.reveal_slots);
  r.get("reveal_pieces", c.reveal_pieces);
  r.get("metainfo_signing_key", c.metainfo_signing_key);
  r.get("log_level", c.log_level);
  r.finish();
  if (c.reveal_slots == 0) throw config::ConfigError("reveal_slots: must be at least 1");
  if (c.reveal_pieces == 0) throw config::ConfigError("reveal_pieces: must be at least 1");

  if (c.object_store.type == "directory") {
    check_not_empty("object_store.path", c.object_store.path);
  } else if (c.object_store.type == "s3") {
    check_http_url("object_store.endpoint", c.object_store.endpoint);
    check_not_empty("object_store.bucket", c.object_store.bucket);
    check_not_empty("object_store.region", c.object_store.region);
    if (c.object_store.addressing != "path" && c.object_store.addressing != "virtual") {
      throw config::ConfigError("object_store.addressing: \"" + c.object_store.addressing +
                                "\" is not path or virtual");
    }
    if (c.object_store.multipart_part_size < (5ull << 20)) {
      throw config::ConfigError("object_store.multipart_part_size: S3 needs at least 5MiB");
    }
  } else {
    throw config::ConfigError("object_store.type: unknown type \"" + c.object_store.type +
                              "\" (supported: directory, s3)");
  }
  if (c.pull.part_size == 0) throw config::ConfigError("pull.part_size: must be positive");
  if (c.pull.concurrency == 0) throw config::ConfigError("pull.concurrency: must be positive");
  if (c.pull.max_attempts == 0) throw config::ConfigError("pull.max_attempts: must be positive");
  if (c.object_store.put_max_attempts == 0) {
    throw config::ConfigError("object_store.put_max_attempts: must be positive");
  }
  if (c.cluster.replicas == 0) throw config::ConfigError("cluster.replicas: must be positive");
  if (!c.cluster.origins.empty()) {
    bool found = false;
    for (const auto& m : c.cluster.origins) found |= m.id == c.cluster.self;
    if (!found) {
      throw config::ConfigError("cluster.self: \"" + c.cluster.self +
                                "\" is not the id of any cluster.origins entry");
    }
  }
  check_not_empty("cache_dir", c.cache_dir);
  check_http_url("tracker", c.tracker);
  for (const auto& url : c.trackers) check_http_url("trackers", url);
  check_ip_or_empty("advertise_host", c.advertise_host);
  check_log_level("log_level", c.log_level);
  if (!c.metainfo_signing_key.empty()) {
    try {
      c.metainfo_signer = proto::MetainfoSigner::load(c.metainfo_signing_key);
    } catch (const proto::MetainfoKeyError& e) {
      throw config::ConfigError(std::string("metainfo_signing_key: ") + e.what());
    }
  }
  return c;
}

}  // namespace fanout::origin
