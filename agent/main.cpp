// fanout-agent: the per-node daemon. Serves blobs to local processes, fetching missing ones
// through the swarm, and serves its cache to peers, until SIGTERM or SIGINT.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "agent/agent_metrics.h"
#include "agent/agent_server.h"
#include "agent/blob_cache.h"
#include "agent/blob_fetcher.h"
#include "agent/config.h"
#include "agent/model_dirs.h"
#include "agent/origin_range_source.h"
#include "agent/pull_service.h"
#include "agent/tracker_model_resolver.h"
#include "common/config/config.h"
#include "common/http/http_server.h"
#include "common/log/log.h"
#include "common/metrics/metrics.h"
#include "common/store/blob_store.h"
#include "common/swarm/engine.h"
#include "common/tracker_client/ring_tracker_client.h"

namespace {

constexpr int kExitConfigError = 2;

struct Flags {
  std::string config_file;
  std::vector<std::string> overrides;
  std::string listen, peer_listen, advertise_host, zone, rack, tracker, cache_dir, log_level;
  std::vector<std::string> origins;
  std::string ingress_rate, egress_rate;
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
  set("zone", flags.zone);
  set("rack", flags.rack);
  set("tracker", flags.tracker);
  set("cache_dir", flags.cache_dir);
  set("log_level", flags.log_level);
  if (!flags.origins.empty()) {
    root["origins"] = YAML::Node(YAML::NodeType::Sequence);
    for (const auto& o : flags.origins) root["origins"].push_back(o);
  }
  if (!flags.ingress_rate.empty()) root["swarm"]["ingress_rate"] = flags.ingress_rate;
  if (!flags.egress_rate.empty()) root["swarm"]["egress_rate"] = flags.egress_rate;
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
  app.add_option("--zone", flags.zone, "Locality label: this node's zone");
  app.add_option("--rack", flags.rack, "Locality label: this node's rack");
  app.add_option("--tracker", flags.tracker, "Tracker base URL");
  app.add_option("--cache-dir", flags.cache_dir, "Local blob cache directory");
  app.add_option("--log-level", flags.log_level, "trace, debug, info, warn, error or off");
  app.add_option("--origin", flags.origins, "Origin base URL for the HTTP fallback (repeatable)");
  app.add_option("--ingress-rate", flags.ingress_rate,
                 "Download cap, bytes/s (e.g. 20MiB; 0 = none)");
  app.add_option("--egress-rate", flags.egress_rate, "Upload cap, bytes/s (e.g. 20MiB; 0 = none)");
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

    auto tracker = std::make_shared<tracker_client::RingTrackerClient>(
        config.trackers.empty() ? std::vector<std::string>{config.tracker} : config.trackers);
    std::shared_ptr<agent::OriginRangeSource> fallback;
    if (!config.origins.empty())
      fallback = std::make_shared<agent::OriginRangeSource>(config.origins);
    swarm::Engine engine(config.swarm, tracker, engine_metrics, fallback);

    BlobStore cas(config.cache_dir);
    cas.set_direct_io(config.direct_io);
    cas.set_whole_blob_hash(config.whole_blob_hash);
    const std::filesystem::path models_dir = std::filesystem::path(config.cache_dir) / "models";
    agent::BlobCache cache(cas, config.cache, metrics,
                           {.before_evict = [&engine](const Digest& d) { engine.remove(d); },
                            .bytes_uploaded =
                                [&engine](const Digest& d) {
                                  auto stats = engine.stats(d);
                                  return stats ? stats->bytes_uploaded : uint64_t{0};
                                },
                            .free_bytes = {},
                            .release_links =
                                [models_dir](const std::filesystem::path& blob) {
                                  agent::remove_model_dirs_linking(models_dir, blob);
                                }});
    agent::BlobCache::Inventory inventory = cache.load();

    engine.start();
    // Every complete blob whose metainfo is kept is served to peers again.
    for (const auto& info : inventory.complete) engine.seed(info, cas.path_of(info.digest));

    const proto::MetainfoVerifier& verifier = config.metainfo_verifier;
    agent::BlobFetcher fetcher(
        cas,
        [&tracker, &cache, &fallback, &verifier](const Digest& digest) {
          // A fetch interrupted by a restart resumes without asking the tracker, unless keys
          // now require a signature the saved metainfo lacks: then the tracker may have one.
          if (auto info = cache.metainfo(digest)) {
            proto::MetainfoWithSignature saved{*info, cache.metainfo_signature(digest)};
            if (verifier.empty() ||
                verifier.check(saved) == proto::MetainfoVerifier::Verdict::kValid) {
              return saved;
            }
          }
          try {
            auto got = tracker->fetch_metainfo(digest);
            // A tracker may hold a copy cached before the origins signed it, or signed with a
            // key since rotated away: an owning origin has the current signature.
            using Verdict = proto::MetainfoVerifier::Verdict;
            Verdict verdict = verifier.empty() ? Verdict::kValid : verifier.check(got);
            if (verdict != Verdict::kValid && fallback) {
              try {
                auto direct = fallback->metainfo(digest);
                if (verifier.check(direct) == Verdict::kValid) {
                  spdlog::info("metainfo of {}: the tracker's copy is {}; took the origin's",
                               digest.str(), proto::describe(verdict));
                  return direct;
                }
              } catch (const std::exception& origin_error) {
                spdlog::warn("{}", origin_error.what());
              }
            }
            return got;  // (refused by the fetcher, with the tracker's verdict, if unsigned)
          } catch (const tracker_client::TrackerClientError& e) {
            // The tracker is down or failing: an owning origin knows the metainfo too.
            using Kind = tracker_client::TrackerClientError::Kind;
            if (!fallback || e.kind() == Kind::kNotFound) throw;
            spdlog::warn("tracker: {}; asking the origins for the metainfo of {}", e.what(),
                         digest.str());
            try {
              return fallback->metainfo(digest);
            } catch (const std::exception& origin_error) {
              spdlog::warn("{}", origin_error.what());
              throw e;
            }
          }
        },
        [&engine, &cas](const proto::Metainfo& info, bool pieces_bound_to_digest) {
          return engine.fetch(info, cas, pieces_bound_to_digest);
        },
        metrics, config.fetch_timeout,
        {.on_hit = [&cache](const Digest& d) { cache.touch(d); },
         .before_fetch =
             [&cache](const proto::MetainfoWithSignature& m) {
               cache.make_room(m.metainfo);
               cache.save_metainfo(m.metainfo, m.signature);
             },
         .after_fetch = [&cache](const proto::Metainfo& info) { cache.admit(info.digest); }},
        config.metainfo_verifier);

    // Aliases are not sharded by digest: any tracker (with the registry) resolves them.
    agent::TrackerModelResolver resolver(config.trackers.empty() ? config.tracker
                                                                 : config.trackers.front());
    agent::PullService pulls(fetcher, cache, metrics, std::move(resolver), models_dir,
                             std::filesystem::path(config.cache_dir) / "watch.json");

    agent::AgentServer server(
        fetcher, registry, metrics,
        {.cache = &cache,
         .partial = {
             .prioritize = [&engine](
                               const Digest& d, uint64_t offset,
                               uint64_t length) { return engine.prioritize(d, offset, length); },
             .read = [&engine](const Digest& d, uint64_t offset, void* out,
                               size_t length) { return engine.read(d, offset, out, length); }},
         .pulls = &pulls});
    std::atomic<bool> stopping{false};
    server.set_ready(
        [&stopping, &cas] { return !stopping && ::access(cas.root().c_str(), W_OK) == 0; });
    uint16_t port = server.bind(config.listen);
    server.start();
    spdlog::info("listening on {} (HTTP) and {} (peers{}); tracker {}; cache {}",
                 config::HostPort{config.listen.host, port}.str(),
                 config::HostPort{config.peer_listen.host, engine.listen_port()}.str(),
                 config.advertise_host.empty() ? "" : ", advertised as " + config.advertise_host,
                 config.tracker, config.cache_dir);
    spdlog::info("cache: {} blobs, {} bytes; seeding {}; resuming {} interrupted fetches",
                 cache.index().count(), cache.index().total_bytes(), inventory.complete.size(),
                 inventory.incomplete.size());
    spdlog::info("metainfo: {}", verifier.empty()
                                     ? std::string("signatures not required; whole-blob hash ") +
                                           (config.whole_blob_hash ? "on" : "off")
                                     : "must be signed by one of " +
                                           std::to_string(verifier.key_count()) +
                                           " metainfo_public_keys; whole-blob hash skipped");
    for (const auto& info : inventory.incomplete) {
      metrics.resumed_fetches.inc();
      fetcher.begin(info.digest);
    }
    pulls.watch(config.watch, config.watch_interval);

    std::string signal = http::wait_for_shutdown_signal();
    spdlog::info("{} received, stopping", signal);
    stopping = true;  // /healthz says not ready at once
    pulls.shutdown();
    fetcher.shutdown();  // releases requests waiting on fetches, so the server can stop
    server.stop();
    // Piece bitmaps are saved as each piece lands; stopping the engine ends the writes cleanly.
    engine.stop();
    spdlog::info("stopped");
  } catch (const std::exception& e) {
    spdlog::critical("{}", e.what());
    return 1;
  }
  return 0;
}
