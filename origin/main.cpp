// fanout-origin: pulls blobs from the object store on first request, verifies and seeds them,
// and serves them over HTTP, until SIGTERM or SIGINT.
#include <CLI/CLI.hpp>
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "common/config/config.h"
#include "common/http/http_server.h"
#include "common/log/log.h"
#include "common/metrics/metrics.h"
#include "common/store/blob_store.h"
#include "common/swarm/engine.h"
#include "common/tracker_client/ring_tracker_client.h"
#include "origin/blob_puller.h"
#include "origin/config.h"
#include "origin/object_store_factory.h"
#include "origin/origin_metrics.h"
#include "origin/origin_server.h"
#include "origin/replicator.h"

namespace {

constexpr int kExitConfigError = 2;

struct Flags {
  std::string config_file;
  std::vector<std::string> overrides;
  std::string listen, peer_listen, advertise_host, tracker, object_store_dir, cache_dir, log_level;
};

// The file first, then --set, then the dedicated flags: the more specific wins.
fanout::origin::OriginConfig load_config(const Flags& flags) {
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
  if (!flags.object_store_dir.empty()) {
    root["object_store"]["type"] = "directory";
    root["object_store"]["path"] = flags.object_store_dir;
  }
  return fanout::origin::OriginConfig::read(root);
}

}  // namespace

int main(int argc, char** argv) {
  using namespace fanout;
  http::block_shutdown_signals();

  Flags flags;
  CLI::App app{"fanout-origin: pulls blobs from object storage once, verifies and seeds them"};
  app.add_option("--config", flags.config_file, "YAML config file");
  app.add_option("--set", flags.overrides, "Override a config key: KEY=VALUE (repeatable)");
  app.add_option("--listen", flags.listen, "HTTP API address, HOST:PORT");
  app.add_option("--peer-listen", flags.peer_listen, "Peer protocol address, HOST:PORT");
  app.add_option("--advertise-host", flags.advertise_host, "IP announced to the tracker");
  app.add_option("--tracker", flags.tracker, "Tracker base URL");
  app.add_option("--object-store-dir", flags.object_store_dir, "Directory object store root");
  app.add_option("--cache-dir", flags.cache_dir, "Local blob cache directory");
  app.add_option("--log-level", flags.log_level, "trace, debug, info, warn, error or off");
  CLI11_PARSE(app, argc, argv);

  origin::OriginConfig config;
  try {
    config = load_config(flags);
    log::init("origin", config.log_level);
  } catch (const config::ConfigError& e) {
    std::cerr << "fanout-origin: bad config: " << e.what() << "\n";
    return kExitConfigError;
  } catch (const YAML::Exception& e) {
    std::cerr << "fanout-origin: bad config: " << e.what() << "\n";
    return kExitConfigError;
  }
  try {
    origin::make_object_store(config.object_store);  // credentials and endpoint checked up front
  } catch (const std::exception& e) {
    std::cerr << "fanout-origin: bad config: " << e.what() << "\n";
    return kExitConfigError;
  }

  try {
    metrics::Registry registry;
    origin::OriginMetrics metrics(registry);
    swarm::EngineMetrics engine_metrics(registry, "fanout_origin");

    swarm::Settings settings;
    settings.is_origin = true;
    settings.reveal_slots = config.reveal_slots;
    settings.reveal_pieces = config.reveal_pieces;
    settings.upload_slots = 0;  // its reveal turns already choose whom it feeds
    settings.listen_host = config.peer_listen.host;
    settings.listen_port = config.peer_listen.port;
    settings.advertise_host = config.advertise_host;
    auto tracker = std::make_shared<tracker_client::RingTrackerClient>(
        config.trackers.empty() ? std::vector<std::string>{config.tracker} : config.trackers);
    swarm::Engine engine(settings, tracker, engine_metrics);
    engine.start();

    std::unique_ptr<ObjectStore> objects = origin::make_object_store(
        config.object_store, [&metrics] { metrics.objectstore_retries.inc(); });
    BlobStore cas(config.cache_dir);
    cas.set_direct_io(config.direct_io);
    // Declared before the puller, whose pulls may still call it while it is destroyed.
    origin::Replicator replicator(config.cluster);
    origin::PullOptions pull;
    pull.part_size = config.pull.part_size;
    pull.concurrency = config.pull.concurrency;
    pull.max_attempts = config.pull.max_attempts;
    pull.retry_base_delay = config.pull.retry_base_delay;
    pull.retry_max_delay = config.pull.retry_max_delay;
    origin::BlobPuller puller(
        *objects, cas, std::filesystem::path(config.cache_dir) / "metainfo",
        [&engine](const proto::Metainfo& info, const std::filesystem::path& file) {
          engine.seed(info, file);
        },
        metrics, pull);
    puller.set_cache_cap(
        config.cache_max_size, [&engine](const Digest& digest) { engine.remove(digest); },
        [&engine](const Digest& digest) {
          auto stats = engine.stats(digest);
          return stats && stats->connections > 0;
        });
    puller.set_on_fetched([&replicator](const Digest& digest) { replicator.replicate(digest); });
    size_t reseeded = puller.reseed_cached();

    origin::OriginServer server(puller, registry, metrics, config.cluster, config.metainfo_signer);
    uint16_t port = server.bind(config.listen);
    server.start();
    spdlog::info(
        "listening on {} (HTTP) and {} (peers{}); tracker {}; {}; cache {}; reseeded {}; "
        "metainfo {}",
        config::HostPort{config.listen.host, port}.str(),
        config::HostPort{config.peer_listen.host, engine.listen_port()}.str(),
        config.advertise_host.empty() ? "" : ", advertised as " + config.advertise_host,
        config.tracker, objects->describe(), config.cache_dir, reseeded,
        config.metainfo_signer ? "signed with " + config.metainfo_signing_key : "unsigned");

    std::string signal = http::wait_for_shutdown_signal();
    spdlog::info("{} received, stopping", signal);
    server.stop();
    engine.stop();
    spdlog::info("stopped");
  } catch (const std::exception& e) {
    spdlog::critical("{}", e.what());
    return 1;
  }
  return 0;
}
