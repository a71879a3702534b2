#pragma once
// An origin's super-seeding: which pieces to show (HAVE) to which agent. The origin's bitfield
// is empty; it reveals pieces instead, so that its upload goes to pieces the swarm lacks, each
// sent about once, at full speed:
//   - it reveals to at most `slots` agents at a time; the others wait their turn, first come
//     first served. Revealing to every connected agent at once split the origin's upload over
//     hundreds of links, so no piece arrived anywhere for seconds and most pieces went out
//     several times (fanout-sim: p99 1.82, 1.6 copies at 1,000 nodes);
//   - a turn is `per_turn` pieces; it ends when the agent holds all of them (from the origin or
//     from anyone), and the slot passes on; with nobody waiting the agent starts another turn;
//   - only pieces no connected agent holds are shown: once a piece is in the swarm, agents serve
//     it. Showing the least-held pieces again let an origin faster than the agents keep feeding
//     them pieces they could have had from each other (2 copies of the blob from the origin in the
//     50-agent benchmark, 1.3 without; bench/README.md). An agent with nothing to be shown gives
//     its slot back and queues again when a piece's last connected holder goes away;
//   - of those, the piece shown is one fewest agents have been shown; a piece shown to another
//     agent is on its way into the swarm and is shown again only to an agent with nothing else
//     to fetch (duplicates happen only in the last pieces).
// Pure logic (no I/O, no clock): the engine's BlobSwarm and the simulator both run it.
#include <cstdint>
#include <deque>
#include <optional>
#include <random>
#include <set>
#include <unordered_map>
#include <vector>

namespace fanout::swarm {

class RevealPolicy {
 public:
  using PeerKey = uint64_t;

  RevealPolicy(uint32_t pieces, uint32_t slots, uint32_t per_turn, uint64_t seed);

  // An agent connected (count its bitfield with holder_added first) or went away.
  void add_peer(PeerKey peer);
  void remove_peer(PeerKey peer);
  // A connected agent holds `piece` (its bitfield or a HAVE); settles a reveal to it. Returns
  // true when that ended the agent's turn: call next() for it and for take_granted().
  bool holder_added(PeerKey peer, uint32_t piece);
  // A connected agent that held `piece` went away. If no connected agent holds it any more,
  // agents that had nothing to be shown queue for a turn again (see take_granted()).
  void holder_removed(uint32_t piece);

  // Pieces to reveal to `peer` now (send them as HAVEs); recorded as pending. `peer_has(i)`
  // says whether the agent holds piece i. Empty while the agent waits for a slot.
  template <typename PeerHas>
  std::vector<uint32_t> next(PeerKey peer, PeerHas peer_has);

  // Agents given a slot since the last call: call next() for each.
  std::vector<PeerKey> take_granted();

  uint32_t slots_in_use() const { return in_use_; }
  size_t waiting() const { return waiting_.size(); }
  uint32_t pending(PeerKey peer) const;
  uint32_t holders(uint32_t piece) const { return holders_[piece]; }

 private:
  struct PeerState {
    std::vector<uint8_t> revealed;
    std::set<uint32_t> pending;
    uint32_t turn_left = 0;
    bool has_slot = false;
    bool waiting = false;
  };

  template <typename PeerHas>
  std::optional<uint32_t> pick(const PeerState& s, PeerHas peer_has, bool allow_in_flight);
  void wait(PeerKey key, PeerState& s);
  void grant_next();
  void end_turn(PeerKey key, PeerState& s);

  uint32_t pieces_, slots_, per_turn_;
  std::vector<uint32_t> holders_;       // connected agents holding each piece
  std::vector<uint32_t> reveal_count_;  // outstanding reveals of each piece
  std::unordered_map<PeerKey, PeerState> peers_;
  std::deque<PeerKey> waiting_;
  // Agents that were shown nothing because every piece they lack is held by a connected agent;
  // they queue again when a piece leaves the swarm (its last holder went away).
  std::set<PeerKey> parked_;
  std::vector<PeerKey> granted_;
  uint32_t in_use_ = 0;
  std::mt19937_64 rng_;
};

template <typename PeerHas>
std::vector<uint32_t> RevealPolicy::next(PeerKey peer, PeerHas peer_has) {
  std::vector<uint32_t> out;
  auto it = peers_.find(peer);
  if (it == peers_.end()) return out;
  PeerState& s = it->second;
  if (!s.has_slot) {
    if (in_use_ >= slots_) {
      wait(peer, s);
      return out;
    }
    s.has_slot = true;
    s.turn_left = per_turn_;
    ++in_use_;
  }
  while (s.turn_left > 0 && s.pending.size() < per_turn_) {
    std::optional<uint32_t> best = pick(s, peer_has, /*allow_in_flight=*/false);
    if (!best && s.pending.empty() && out.empty()) best = pick(s, peer_has, true);
    if (!best) break;
    s.revealed[*best] = 1;
    s.pending.insert(*best);
    ++reveal_count_[*best];
    --s.turn_left;
    out.push_back(*best);
  }
  // Nothing to show this agent now (it has, or was shown, every piece the swarm lacks): free
  // the slot, and park it until a piece leaves the swarm.
  if (s.pending.empty()) {
    s.has_slot = false;
    --in_use_;
    parked_.insert(peer);
    grant_next();
  }
  return out;
}

template <typename PeerHas>
std::optional<uint32_t> RevealPolicy::pick(const PeerState& s, PeerHas peer_has,
                                           bool allow_in_flight) {
  std::optional<uint32_t> best;
  uint32_t best_score = UINT32_MAX;
  uint64_t ties = 0;
  for (uint32_t i = 0; i < pieces_; ++i) {
    if (s.revealed[i] || peer_has(i)) continue;
    if (holders_[i] > 0) continue;  // in the swarm already: agents serve it
    bool in_flight = reveal_count_[i] > 0;
    if (in_flight != allow_in_flight) continue;
    uint32_t score = reveal_count_[i];
    if (score < best_score) {
      best = i;
      best_score = score;
      ties = 1;
    } else if (score == best_score && rng_() % ++ties == 0) {
      best = i;  // reservoir sampling: each tie is equally likely
    }
  }
  return best;
}

}  // namespace fanout::swarm
