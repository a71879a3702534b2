#pragma once
// Chooses which piece to ask a peer for: rarest first among the pieces that peer has, random among
// equally rare ones, so the swarm spreads different pieces instead of all fetching the same ones.
// Origins are the last resort: a piece that some agent peer already holds is never taken from an
// origin, which keeps origin egress near one copy. Pure logic (no I/O, no clock): the simulator
// runs this same class.
//
// The pickable pieces (missing, not in flight, not being verified) are kept in one bucket per
// availability, so a pick looks at the rarest buckets first and stops at the first piece the
// peer has, instead of scanning every piece: a 200 GB blob has ~12,000 pieces and a 1,000-node
// simulation picks tens of millions of times. Ties are broken by a random starting point in
// the bucket (the bucket's order is itself shuffled by removals).
#include <cstdint>
#include <optional>
#include <random>
#include <vector>

namespace fanout::swarm {

class PiecePicker {
 public:
  PiecePicker(uint32_t pieces, uint64_t seed);

  uint32_t piece_count() const { return static_cast<uint32_t>(have_.size()); }
  uint32_t missing() const { return missing_; }
  bool complete() const { return missing_ == 0; }
  bool have(uint32_t piece) const { return have_[piece]; }
  void set_have(uint32_t piece);

  // Availability among non-origin peers (origins have everything and are counted apart). A
  // peer's pieces must be counted here before pick() is asked about that peer.
  void peer_has(uint32_t piece);
  void peer_lost(uint32_t piece);
  uint32_t availability(uint32_t piece) const { return availability_[piece]; }

  // Pieces a reader is waiting on (streaming reads) are picked before all others.
  void set_priority(uint32_t piece);
  bool priority(uint32_t piece) const { return priority_[piece]; }
  bool any_priority() const { return !priority_list_.empty(); }

  // A piece whose bytes are all here and being hashed is neither picked nor duplicated.
  void set_verifying(uint32_t piece, bool on);

  void started(uint32_t piece);
  void stopped(uint32_t piece);
  uint32_t in_flight(uint32_t piece) const { return in_flight_[piece]; }

  // A piece this peer has (`peer_has(i)` tells), we lack, and nobody is fetching; rarest first.
  // For an origin only pieces no agent peer holds qualify.
  template <typename PeerHas>
  std::optional<uint32_t> pick(PeerHas peer_has, bool from_origin);
  // The rarest pickable piece whoever holds it (the HTTP fallback, which can fetch any piece).
  std::optional<uint32_t> pick_any();
  // Endgame: every missing piece is in flight; duplicate one (at most `max_copies` fetches at
  // once) that this peer has and is not already fetching (`fetching(i)` tells).
  template <typename PeerHas, typename Fetching>
  std::optional<uint32_t> pick_endgame(PeerHas peer_has, Fetching fetching, bool from_origin,
                                       uint32_t max_copies = 2);

 private:
  static constexpr uint32_t kNotPickable = UINT32_MAX;
  bool pickable(uint32_t piece) const {
    return !have_[piece] && !in_flight_[piece] && !verifying_[piece];
  }
  // Puts the piece in (or takes it out of) the bucket of its availability, as it now qualifies.
  void refresh(uint32_t piece);
  void unlink(uint32_t piece);
  template <typename Accept>
  std::optional<uint32_t> first_in_bucket(uint32_t level, Accept accept);
  template <typename Accept>
  std::optional<uint32_t> pick_priority(Accept accept);

  std::vector<uint8_t> have_;
  std::vector<uint32_t> availability_;
  std::vector<uint32_t> in_flight_;
  std::vector<uint8_t> verifying_;
  std::vector<uint8_t> priority_;
  std::vector<uint32_t> priority_list_;         // pieces ever set_priority, in order
  std::vector<std::vector<uint32_t>> buckets_;  // pickable pieces by availability
  std::vector<uint32_t> slot_;                  // index in its bucket, or kNotPickable
  std::vector<uint32_t> bucket_of_;             // the bucket it is in
  uint32_t missing_;
  uint32_t pickable_ = 0;
  std::mt19937_64 rng_;
};

template <typename Accept>
std::optional<uint32_t> PiecePicker::first_in_bucket(uint32_t level, Accept accept) {
  const auto& bucket = buckets_[level];
  size_t n = bucket.size();
  if (n == 0) return std::nullopt;
  size_t start = rng_() % n;
  for (size_t k = 0; k < n; ++k) {
    uint32_t piece = bucket[(start + k) % n];
    if (accept(piece)) return piece;
  }
  return std::nullopt;
}

// The rarest waited-for piece that qualifies; waited-for pieces are few.
template <typename Accept>
std::optional<uint32_t> PiecePicker::pick_priority(Accept accept) {
  std::optional<uint32_t> best;
  for (uint32_t piece : priority_list_) {
    if (!pickable(piece) || !accept(piece)) continue;
    if (!best || availability_[piece] < availability_[*best]) best = piece;
  }
  return best;
}

template <typename PeerHas>
std::optional<uint32_t> PiecePicker::pick(PeerHas peer_has, bool from_origin) {
  if (pickable_ == 0) return std::nullopt;
  auto accept = [&](uint32_t i) { return peer_has(i) && (!from_origin || availability_[i] == 0); };
  if (!priority_list_.empty()) {
    if (auto piece = pick_priority(accept)) return piece;
  }
  if (from_origin) return first_in_bucket(0, accept);
  // An agent peer's pieces are counted in availability, so none of them is in bucket 0.
  for (uint32_t level = 1; level < buckets_.size(); ++level) {
    if (auto piece = first_in_bucket(level, accept)) return piece;
  }
  return std::nullopt;
}

template <typename PeerHas, typename Fetching>
std::optional<uint32_t> PiecePicker::pick_endgame(PeerHas peer_has, Fetching fetching,
                                                  bool from_origin, uint32_t max_copies) {
  if (pickable_ > 0) return std::nullopt;  // not the endgame: some missing piece is unclaimed
  std::optional<uint32_t> best;
  uint32_t best_copies = UINT32_MAX;
  uint64_t ties = 0;
  for (uint32_t i = 0; i < have_.size(); ++i) {
    if (have_[i] || verifying_[i] || !in_flight_[i] || in_flight_[i] >= max_copies ||
        !peer_has(i) || fetching(i)) {
      continue;
    }
    if (from_origin && availability_[i] > 0) continue;
    if (in_flight_[i] < best_copies) {
      best = i;
      best_copies = in_flight_[i];
      ties = 1;
    } else if (in_flight_[i] == best_copies && rng_() % ++ties == 0) {
      best = i;
    }
  }
  return best;
}

}  // namespace fanout::swarm
