#pragma once
// Announces and metainfo lookups routed over several trackers: trackers form a ring like the
// origins (placement::Ring, rendezvous hashing over the tracker URLs), so every agent and origin
// that lists the same trackers sends a blob's announces to the same owner, which holds that
// swarm in memory. On failure the next owner in the ring's order is tried; a tracker that did
// not answer is tried last for a while, so a dead owner costs one timeout, not one per announce.
// With one tracker this is an HttpTrackerClient.
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/placement/ring.h"
#include "common/tracker_client/http_tracker_client.h"

namespace fanout::tracker_client {

struct RingTrackerClientOptions {
  TrackerClientOptions http;
  // How long a tracker that gave no usable answer is tried after the others.
  std::chrono::milliseconds down_for{std::chrono::seconds(10)};
  std::function<std::chrono::steady_clock::time_point()> clock = &std::chrono::steady_clock::now;
};

class RingTrackerClient : public swarm::PeerDiscovery {
 public:
  using Options = RingTrackerClientOptions;

  // tracker_urls: base URLs as HttpTrackerClient takes them, at least one, no duplicates; list
  // the same strings on every agent and origin (they are the ring's member ids). Throws
  // std::invalid_argument otherwise.
  explicit RingTrackerClient(std::vector<std::string> tracker_urls, Options options = {});

  // To the digest's owner first, then the next owners. Throws the last tracker's
  // TrackerClientError when none answered; std::invalid_argument (a bad request) at once.
  swarm::AnnounceResponse announce(const swarm::AnnounceRequest& request) override;
  // Same order; a 404 (no origin has the blob) is final, not a reason to ask the next tracker.
  proto::MetainfoWithSignature fetch_metainfo(const Digest& digest);

  // The trackers in the order they are tried for `digest`: ring order, trackers marked down last.
  std::vector<std::string> route(const Digest& digest) const;

 private:
  // Calls `call` on the trackers in route() order until one answers.
  template <typename Result, typename Call>
  Result first_answer(const Digest& digest, Call&& call);
  size_t index_of(const std::string& url) const;  // in ring_.members()

  placement::Ring ring_;
  Options options_;
  std::vector<std::unique_ptr<HttpTrackerClient>> clients_;  // parallel to ring_.members()
  mutable std::mutex mu_;
  std::vector<std::chrono::steady_clock::time_point> down_until_;  // parallel too
};

}  // namespace fanout::tracker_client
