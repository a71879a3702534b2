#include "origin/replicator.h"

#include <httplib.h>

#include "common/log/log.h"

namespace fanout::origin {
Replicator::Replicator(ClusterConfig cluster)
    : cluster_(std::move(cluster)), ring_(cluster_.member_ids()) {
  if (ring_.size() > 1 && cluster_.replicas > 1) {
    worker_ = std::jthread([this](std::stop_token stop) { run(stop); });
  }
}

Replicator::~Replicator() {
  if (worker_.joinable()) {
    worker_.request_stop();
    cv_.notify_all();
  }
}

void Replicator::replicate(const Digest& digest) {
  if (!worker_.joinable()) return;
  {
    std::lock_guard lock(mu_);
    queue_.push_back(digest);
  }
  cv_.notify_all();
}

void Replicator::run(std::stop_token stop) {
  for (;;) {
    Digest digest;
    {
      std::unique_lock lock(mu_);
      if (!cv_.wait(lock, stop, [this] { return !queue_.empty(); })) return;
      digest = queue_.front();
      queue_.pop_front();
    }
    tell_owners(digest);
  }
}

void Replicator::tell_owners(const Digest& digest) {
  for (const auto& owner : ring_.owners(digest, cluster_.replicas)) {
    if (owner == cluster_.self) continue;
    std::string url;
    for (const auto& m : cluster_.origins) {
      if (m.id == owner) url = m.url;
    }
    httplib::Client client(url);
    client.set_connection_timeout(std::chrono::seconds(5));
    client.set_read_timeout(std::chrono::seconds(5));
    auto res = client.Post(httplib::append_query_params("/v1/blobs/" + digest.str() + "/prefetch",
                                                        {{"from", cluster_.self}}));
    if (res && res->status == 202) {
      spdlog::info("asked origin {} to copy {} from here", owner, digest.str());
    } else {
      spdlog::warn("could not ask origin {} to copy {}: {}", owner, digest.str(),
                   res ? "HTTP " + std::to_string(res->status) : httplib::to_string(res.error()));
    }
  }
}

}  // namespace fanout::origin
