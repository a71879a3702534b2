#pragma once
// fanoutctl's settings: one struct, defaults as member initialisers, read from the YAML file given
// with --config, then --set KEY=VALUE, then the dedicated flags, then FANOUT_TOKEN /
// FANOUT_PROMOTE_TOKEN from the environment when no flag set them (so tokens need not be on a
// command line). Unknown keys and bad values are errors naming the key.
#include <yaml-cpp/yaml.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "common/registry/registry_db.h"

namespace fanout::cli {

struct CtlConfig {
  // The registry database (see common/registry/registry_config.h).
  registry::RegistryOptions registry;
  // Where push writes blobs: `directory` (objects at <path>/blobs/sha256/<hex>); S3 when the
  // object store factory lands (issue 3).
  std::string object_store_type = "directory";
  std::string object_store_path = "objects";
  // Origin base URLs prewarm and flip talk to; a non-owner redirects to the owner (307).
  std::vector<std::string> origins{"http://127.0.0.1:7100"};
  // Agent base URLs: prewarm --agents asks a share of them to pull (POST /v1/pulls, issue 5).
  std::vector<std::string> agents;
  // The tracker, for `resolve --tracker`.
  std::string tracker = "http://127.0.0.1:7000";
  // Bearer token for push, prewarm and flip; the promote token for protected aliases.
  std::string token;
  std::string promote_token;
  // Share of `agents` that must hold a version before flip accepts it (0: origins only).
  uint32_t prewarm_agents_percent = 0;
  std::chrono::milliseconds prewarm_poll_interval{500};
  std::chrono::milliseconds prewarm_timeout{std::chrono::minutes(30)};
  // HTTP timeouts towards origins and agents.
  std::chrono::milliseconds http_timeout{std::chrono::seconds(30)};

  static CtlConfig read(const YAML::Node& root);
};

}  // namespace fanout::cli
