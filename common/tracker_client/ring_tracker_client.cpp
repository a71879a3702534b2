#include "common/tracker_client/ring_tracker_client.h"

#include <algorithm>
#include <stdexcept>

#include "common/log/log.h"

namespace fanout::tracker_client {

RingTrackerClient::RingTrackerClient(std::vector<std::string> tracker_urls, Options options)
    : ring_(tracker_urls.empty() ? throw std::invalid_argument("no tracker given")
                                 : std::move(tracker_urls)),
      options_(std::move(options)) {
  for (const auto& url : ring_.members()) {
    clients_.push_back(std::make_unique<HttpTrackerClient>(url, options_.http));
  }
  down_until_.resize(ring_.size());
}

std::vector<std::string> RingTrackerClient::route(const Digest& digest) const {
  std::vector<std::string> order = ring_.owners(digest, ring_.size());
  auto now = options_.clock();
  std::lock_guard lock(mu_);
  auto is_down = [&](const std::string& url) { return down_until_[index_of(url)] > now; };
  std::stable_partition(order.begin(), order.end(),
                        [&](const std::string& url) { return !is_down(url); });
  return order;
}

size_t RingTrackerClient::index_of(const std::string& url) const {
  return static_cast<size_t>(std::lower_bound(ring_.members().begin(), ring_.members().end(), url) -
                             ring_.members().begin());
}

template <typename Result, typename Call>
Result RingTrackerClient::first_answer(const Digest& digest, Call&& call) {
  std::vector<std::string> order = route(digest);
  for (size_t n = 0; n < order.size(); ++n) {
    const std::string& url = order[n];
    size_t i = index_of(url);
    try {
      Result answer = call(*clients_[i]);
      std::lock_guard lock(mu_);
      down_until_[i] = {};
      return answer;
    } catch (const TrackerClientError& e) {
      // A 404 for metainfo is the answer (the origins do not have the blob), not an outage.
      if (e.kind() == TrackerClientError::Kind::kNotFound || n + 1 == order.size()) throw;
      spdlog::warn("tracker {}: {}; trying {}", url, e.what(), order[n + 1]);
      std::lock_guard lock(mu_);
      down_until_[i] = options_.clock() + options_.down_for;
    }
  }
  throw std::logic_error("RingTrackerClient: empty ring");  // the constructor prevents it
}

swarm::AnnounceResponse RingTrackerClient::announce(const swarm::AnnounceRequest& request) {
  return first_answer<swarm::AnnounceResponse>(
      request.digest, [&](HttpTrackerClient& c) { return c.announce(request); });
}

proto::MetainfoWithSignature RingTrackerClient::fetch_metainfo(const Digest& digest) {
  return first_answer<proto::MetainfoWithSignature>(
      digest, [&](HttpTrackerClient& c) { return c.fetch_metainfo(digest); });
}

}  // namespace fanout::tracker_client
