// fanout-agent: the per-node daemon. Serves blobs to local processes, fetching missing ones
// through the swarm, and serves its cache to peers, until SIGTERM or SIGINT.
#include <CLI/CLI.hpp>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "agent/agent_metrics.h"
#include "agent/agent_server.h"
#include "agent/blob_fetcher.h"
#include "agent/config.h"
#include "common/config/config.h"
#include "common/http/http_server.h"
#include "common/log/log.h"
#include "common/metrics/metrics.h"
#include "common/store/blob_store.h"
#include "common/swarm/engine.h"
#include "common/tracker_client/http_tracker_client.h"

namespace {

constexpr int kExitConfigError = 2;

struct Flags {
  std::string config_file;
  std::vector<std::string> overrides;
  std::string listen, peer_listen, advertise_host, tracker, cache_dir, log_level;
};

// The file first, then --set, then the dedicated flags: the more specific wins.
fanout::agent::AgentConfig load_config(const Flags& flags) {
  YAML::Node root = fanout::config::load_file(flags.config_file);
  for (const auto& assignment : flags.overrides) fanout::config::apply_override(root, assignment);
  auto set = [&root](const char* key, const std::string& value) {
    if (!value.empty()) root[key] = value;
  };
  set("listen", flags.listen);
  set("peer_listen", flags.peer_listen);
  set("advertise_host", flags.advertise_host);
  set("tracker", flags.tracker);
  set("cache_dir", flags.cache_dir);
  set("log_level", flags.log_level);
  return fanout::agent::AgentConfig::read(root);
}

}  // namespace

int main(int argc, char** argv) {
  using namespace fanout;
  http::block_shutdown_signals();

  Flags flags;
  CLI::App app{"fanout-agent: serves blobs to this node, fetching them through the swarm"};
  app.add_option("--config", flags.config_file, "YAML config file");
  app.add_option("--set", flags.overrides, "Override a config key: KEY=VALUE (repeatable)");
  app.add_option("--listen", flags.listen, "Local HTTP API address, HOST:PORT");
  app.add_option("--peer-listen", flags.peer_listen, "Peer protocol address, HOST:PORT");
  app.add_option("--advertise-host", flags.advertise_host, "IP announced to the tracker");
  app.add_option("--tracker", flags.tracker, "Tracker base URL");
  app.add_option("--cache-dir", flags.cache_dir, "Local blob cache directory");
  app.add_option("--log-level", flags.log_level, "trace, debug, info, warn, error or off");
  CLI11_PARSE(app, argc, argv);

  agent::AgentConfig config;
  try {
    config = load_config(flags);
    log::init("agent", config.log_level);
  } catch (const config::ConfigError& e) {
    std::cerr << "fanout-agent: bad config: " << e.what() << "\n";
    return kExitConfigError;
  } catch (const YAML::Exception& e) {
    std::cerr << "fanout-agent: bad config: " << e.what() << "\n";
    return kExitConfigError;
  }

  try {
    metrics::Registry registry;
    agent::AgentMetrics metrics(registry);
    swarm::EngineMetrics engine_metrics(registry, "fanout_agent");

    auto tracker = std::make_shared<tracker_client::HttpTrackerClient>(config.tracker);
    swarm::Engine engine(config.swarm, tracker, engine_metrics);
    engine.start();

    // Blobs already in the cache are served locally but not re-seeded after a restart: their
    // metainfo is not kept on disk yet.
    BlobStore cas(config.cache_dir);
    agent::BlobFetcher fetcher(
        cas, [&tracker](const Digest& digest) { return tracker->fetch_metainfo(digest); },
        [&engine, &cas](const proto::Metainfo& info) { return engine.fetch(info, cas); }, metrics,
        config.fetch_timeout);

    agent::AgentServer server(fetcher, registry, metrics);
    uint16_t port = server.bind(config.listen);
    server.start();
    spdlog::info("listening on {} (HTTP) and {} (peers{}); tracker {}; cache {}",
                 config::HostPort{config.listen.host, port}.str(),
                 config::HostPort{config.peer_listen.host, engine.listen_port()}.str(),
                 config.advertise_host.empty() ? "" : ", advertised as " + config.advertise_host,
                 config.tracker, config.cache_dir);

    std::string signal = http::wait_for_shutdown_signal();
    spdlog::info("{} received, stopping", signal);
    fetcher.shutdown();  // releases requests waiting on fetches, so the server can stop
    server.stop();
    engine.stop();
    spdlog::info("stopped");
  } catch (const std::exception& e) {
    spdlog::critical("{}", e.what());
    return 1;
  }
  return 0;
}
