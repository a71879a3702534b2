#include "common/swarm/reveal_policy.h"

#include <algorithm>

namespace fanout::swarm {

RevealPolicy::RevealPolicy(uint32_t pieces, uint32_t slots, uint32_t per_turn, uint64_t seed)
    : pieces_(pieces),
      slots_(std::max(1u, slots)),
      per_turn_(std::max(1u, per_turn)),
      holders_(pieces, 0),
      reveal_count_(pieces, 0),
      rng_(seed) {}

void RevealPolicy::add_peer(PeerKey peer) {
  peers_[peer].revealed.assign(pieces_, 0);
}

void RevealPolicy::remove_peer(PeerKey peer) {
  parked_.erase(peer);
  auto it = peers_.find(peer);
  if (it == peers_.end()) return;
  for (uint32_t piece : it->second.pending) --reveal_count_[piece];
  bool had_slot = it->second.has_slot;
  peers_.erase(it);  // a stale entry in waiting_ is skipped by grant_next()
  if (had_slot) {
    --in_use_;
    grant_next();
  }
}

bool RevealPolicy::holder_added(PeerKey peer, uint32_t piece) {
  ++holders_[piece];
  auto it = peers_.find(peer);
  if (it == peers_.end()) return false;
  PeerState& s = it->second;
  if (!s.pending.erase(piece)) return false;
  --reveal_count_[piece];
  if (s.pending.empty() && s.has_slot && s.turn_left == 0) end_turn(peer, s);
  return true;
}

void RevealPolicy::holder_removed(uint32_t piece) {
  if (--holders_[piece] > 0 || parked_.empty()) return;
  for (PeerKey key : parked_) {
    auto it = peers_.find(key);
    if (it != peers_.end() && !it->second.has_slot) wait(key, it->second);
  }
  parked_.clear();
  grant_next();
}

std::vector<RevealPolicy::PeerKey> RevealPolicy::take_granted() {
  std::vector<PeerKey> out;
  out.swap(granted_);
  return out;
}

uint32_t RevealPolicy::pending(PeerKey peer) const {
  auto it = peers_.find(peer);
  return it == peers_.end() ? 0 : static_cast<uint32_t>(it->second.pending.size());
}

void RevealPolicy::wait(PeerKey key, PeerState& s) {
  if (s.waiting) return;
  s.waiting = true;
  waiting_.push_back(key);
}

void RevealPolicy::grant_next() {
  while (in_use_ < slots_ && !waiting_.empty()) {
    PeerKey key = waiting_.front();
    waiting_.pop_front();
    auto it = peers_.find(key);
    if (it == peers_.end() || !it->second.waiting) continue;
    PeerState& s = it->second;
    s.waiting = false;
    s.has_slot = true;
    s.turn_left = per_turn_;
    ++in_use_;
    granted_.push_back(key);
  }
}

// The agent holds every piece of its turn: it queues again behind any agent waiting, so the
// slot passes to the first of them (or straight back to it when nobody waits).
void RevealPolicy::end_turn(PeerKey key, PeerState& s) {
  s.has_slot = false;
  --in_use_;
  wait(key, s);
  grant_next();
}

}  // namespace fanout::swarm
