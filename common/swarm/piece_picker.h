#pragma once
// Chooses which piece to ask a peer for: rarest first among the pieces that peer has, random among
// equally rare ones, so the swarm spreads different pieces instead of all fetching the same ones.
// Origins are the last resort: a piece that some agent peer already holds is never taken from an
// origin, which keeps origin egress near one copy. Pure logic (no I/O, no clock): the simulator
// runs this same class.
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

  // Availability among non-origin peers (origins have everything and are counted apart).
  void peer_has(uint32_t piece) { ++availability_[piece]; }
  void peer_lost(uint32_t piece) { --availability_[piece]; }
  uint32_t availability(uint32_t piece) const { return availability_[piece]; }

  // Pieces a reader is waiting on (streaming reads) are picked before all others.
  void set_priority(uint32_t piece) { priority_[piece] = 1; }
  bool priority(uint32_t piece) const { return priority_[piece]; }

  // A piece whose bytes are all here and being hashed is neither picked nor duplicated.
  void set_verifying(uint32_t piece, bool on) { verifying_[piece] = on; }

  void started(uint32_t piece) { ++in_flight_[piece]; }
  void stopped(uint32_t piece) { --in_flight_[piece]; }
  uint32_t in_flight(uint32_t piece) const { return in_flight_[piece]; }

  // A piece this peer has (`peer_has(i)` tells), we lack, and nobody is fetching; rarest first.
  // For an origin only pieces no agent peer holds qualify.
  template <typename PeerHas>
  std::optional<uint32_t> pick(PeerHas peer_has, bool from_origin);
  // Endgame: every missing piece is in flight; duplicate one (at most `max_copies` fetches at
  // once) that this peer has and is not already fetching (`fetching(i)` tells).
  template <typename PeerHas, typename Fetching>
  std::optional<uint32_t> pick_endgame(PeerHas peer_has, Fetching fetching, bool from_origin,
                                       uint32_t max_copies = 2);

 private:
  std::vector<uint8_t> have_;
  std::vector<uint32_t> availability_;
  std::vector<uint32_t> in_flight_;
  std::vector<uint8_t> verifying_;
  std::vector<uint8_t> priority_;
  uint32_t missing_;
  std::mt19937_64 rng_;
};

template <typename PeerHas>
std::optional<uint32_t> PiecePicker::pick(PeerHas peer_has, bool from_origin) {
  std::optional<uint32_t> best;
  uint32_t best_avail = UINT32_MAX;
  bool best_priority = false;
  uint64_t ties = 0;
  for (uint32_t i = 0; i < have_.size(); ++i) {
    if (have_[i] || in_flight_[i] || verifying_[i] || !peer_has(i)) continue;
    if (from_origin && availability_[i] > 0) continue;
    if (priority_[i] != best_priority) {
      if (!priority_[i]) continue;  // a waited-for piece beats any rarity
      best_priority = true;
      best_avail = UINT32_MAX;
    }
    if (availability_[i] < best_avail) {
      best = i;
      best_avail = availability_[i];
      ties = 1;
    } else if (availability_[i] == best_avail && rng_() % ++ties == 0) {
      best = i;  // reservoir sampling: each tie is equally likely
    }
  }
  return best;
}

template <typename PeerHas, typename Fetching>
std::optional<uint32_t> PiecePicker::pick_endgame(PeerHas peer_has, Fetching fetching,
                                                  bool from_origin, uint32_t max_copies) {
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
