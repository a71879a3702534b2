#include "tracker/tracker_server.h"

#include <algorithm>
#include <string_view>

#include "common/http/http_error.h"
#include "common/log/log.h"
#include "proto/announce.h"

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

}  // namespace

TrackerServer::TrackerServer(const TrackerConfig& config, metrics::Registry& registry,
                             SwarmRegistry::Clock clock)
    : config_(config),
      metrics_(registry),
      swarms_({config.peer_ttl, config.max_peers_per_swarm, config.max_swarms}, std::move(clock)),
      metainfo_({config.origins}, metrics_.metainfo_fetches, metrics_.metainfo_cache_hits),
      http_("tracker", registry) {
  http_.routes().Get("/announce", [this](const httplib::Request& req, httplib::Response& res) {
    handle_announce(req, res);
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
    size_t dropped = swarms_.expire();
    refresh_gauges();
    if (dropped > 0) {
      spdlog::info("dropped {} silent peers; {} swarms, {} peers remain", dropped,
                   swarms_.swarm_count(), swarms_.peer_count());
    }
    lock.lock();
  }
}

void TrackerServer::refresh_gauges() {
  metrics_.swarms.set(static_cast<int64_t>(swarms_.swarm_count()));
  metrics_.peers.set(static_cast<int64_t>(swarms_.peer_count()));
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
    if (request.ip) {
      announce.ip = *request.ip;
    } else if (auto source = proto::IpAddress::parse(req.remote_addr)) {
      announce.ip = *source;
    } else {
      refuse("cannot tell the peer's address; send the \"ip\" parameter");
      return;
    }

    SwarmCounts counts = swarms_.announce(announce);
    proto::AnnounceResponse response;
    response.interval = whole_seconds(config_.announce_interval);
    response.min_interval = std::max(std::chrono::seconds(1), response.interval / 2);
    response.complete = counts.seeders;
    response.incomplete = counts.leechers;
    if (request.event != proto::AnnounceEvent::kStopped) {
      uint32_t want =
          std::min(request.num_want.value_or(config_.default_num_want), config_.max_num_want);
      response.peers = swarms_.select_peers(announce.info_hash, announce.peer_id, want);
    }
    res.status = 200;
    res.set_content(proto::encode_announce_response(response, request.compact, !request.no_peer_id),
                    "text/plain");
    spdlog::debug("announce {} from {}:{} event={} left={}: {} seeders, {} leechers, {} peers sent",
                  to_hex(reinterpret_cast<const uint8_t*>(announce.info_hash.data()), 20),
                  announce.ip.str(), announce.port, proto::event_name(request.event), request.left,
                  counts.seeders, counts.leechers, response.peers.size());
  } catch (const proto::ProtoError& e) {
    spdlog::info("refused announce from {}: {}", req.remote_addr, e.what());
    refuse(e.what());
  } catch (const SwarmLimitError& e) {
    spdlog::warn("refused announce from {}: {}", req.remote_addr, e.what());
    refuse(e.what());
  } catch (const std::exception& e) {
    // Never a 500 on /announce: the client still gets a reason it can show.
    spdlog::error("announce from {} failed: {}", req.remote_addr, e.what());
    refuse(std::string("internal tracker error: ") + e.what());
  }
  refresh_gauges();
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
  res.set_content(entry->encoded, "application/octet-stream");
}

}  // namespace fanout::tracker
