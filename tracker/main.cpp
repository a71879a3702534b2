// fanout-tracker: reads its config, serves /announce and /v1/metainfo until SIGTERM or SIGINT.
#include <CLI/CLI.hpp>
#include <iostream>
#include <string>
#include <vector>

#include "common/config/config.h"
#include "common/http/http_server.h"
#include "common/log/log.h"
#include "common/metrics/metrics.h"
#include "tracker/config.h"
#include "tracker/tracker_server.h"

namespace {

constexpr int kExitConfigError = 2;

struct Flags {
  std::string config_file;
  std::vector<std::string> overrides;
  std::string listen;
  std::vector<std::string> origins;
  std::string registry;
  std::string log_level;
};

// The file first, then --set, then the dedicated flags: the more specific wins.
fanout::tracker::TrackerConfig load_config(const Flags& flags) {
  using fanout::config::apply_override;
  YAML::Node root = fanout::config::load_file(flags.config_file);
  for (const auto& assignment : flags.overrides) apply_override(root, assignment);
  if (!flags.listen.empty()) root["listen"] = flags.listen;
  if (!flags.origins.empty()) {
    YAML::Node list(YAML::NodeType::Sequence);
    for (const auto& origin : flags.origins) list.push_back(origin);
    root["origins"] = list;
  }
  if (!flags.registry.empty()) root["registry"]["url"] = flags.registry;
  if (!flags.log_level.empty()) root["log_level"] = flags.log_level;
  return fanout::tracker::TrackerConfig::read(root);
}

}  // namespace

int main(int argc, char** argv) {
  fanout::http::block_shutdown_signals();

  Flags flags;
  CLI::App app{"fanout-tracker: BitTorrent HTTP tracker and metainfo cache for fanout swarms"};
  app.add_option("--config", flags.config_file, "YAML config file");
  app.add_option("--set", flags.overrides, "Override a config key: KEY=VALUE (repeatable)");
  app.add_option("--listen", flags.listen, "Address of the HTTP API, HOST:PORT");
  app.add_option("--origin", flags.origins, "Origin base URL for metainfo (repeatable)");
  app.add_option("--registry", flags.registry,
                 "Model registry for alias resolution: SQLite file or PostgreSQL conninfo");
  app.add_option("--log-level", flags.log_level, "trace, debug, info, warn, error or off");
  CLI11_PARSE(app, argc, argv);

  fanout::tracker::TrackerConfig config;
  try {
    config = load_config(flags);
    fanout::log::init("tracker", config.log_level);
  } catch (const fanout::config::ConfigError& e) {
    std::cerr << "fanout-tracker: bad config: " << e.what() << "\n";
    return kExitConfigError;
  } catch (const YAML::Exception& e) {
    std::cerr << "fanout-tracker: bad config: " << e.what() << "\n";
    return kExitConfigError;
  }

  try {
    fanout::metrics::Registry registry;
    fanout::tracker::TrackerServer server(config, registry);
    uint16_t port = server.start();
    std::string origins;
    for (const auto& o : config.origins) origins += (origins.empty() ? "" : ", ") + o;
    fanout::config::HostPort bound{config.listen.host, port};
    spdlog::info("listening on {} (origins: {}; interval {}s, peer ttl {}s)", bound.str(), origins,
                 config.announce_interval.count() / 1000, config.peer_ttl.count() / 1000);
    std::string signal = fanout::http::wait_for_shutdown_signal();
    spdlog::info("{} received, stopping", signal);
    server.stop();
    spdlog::info("stopped");
  } catch (const std::exception& e) {
    spdlog::critical("{}", e.what());
    return 1;
  }
  return 0;
}
