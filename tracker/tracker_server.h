#pragma once
// The tracker's HTTP API: GET /announce and GET /scrape (BitTorrent HTTP tracker protocol) and
// GET /v1/metainfo/{digest}, on top of the common /healthz and /metrics, plus the background
// sweep that drops silent peers.
#include <httplib.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>

#include "common/http/http_server.h"
#include "common/metrics/metrics.h"
#include "tracker/alias_routes.h"
#include "tracker/config.h"
#include "tracker/metainfo_cache.h"
#include "tracker/peer_selector.h"
#include "tracker/peer_store.h"
#include "tracker/swarm_registry.h"
#include "tracker/tracker_metrics.h"

namespace fanout::tracker {

class TrackerServer {
 public:
  // The clock drives peer expiry in the in-memory store; tests pass a fake one. `store`
  // replaces the one config.peer_store names (tests inject one).
  TrackerServer(const TrackerConfig& config, metrics::Registry& registry,
                SwarmRegistry::Clock clock = &std::chrono::steady_clock::now,
                std::unique_ptr<PeerStore> store = nullptr);
  ~TrackerServer();  // stops
  TrackerServer(const TrackerServer&) = delete;
  TrackerServer& operator=(const TrackerServer&) = delete;

  // Binds config.listen (port 0 picks a free one), starts serving and sweeping; returns the port.
  // Throws std::runtime_error naming the address when it cannot listen.
  uint16_t start();
  // Stops serving and sweeping; safe to call more than once.
  void stop();

  uint16_t port() const { return http_.port(); }
  PeerStore& swarms() { return *store_; }
  MetainfoCache& metainfo() { return metainfo_; }

 private:
  void handle_announce(const httplib::Request& req, httplib::Response& res);
  void handle_scrape(const httplib::Request& req, httplib::Response& res);
  void handle_metainfo(const httplib::Request& req, httplib::Response& res);
  void refresh_gauges();
  void sweep_loop();

  const TrackerConfig config_;
  TrackerMetrics metrics_;
  std::unique_ptr<PeerStore> store_;
  // Redis counts cost a round trip per swarm: those gauges are refreshed by the sweep only.
  bool gauges_per_announce_ = true;
  PeerSelector selector_;
  MetainfoCache metainfo_;
  // Alias resolution (only with a registry configured).
  std::unique_ptr<registry::RegistryDb> registry_;
  std::unique_ptr<AliasResolver> aliases_;

  std::mutex sweep_mu_;
  std::condition_variable sweep_wake_;
  bool stopping_ = false;
  std::thread sweeper_;

  // Last member: destroyed first, so no request thread outlives the state it uses.
  http::HttpServer http_;
};

}  // namespace fanout::tracker
