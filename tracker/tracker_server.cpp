#include "tracker/tracker_server.h"

#include <algorithm>
#include <array>
#include <random>
#include <string_view>

#include "common/http/http_error.h"
#include "common/log/log.h"
#include "proto/announce.h"
#include "proto/metainfo_signature.h"
#include "tracker/redis_peer_store.h"

namespace fanout::tracker {
namespace {

// The protocol counts whole seconds; config validation guarantees at least one.
std::chrono::seconds whole_seconds(std::chrono::milliseconds d) {
  return std::max(std::chrono::seconds(1), std::chrono::duration_cast<std::chrono::seconds>(d));
}

// Sweeping every half TTL keeps abandoned swarms' peers at most 1.5 TTL in memory.
std::chrono::milliseconds sweep_period(std::chrono::milliseconds ttl) {
  return std::max(std::chrono::milliseconds(100), ttl / 2);
}

std::string_view query_of(const std::string& target) {
  size_t q = target.find('?');
  return q == std::string::npos ? std::string_view() : std::string_view(target).substr(q + 1);
}

std::unique_ptr<PeerStore> make_store(const TrackerConfig& config, SwarmRegistry::Clock clock) {
  if (config.peer_store.type == "redis") {
    RedisPeerStore::Options options;
    options.address = config.peer_store.redis;
    options.key_prefix = config.peer_store.key_prefix;
    options.timeout = config.peer_store.redis_timeout;
    options.peer_ttl = config.peer_ttl;
    options.max_peers_per_swarm = config.max_peers_per_swarm;
    options.max_swarms = config.max_swarms;
    return std::make_unique<RedisPeerStore>(options);
  }
  return std::make_unique<SwarmRegistry>(
      SwarmRegistry::Limits{config.peer_ttl, config.max_peers_per_swarm, config.max_swarms,
                            config.max_peers},
      std::move(clock));
}

SelectionPolicy policy_of(const TrackerConfig& config) {
  SelectionPolicy p;
  p.origins_until_seeders = config.selection.origins_until_seeders;
  p.max_origins = config.selection.max_origins;
  p.max_num_want = config.max_num_want;
  p.outside_rack_share = config.selection.outside_rack_percent / 100.0;
  p.outside_zone_share = config.selection.outside_zone_percent / 100.0;
  return p;
}

constexpr size_t kKeepAliveRequests = 100000;

// Each request thread draws from its own generator: no lock, no shared state.
PeerSelector::Random& thread_random() {
  thread_local PeerSelector::Random random(std::random_device{}());
  return random;
}

}  // namespace

TrackerServer::TrackerServer(const TrackerConfig& config, metrics::Registry& registry,
                             SwarmRegistry::Clock clock, std::unique_ptr<PeerStore> store)
    : config_(config),
      metrics_(registry),
      store_(store ? std::move(store) : make_store(config, std::move(clock))),
      gauges_per_announce_(dynamic_cast<SwarmRegistry*>(store_.get()) != nullptr),
      selector_(policy_of(config)),
      metainfo_({config.origins}, metrics_.metainfo_fetches, metrics_.metainfo_cache_hits),
      http_("tracker", registry) {
  // Clients re-announce over one connection: httplib's default closes it after 5 requests, and
  // the reconnect (accept, a new request thread, TCP setup) cost more than the announce.
  http_.routes().set_keep_alive_max_count(kKeepAliveRequests);
  // But an idle kept-alive connection holds one of the server's request threads: with httplib's
  // 5 s idle timeout and agents announcing every 5 s, a fleet's connections held them all and
  // announces queued (fanout-bench, 20 agents: p50 ratio 4.2 instead of 2.3). Idle ones close
  // after 1 s; clients retry a GET on a connection closed while idle.
  http_.routes().set_keep_alive_timeout(1);
  if (config_.registry_enabled) {
    registry_ = registry::open_registry(config_.registry);
    aliases_ = std::make_unique<AliasResolver>(*registry_, config_.alias_cache, registry);
    register_alias_routes(http_.routes(), *aliases_, registry);
  }
  http_.routes().Get("/announce", [this](const httplib::Request& req, httplib::Response& res) {
    handle_announce(req, res);
  });
  http_.routes().Get("/scrape", [this](const httplib::Request& req, httplib::Response& res) {
    handle_scrape(req, res);
  });
  http_.routes().Get(
      R"(/v1/metainfo/([^/]+))",
      [this](const httplib::Request& req, httplib::Response& res) { handle_metainfo(req, res); });
}

TrackerServer::~TrackerServer() {
  stop();
}

uint16_t TrackerServer::start() {
  uint16_t port = http_.bind(config_.listen);
  http_.start();
  {
    std::lock_guard lock(sweep_mu_);
    stopping_ = false;
  }
  sweeper_ = std::thread([this] { sweep_loop(); });
  return port;
}

void TrackerServer::stop() {
  http_.stop();
  {
    std::lock_guard lock(sweep_mu_);
    stopping_ = true;
  }
  sweep_wake_.notify_all();
  if (sweeper_.joinable()) sweeper_.join();
}

void TrackerServer::sweep_loop() {
  std::unique_lock lock(sweep_mu_);
  while (
      !sweep_wake_.wait_for(lock, sweep_period(config_.peer_ttl), [this] { return stopping_; })) {
    lock.unlock();
    try {
      size_t dropped = store_->expire();
      refresh_gauges();
      metrics_.largest_swarm.set(static_cast<int64_t>(store_->largest_swarm()));
      if (dropped > 0) {
        spdlog::info("dropped {} silent peers; {} swarms, {} peers remain", dropped,
                     metrics_.swarms.value(), metrics_.peers.value());
      }
    } catch (const std::exception& e) {
      spdlog::warn("sweep failed: {}", e.what());
    }
    lock.lock();
  }
}

void TrackerServer::refresh_gauges() {
  metrics_.swarms.set(static_cast<int64_t>(store_->swarm_count()));
  metrics_.peers.set(static_cast<int64_t>(store_->peer_count()));
}

// Every outcome is HTTP 200 with a bencoded body: BitTorrent clients read a refusal from
// "failure reason", and a 4xx/5xx would only make them retry blindly.
void TrackerServer::handle_announce(const httplib::Request& req, httplib::Response& res) {
  metrics_.announces.inc();
  auto refuse = [&](const std::string& reason) {
    metrics_.announce_failures.inc();
    res.status = 200;
    res.set_content(proto::encode_announce_failure(reason), "text/plain");
  };
  try {
    proto::AnnounceRequest request = proto::parse_announce_query(query_of(req.target));
    PeerAnnounce announce;
    announce.info_hash = request.swarm_key();
    announce.digest = request.digest;
    announce.peer_id = request.peer_id;
    announce.port = request.port;
    announce.left = request.left;
    announce.event = request.event;
    announce.locality = {request.zone, request.rack};
    announce.origin = request.origin;
    if (request.ip) {
      announce.ip = *request.ip;
    } else if (auto source = proto::IpAddress::parse(req.remote_addr)) {
      announce.ip = *source;
    } else {
      refuse("cannot tell the peer's address; send the \"ip\" parameter");
      return;
    }

    SelectionRequest selection;
    selection.selector = &selector_;
    selection.num_want =
        std::min(request.num_want.value_or(config_.default_num_want), config_.max_num_want);
    selection.candidate_pool = config_.selection.candidate_pool;
    selection.requester_is_seeder = request.left == 0 && !request.origin;
    selection.want_peer_ids = !request.compact && !request.no_peer_id;
    selection.random = &thread_random();
    // Reused per request thread: an announce allocates no peer list of its own.
    thread_local proto::AnnounceResponse response;
    thread_local SelectedPeers selected;
    selected.clear();
    SwarmCounts counts = store_->announce_and_select(announce, selection, selected);
    for (size_t i = 0; i < kLocalityClassCount; ++i) {
      if (selected.by_class[i] > 0) metrics_.selected[i]->inc(selected.by_class[i]);
    }
    response.interval = whole_seconds(config_.announce_interval);
    response.min_interval = std::max(std::chrono::seconds(1), response.interval / 2);
    response.complete = counts.seeders;
    response.incomplete = counts.leechers;
    response.peers.swap(selected.peers);
    res.status = 200;
    res.set_content(proto::encode_announce_response(response, request.compact, !request.no_peer_id),
                    "text/plain");
    response.peers.swap(selected.peers);
    if (spdlog::should_log(spdlog::level::debug)) {
      spdlog::debug("announce {} from {}:{} event={} left={}: {} seeders, {} leechers, {} sent",
                    to_hex(reinterpret_cast<const uint8_t*>(announce.info_hash.data()), 20),
                    announce.ip.str(), announce.port, proto::event_name(request.event),
                    request.left, counts.seeders, counts.leechers, selected.peers.size());
    }
  } catch (const proto::ProtoError& e) {
    spdlog::info("refused announce from {}: {}", req.remote_addr, e.what());
    refuse(e.what());
  } catch (const SwarmLimitError& e) {
    spdlog::warn("refused announce from {}: {}", req.remote_addr, e.what());
    refuse(e.what());
  } catch (const PeerStoreError& e) {
    spdlog::error("announce from {} failed: {}", req.remote_addr, e.what());
    refuse(std::string("tracker storage unavailable: ") + e.what());
  } catch (const std::exception& e) {
    // Never a 500 on /announce: the client still gets a reason it can show.
    spdlog::error("announce from {} failed: {}", req.remote_addr, e.what());
    refuse(std::string("internal tracker error: ") + e.what());
  }
  if (gauges_per_announce_) refresh_gauges();
}

// BEP 48. Like announces, every outcome is HTTP 200 and bencoded.
void TrackerServer::handle_scrape(const httplib::Request& req, httplib::Response& res) {
  metrics_.scrapes.inc();
  res.status = 200;
  proto::ScrapeResponse response;
  try {
    proto::ScrapeRequest request = proto::parse_scrape_query(query_of(req.target));
    if (request.info_hashes.empty()) {
      // A full scrape lists every swarm: unbounded work and an inventory for anyone who asks.
      response.failure_reason = "scrape: name at least one info_hash (full scrapes are not served)";
    } else {
      for (const auto& hash : request.info_hashes) {
        ScrapeCounts counts = store_->scrape(hash.substr(0, 20));
        response.files.emplace_back(hash, proto::ScrapeFile{counts.peers.seeders, counts.downloaded,
                                                            counts.peers.leechers});
      }
    }
  } catch (const proto::ProtoError& e) {
    response.failure_reason = std::string(e.what());
  } catch (const std::exception& e) {
    spdlog::error("scrape from {} failed: {}", req.remote_addr, e.what());
    response.failure_reason = std::string("internal tracker error: ") + e.what();
  }
  if (!response.failure_reason.empty()) {
    metrics_.scrape_failures.inc();
    spdlog::info("refused scrape from {}: {}", req.remote_addr, response.failure_reason);
  }
  res.set_content(proto::encode_scrape_response(response), "text/plain");
}

void TrackerServer::handle_metainfo(const httplib::Request& req, httplib::Response& res) {
  Digest digest = http::parse_digest_param(req.matches[1]);
  std::shared_ptr<const CachedMetainfo> entry;
  try {
    entry = metainfo_.get(digest);
  } catch (const MetainfoError& e) {
    if (e.kind() == MetainfoError::Kind::kNotFound) {
      throw http::HttpError(404, "not_found", e.what());
    }
    throw http::HttpError(502, "origin_failed", e.what());
  }
  res.status = 200;
  if (!entry->signature.empty()) res.set_header(proto::kMetainfoSignatureHeader, entry->signature);
  res.set_content(entry->encoded, "application/octet-stream");
}

}  // namespace fanout::tracker
