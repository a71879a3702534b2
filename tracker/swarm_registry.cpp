#include "tracker/swarm_registry.h"

#include <algorithm>
#include <unordered_set>

namespace fanout::tracker {

SwarmRegistry::SwarmRegistry(Limits limits, Clock clock, uint64_t seed)
    : limits_(limits), clock_(std::move(clock)) {
  for (size_t i = 0; i < kShards; ++i) shards_[i].rng.seed(seed + i);
}

SwarmRegistry::Shard& SwarmRegistry::shard_of(const std::string& info_hash) {
  // Info-hashes are (truncated) sha256 digests or sha1s: their bytes are already uniform.
  uint8_t b = info_hash.empty() ? 0 : static_cast<uint8_t>(info_hash.back());
  return shards_[b % kShards];
}

void SwarmRegistry::erase_swarm(Shard& shard, std::unordered_map<std::string, Swarm>::iterator it) {
  total_peers_.fetch_sub(it->second.peers.size(), std::memory_order_relaxed);
  shard.swarms.erase(it);
  swarm_count_.fetch_sub(1, std::memory_order_relaxed);
}

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
  total_peers_.fetch_sub(1, std::memory_order_relaxed);
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

SwarmRegistry::Swarm* SwarmRegistry::record(Shard& shard, const PeerAnnounce& a, TimePoint now,
                                            SwarmCounts& counts) {
  auto it = shard.swarms.find(a.info_hash);

  if (a.event == proto::AnnounceEvent::kStopped) {
    counts = {};
    if (it == shard.swarms.end()) return nullptr;
    Swarm& swarm = it->second;
    sweep_if_due(swarm, now);
    if (auto pos = swarm.position.find(a.peer_id); pos != swarm.position.end()) {
      remove_at(swarm, pos->second);
    }
    counts = counts_of(swarm);
    if (swarm.peers.empty()) erase_swarm(shard, it);
    return nullptr;
  }

  if (it == shard.swarms.end()) {
    // Reserve the slot first: announces on other shards create swarms concurrently.
    if (swarm_count_.fetch_add(1, std::memory_order_relaxed) >= limits_.max_swarms) {
      swarm_count_.fetch_sub(1, std::memory_order_relaxed);
      throw SwarmLimitError("tracker already holds " + std::to_string(limits_.max_swarms) +
                            " swarms");
    }
    it = shard.swarms.emplace(a.info_hash, Swarm{}).first;
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
    if (peer.locality != a.locality) peer.locality = a.locality;
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
    total_peers_.fetch_add(1, std::memory_order_relaxed);
  }
  if (a.event == proto::AnnounceEvent::kCompleted) ++swarm.completed;
  counts = counts_of(swarm);
  return &swarm;
}

SwarmCounts SwarmRegistry::announce(const PeerAnnounce& a) {
  SelectedPeers none;
  return announce_and_select(a, SelectionRequest{}, none);
}

SwarmCounts SwarmRegistry::announce_and_select(const PeerAnnounce& a,
                                               const SelectionRequest& request,
                                               SelectedPeers& out) {
  Shard& shard = shard_of(a.info_hash);
  std::unique_lock lock(shard.mu);
  if (limits_.max_peers > 0 && a.event != proto::AnnounceEvent::kStopped &&
      total_peers_.load(std::memory_order_relaxed) >= limits_.max_peers) {
    auto it = shard.swarms.find(a.info_hash);
    if (it == shard.swarms.end() || !it->second.position.contains(a.peer_id)) {
      // A new peer at the cap: make room first (other shards' locks are needed for that).
      lock.unlock();
      evict_idlest();
      lock.lock();
    }
  }
  TimePoint now = clock_();
  SwarmCounts counts;
  Swarm* swarm = record(shard, a, now, counts);
  if (!swarm || request.num_want == 0 || !request.selector) return counts;

  // The candidates are the swarm's own peers, seen through string_views under the lock; the
  // buffers are per thread and keep their capacity between announces.
  thread_local std::vector<SelectionCandidate> candidates;
  thread_local std::vector<uint32_t> index;  // candidate -> position in swarm.peers
  thread_local std::vector<uint8_t> taken;   // Floyd's membership marks, by position
  candidates.clear();
  index.clear();
  const size_t n = swarm->peers.size();
  auto self = swarm->position.find(a.peer_id);
  const size_t skip = self == swarm->position.end() ? n : self->second;
  auto add = [&](size_t i) {
    const Peer& p = swarm->peers[i];
    candidates.push_back({p.locality.zone, p.locality.rack, p.left == 0, p.origin});
    index.push_back(static_cast<uint32_t>(i));
  };
  const size_t others = skip < n ? n - 1 : n;
  if (others <= request.candidate_pool) {
    // The selector draws at random within each locality group: storage order is fine here.
    for (size_t i = 0; i < n; ++i) {
      if (i != skip) add(i);
    }
  } else {
    // Floyd's algorithm over positions other than `skip`: k distinct in O(k), then every origin.
    auto position = [&](size_t i) { return i < skip ? i : i + 1; };
    if (taken.size() < n) taken.resize(n, 0);
    PeerSelector::Random& random = *request.random;
    for (size_t j = others - request.candidate_pool; j < others; ++j) {
      size_t t = std::uniform_int_distribution<size_t>(0, j)(random);
      size_t pick = taken[position(t)] ? j : t;
      taken[position(pick)] = 1;
      add(position(pick));
    }
    for (const auto& id : swarm->origin_ids) {
      size_t i = swarm->position.at(id);
      if (i != skip && !taken[i]) add(i);
    }
    for (uint32_t i : index) taken[i] = 0;
  }
  auto chosen = request.selector->select(candidates, a.locality, request.requester_is_seeder,
                                         request.num_want, *request.random);
  for (const auto& c : chosen) {
    const Peer& p = swarm->peers[index[c.index]];
    out.peers.push_back(
        proto::AnnouncePeer{p.ip, p.port, request.want_peer_ids ? p.peer_id : std::string()});
    ++out.by_class[static_cast<size_t>(c.locality)];
  }
  return counts;
}

void SwarmRegistry::evict_idlest() {
  std::lock_guard evicting(evict_mu_);
  if (total_peers_.load(std::memory_order_relaxed) < limits_.max_peers) return;  // done meanwhile
  const size_t batch = std::max<uint64_t>(1, limits_.max_peers / 100);
  // Pass 1: the batch-th oldest last announce over the whole tracker.
  std::vector<TimePoint> times;
  times.reserve(total_peers_.load(std::memory_order_relaxed) + 64);
  for (Shard& shard : shards_) {
    std::lock_guard lock(shard.mu);
    for (const auto& [key, swarm] : shard.swarms) {
      for (const Peer& p : swarm.peers) times.push_back(p.last_announce);
    }
  }
  if (times.empty()) return;
  size_t k = std::min(batch, times.size()) - 1;
  std::nth_element(times.begin(), times.begin() + static_cast<std::ptrdiff_t>(k), times.end());
  const TimePoint threshold = times[k];
  // Pass 2: drop up to `batch` peers not heard from since then (a peer that re-announced in
  // between is newer now and stays).
  size_t removed = 0;
  for (Shard& shard : shards_) {
    std::lock_guard lock(shard.mu);
    for (auto it = shard.swarms.begin(); it != shard.swarms.end() && removed < batch;) {
      Swarm& swarm = it->second;
      for (size_t i = 0; i < swarm.peers.size() && removed < batch;) {
        if (swarm.peers[i].last_announce <= threshold) {
          remove_at(swarm, i);  // moves the last peer into i: look at i again
          ++removed;
        } else {
          ++i;
        }
      }
      if (swarm.peers.empty()) {
        auto gone = it++;
        erase_swarm(shard, gone);
      } else {
        ++it;
      }
    }
  }
}

std::vector<size_t> SwarmRegistry::sample(const Swarm& swarm, size_t skip, size_t k,
                                          std::mt19937_64& rng) {
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
      size_t t = std::uniform_int_distribution<size_t>(0, j)(rng);
      size_t pick = chosen.insert(t).second ? t : (chosen.insert(j), j);
      out.push_back(position(pick));
    }
  }
  // Floyd's order is biased towards high indices and the full-swarm case is in storage order:
  // shuffle so clients that dial the first few peers spread their connections evenly.
  std::shuffle(out.begin(), out.end(), rng);
  return out;
}

std::vector<StoredPeer> SwarmRegistry::candidates(const std::string& info_hash,
                                                  const std::string& exclude_peer_id,
                                                  size_t limit) {
  Shard& shard = shard_of(info_hash);
  std::lock_guard lock(shard.mu);
  std::vector<StoredPeer> out;
  auto it = shard.swarms.find(info_hash);
  if (it == shard.swarms.end()) return out;
  Swarm& swarm = it->second;
  sweep_if_due(swarm, clock_());
  if (swarm.peers.empty()) {
    erase_swarm(shard, it);
    return out;
  }
  auto self = swarm.position.find(exclude_peer_id);
  size_t skip = self == swarm.position.end() ? swarm.peers.size() : self->second;
  auto take = [&](size_t i) {
    const Peer& p = swarm.peers[i];
    out.push_back(StoredPeer{p.peer_id, p.ip, p.port, p.locality, p.left == 0, p.origin});
  };
  std::vector<size_t> picked = sample(swarm, skip, limit, shard.rng);
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
  Shard& shard = shard_of(info_hash);
  std::lock_guard lock(shard.mu);
  auto it = shard.swarms.find(info_hash);
  if (it == shard.swarms.end()) return {};
  sweep_if_due(it->second, clock_());
  ScrapeCounts counts{counts_of(it->second), it->second.completed};
  if (it->second.peers.empty()) erase_swarm(shard, it);
  return counts;
}

std::vector<proto::AnnouncePeer> SwarmRegistry::select_peers(const std::string& info_hash,
                                                             const std::string& requester_peer_id,
                                                             uint32_t num_want) {
  Shard& shard = shard_of(info_hash);
  std::lock_guard lock(shard.mu);
  std::vector<proto::AnnouncePeer> out;
  auto it = shard.swarms.find(info_hash);
  if (it == shard.swarms.end() || num_want == 0) return out;
  Swarm& swarm = it->second;
  sweep_if_due(swarm, clock_());
  if (swarm.peers.empty()) {
    erase_swarm(shard, it);
    return out;
  }
  auto self = swarm.position.find(requester_peer_id);
  size_t skip = self == swarm.position.end() ? swarm.peers.size() : self->second;
  for (size_t i : sample(swarm, skip, num_want, shard.rng)) {
    const Peer& p = swarm.peers[i];
    out.push_back(proto::AnnouncePeer{p.ip, p.port, p.peer_id});
  }
  return out;
}

SwarmCounts SwarmRegistry::counts(const std::string& info_hash) {
  Shard& shard = shard_of(info_hash);
  std::lock_guard lock(shard.mu);
  auto it = shard.swarms.find(info_hash);
  if (it == shard.swarms.end()) return {};
  sweep_if_due(it->second, clock_());
  SwarmCounts counts = counts_of(it->second);
  if (it->second.peers.empty()) erase_swarm(shard, it);
  return counts;
}

std::optional<Digest> SwarmRegistry::digest_of(const std::string& info_hash) {
  Shard& shard = shard_of(info_hash);
  std::lock_guard lock(shard.mu);
  auto it = shard.swarms.find(info_hash);
  if (it == shard.swarms.end()) return std::nullopt;
  return it->second.digest;
}

size_t SwarmRegistry::expire() {
  size_t removed = 0;
  for (Shard& shard : shards_) {
    std::lock_guard lock(shard.mu);
    TimePoint now = clock_();
    for (auto it = shard.swarms.begin(); it != shard.swarms.end();) {
      removed += sweep_if_due(it->second, now);
      if (it->second.peers.empty()) {
        auto gone = it++;
        erase_swarm(shard, gone);
      } else {
        ++it;
      }
    }
  }
  return removed;
}

size_t SwarmRegistry::swarm_count() {
  return swarm_count_.load(std::memory_order_relaxed);
}

size_t SwarmRegistry::peer_count() {
  return total_peers_.load(std::memory_order_relaxed);
}

size_t SwarmRegistry::largest_swarm() {
  size_t largest = 0;
  for (Shard& shard : shards_) {
    std::lock_guard lock(shard.mu);
    for (const auto& [key, swarm] : shard.swarms) largest = std::max(largest, swarm.peers.size());
  }
  return largest;
}

}  // namespace fanout::tracker
