#include "tracker/swarm_registry.h"

#include <algorithm>
#include <unordered_set>

namespace fanout::tracker {

SwarmRegistry::SwarmRegistry(Limits limits, Clock clock, uint64_t seed)
    : limits_(limits), clock_(std::move(clock)), rng_(seed) {}

bool SwarmRegistry::expired(const Peer& peer, TimePoint now) const {
  return now - peer.last_announce > limits_.peer_ttl;
}

void SwarmRegistry::remove_at(Swarm& swarm, size_t index) {
  Peer& victim = swarm.peers[index];
  if (victim.left == 0) --swarm.seeders;
  if (victim.origin) std::erase(swarm.origin_ids, victim.peer_id);
  swarm.position.erase(victim.peer_id);
  if (index + 1 != swarm.peers.size()) {
    victim = std::move(swarm.peers.back());
    swarm.position[victim.peer_id] = index;
  }
  swarm.peers.pop_back();
  --total_peers_;
}

size_t SwarmRegistry::sweep(Swarm& swarm, TimePoint now) {
  size_t removed = 0;
  TimePoint oldest = now;
  for (size_t i = 0; i < swarm.peers.size();) {
    if (expired(swarm.peers[i], now)) {
      remove_at(swarm, i);  // moves the last peer into i: look at i again
      ++removed;
    } else {
      oldest = std::min(oldest, swarm.peers[i].last_announce);
      ++i;
    }
  }
  swarm.oldest_announce = oldest;
  return removed;
}

size_t SwarmRegistry::sweep_if_due(Swarm& swarm, TimePoint now) {
  return now - swarm.oldest_announce > limits_.peer_ttl ? sweep(swarm, now) : 0;
}

void SwarmRegistry::evict_longest_silent(Swarm& swarm) {
  auto oldest = std::min_element(
      swarm.peers.begin(), swarm.peers.end(),
      [](const Peer& a, const Peer& b) { return a.last_announce < b.last_announce; });
  remove_at(swarm, static_cast<size_t>(oldest - swarm.peers.begin()));
}

SwarmCounts SwarmRegistry::counts_of(const Swarm& swarm) {
  return {swarm.seeders, static_cast<uint32_t>(swarm.peers.size()) - swarm.seeders};
}

SwarmCounts SwarmRegistry::announce(const PeerAnnounce& a) {
  std::lock_guard lock(mu_);
  TimePoint now = clock_();
  auto it = swarms_.find(a.info_hash);

  if (a.event == proto::AnnounceEvent::kStopped) {
    if (it == swarms_.end()) return {};
    Swarm& swarm = it->second;
    sweep_if_due(swarm, now);
    if (auto pos = swarm.position.find(a.peer_id); pos != swarm.position.end()) {
      remove_at(swarm, pos->second);
    }
    SwarmCounts counts = counts_of(swarm);
    if (swarm.peers.empty()) swarms_.erase(it);
    return counts;
  }

  if (it == swarms_.end()) {
    if (swarms_.size() >= limits_.max_swarms) {
      throw SwarmLimitError("tracker already holds " + std::to_string(limits_.max_swarms) +
                            " swarms");
    }
    it = swarms_.emplace(a.info_hash, Swarm{}).first;
    it->second.oldest_announce = now;
  }
  Swarm& swarm = it->second;
  // The first digest given names the swarm's blob for good: a later client cannot re-point it.
  if (a.digest && !swarm.digest) swarm.digest = a.digest;
  sweep_if_due(swarm, now);

  if (auto pos = swarm.position.find(a.peer_id); pos != swarm.position.end()) {
    Peer& peer = swarm.peers[pos->second];
    if (peer.left == 0) --swarm.seeders;
    peer.ip = a.ip;
    peer.port = a.port;
    peer.left = a.left;
    peer.last_announce = now;
    peer.locality = a.locality;
    if (peer.left == 0) ++swarm.seeders;
    if (a.origin && !peer.origin) swarm.origin_ids.push_back(a.peer_id);
    if (!a.origin && peer.origin) std::erase(swarm.origin_ids, a.peer_id);
    peer.origin = a.origin;
  } else {
    // Expired peers are already gone (sweep_if_due above): evict a live one.
    if (swarm.peers.size() >= limits_.max_peers_per_swarm) evict_longest_silent(swarm);
    swarm.position.emplace(a.peer_id, swarm.peers.size());
    swarm.peers.push_back(Peer{a.peer_id, a.ip, a.port, a.left, now, a.locality, a.origin});
    if (a.left == 0) ++swarm.seeders;
    if (a.origin) swarm.origin_ids.push_back(a.peer_id);
    ++total_peers_;
  }
  if (a.event == proto::AnnounceEvent::kCompleted) ++swarm.completed;
  return counts_of(swarm);
}

std::vector<size_t> SwarmRegistry::sample(const Swarm& swarm, size_t skip, size_t k) {
  size_t n = swarm.peers.size();
  size_t candidates = skip < n ? n - 1 : n;
  auto position = [&](size_t i) { return i < skip ? i : i + 1; };
  k = std::min(k, candidates);
  std::vector<size_t> out;
  out.reserve(k);
  if (k == candidates) {
    for (size_t i = 0; i < candidates; ++i) out.push_back(position(i));
  } else {
    // Floyd's algorithm: k distinct indices in O(k), whatever the swarm's size.
    std::unordered_set<size_t> chosen;
    chosen.reserve(k * 2);
    for (size_t j = candidates - k; j < candidates; ++j) {
      size_t t = std::uniform_int_distribution<size_t>(0, j)(rng_);
      size_t pick = chosen.insert(t).second ? t : (chosen.insert(j), j);
      out.push_back(position(pick));
    }
  }
  // Floyd's order is biased towards high indices and the full-swarm case is in storage order:
  // shuffle so clients that dial the first few peers spread their connections evenly.
  std::shuffle(out.begin(), out.end(), rng_);
  return out;
}

std::vector<StoredPeer> SwarmRegistry::candidates(const std::string& info_hash,
                                                  const std::string& exclude_peer_id,
                                                  size_t limit) {
  std::lock_guard lock(mu_);
  std::vector<StoredPeer> out;
  auto it = swarms_.find(info_hash);
  if (it == swarms_.end()) return out;
  Swarm& swarm = it->second;
  sweep_if_due(swarm, clock_());
  if (swarm.peers.empty()) {
    swarms_.erase(it);
    return out;
  }
  auto self = swarm.position.find(exclude_peer_id);
  size_t skip = self == swarm.position.end() ? swarm.peers.size() : self->second;
  auto take = [&](size_t i) {
    const Peer& p = swarm.peers[i];
    out.push_back(StoredPeer{p.peer_id, p.ip, p.port, p.locality, p.left == 0, p.origin});
  };
  std::vector<size_t> picked = sample(swarm, skip, limit);
  bool sampled = picked.size() + (skip < swarm.peers.size() ? 1 : 0) < swarm.peers.size();
  out.reserve(picked.size() + (sampled ? swarm.origin_ids.size() : 0));
  for (size_t i : picked) take(i);
  if (sampled) {
    // Origins are few and peer selection needs them while agents lack the blob.
    std::unordered_set<size_t> have(picked.begin(), picked.end());
    for (const auto& id : swarm.origin_ids) {
      size_t i = swarm.position.at(id);
      if (i != skip && !have.count(i)) take(i);
    }
  }
  return out;
}

ScrapeCounts SwarmRegistry::scrape(const std::string& info_hash) {
  std::lock_guard lock(mu_);
  auto it = swarms_.find(info_hash);
  if (it == swarms_.end()) return {};
  sweep_if_due(it->second, clock_());
  ScrapeCounts counts{counts_of(it->second), it->second.completed};
  if (it->second.peers.empty()) swarms_.erase(it);
  return counts;
}

std::vector<proto::AnnouncePeer> SwarmRegistry::select_peers(const std::string& info_hash,
                                                             const std::string& requester_peer_id,
                                                             uint32_t num_want) {
  std::lock_guard lock(mu_);
  std::vector<proto::AnnouncePeer> out;
  auto it = swarms_.find(info_hash);
  if (it == swarms_.end() || num_want == 0) return out;
  Swarm& swarm = it->second;
  sweep_if_due(swarm, clock_());
  if (swarm.peers.empty()) {
    swarms_.erase(it);
    return out;
  }
  auto self = swarm.position.find(requester_peer_id);
  size_t skip = self == swarm.position.end() ? swarm.peers.size() : self->second;
  for (size_t i : sample(swarm, skip, num_want)) {
    const Peer& p = swarm.peers[i];
    out.push_back(proto::AnnouncePeer{p.ip, p.port, p.peer_id});
  }
  return out;
}

SwarmCounts SwarmRegistry::counts(const std::string& info_hash) {
  std::lock_guard lock(mu_);
  auto it = swarms_.find(info_hash);
  if (it == swarms_.end()) return {};
  sweep_if_due(it->second, clock_());
  SwarmCounts counts = counts_of(it->second);
  if (it->second.peers.empty()) swarms_.erase(it);
  return counts;
}

std::optional<Digest> SwarmRegistry::digest_of(const std::string& info_hash) {
  std::lock_guard lock(mu_);
  auto it = swarms_.find(info_hash);
  if (it == swarms_.end()) return std::nullopt;
  return it->second.digest;
}

size_t SwarmRegistry::expire() {
  std::lock_guard lock(mu_);
  TimePoint now = clock_();
  size_t removed = 0;
  for (auto it = swarms_.begin(); it != swarms_.end();) {
    removed += sweep_if_due(it->second, now);
    it = it->second.peers.empty() ? swarms_.erase(it) : std::next(it);
  }
  return removed;
}

size_t SwarmRegistry::swarm_count() {
  std::lock_guard lock(mu_);
  return swarms_.size();
}

size_t SwarmRegistry::peer_count() {
  std::lock_guard lock(mu_);
  return total_peers_;
}

size_t SwarmRegistry::largest_swarm() {
  std::lock_guard lock(mu_);
  size_t largest = 0;
  for (const auto& [key, swarm] : swarms_) largest = std::max(largest, swarm.peers.size());
  return largest;
}

}  // namespace fanout::tracker
