#include "common/cache/cache_index.h"

#include <algorithm>

namespace fanout::cache {

int64_t CacheIndex::next_tick_locked() {
  return ++tick_;
}

void CacheIndex::add(const Digest& digest, uint64_t size) {
  std::lock_guard lock(mu_);
  auto [it, inserted] = entries_.try_emplace(digest);
  if (!inserted) total_ -= it->second.size;
  it->second.size = size;
  it->second.last_used = next_tick_locked();
  total_ += size;
}

void CacheIndex::touch(const Digest& digest) {
  std::lock_guard lock(mu_);
  if (auto it = entries_.find(digest); it != entries_.end()) {
    it->second.last_used = next_tick_locked();
  }
}

void CacheIndex::erase(const Digest& digest) {
  std::lock_guard lock(mu_);
  if (auto it = entries_.find(digest); it != entries_.end()) {
    total_ -= it->second.size;
    entries_.erase(it);
  }
}

bool CacheIndex::contains(const Digest& digest) const {
  std::lock_guard lock(mu_);
  return entries_.contains(digest);
}

std::vector<std::pair<Digest, uint64_t>> CacheIndex::snapshot() const {
  std::lock_guard lock(mu_);
  std::vector<std::pair<Digest, uint64_t>> out;
  out.reserve(entries_.size());
  for (const auto& [digest, entry] : entries_) out.emplace_back(digest, entry.size);
  return out;
}

uint64_t CacheIndex::total_bytes() const {
  std::lock_guard lock(mu_);
  return total_;
}

size_t CacheIndex::count() const {
  std::lock_guard lock(mu_);
  return entries_.size();
}

void CacheIndex::pin(const Digest& digest) {
  std::lock_guard lock(mu_);
  ++pins_[digest];
}

void CacheIndex::unpin(const Digest& digest) {
  std::lock_guard lock(mu_);
  auto it = pins_.find(digest);
  if (it == pins_.end()) return;
  if (--it->second == 0) pins_.erase(it);
}

bool CacheIndex::pinned(const Digest& digest) const {
  std::lock_guard lock(mu_);
  return pins_.contains(digest);
}

std::vector<Digest> CacheIndex::victims(uint64_t incoming,
                                        const std::function<bool(const Digest&)>& busy) const {
  std::vector<std::pair<int64_t, Digest>> candidates;
  uint64_t total = 0;
  {
    std::lock_guard lock(mu_);
    if (limits_.max_bytes == 0 || total_ + incoming <= limits_.high_bytes()) return {};
    total = total_ + incoming;
    for (const auto& [digest, entry] : entries_) {
      if (!pins_.contains(digest)) candidates.emplace_back(entry.last_used, digest);
    }
  }
  std::sort(candidates.begin(), candidates.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<Digest> out;
  const uint64_t low = limits_.low_bytes();
  for (const auto& [tick, digest] : candidates) {
    if (total <= low) break;
    // `busy` may take other locks (the engine's), so it is asked outside ours.
    if (busy && busy(digest)) continue;
    std::lock_guard lock(mu_);
    auto it = entries_.find(digest);
    if (it == entries_.end()) continue;
    total -= std::min(total, it->second.size);
    out.push_back(digest);
  }
  return out;
}

}  // namespace fanout::cache
