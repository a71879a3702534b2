#pragma once
// fanout-origin's configuration: every key, its default (the member initialisers, the one place
// defaults are applied) and its meaning.
#include <yaml-cpp/yaml.h>

#include <string>

#include "common/config/config.h"

namespace fanout::origin {

struct ObjectStoreConfig {
  // "directory" for now; "s3" comes later.
  std::string type = "directory";
  // For "directory": the root under which objects live as blobs/sha256/<hex>.
  std::string path = "objects";
};

struct OriginConfig {
  // The HTTP API (metainfo, ranged download, /healthz, /metrics).
  config::HostPort listen{"127.0.0.1", 7100};
  // The peer protocol, where agents fetch pieces from this origin's seeds.
  config::HostPort peer_listen{"0.0.0.0", 7101};
  // The IP address announced to the tracker for peer_listen; empty lets the tracker use the
  // source address of our announces.
  std::string advertise_host;
  // Base URL of the tracker the seeds are announced to.
  std::string tracker = "http://127.0.0.1:7000";
  ObjectStoreConfig object_store;
  // Local CAS of pulled blobs (blobs/sha256/..) and their metainfo (metainfo/<hex>).
  std::string cache_dir = "origin-cache";
  // trace, debug, info, warn, error, off.
  std::string log_level = "info";

  // Reads and validates a config tree (file plus overrides); throws config::ConfigError
  // naming the bad key.
  static OriginConfig read(const YAML::Node& root);
};

}  // namespace fanout::origin
