#pragma once
// Which peer gets the next request. A node fetches a few pieces at once (max_pieces_in_flight);
// each time one arrives, the free place goes to the peer that delivered its recent pieces
// fastest. Before this, the place went back to the peer that just delivered, so a node whose
// first requests landed on busy peers kept asking those same peers while idle seeders sat
// connected to it: at 1,000 nodes the first nodes in (which everyone else dialed) finished last,
// p99 2.35 single-node times (bench/README.md, "Which peer gets the next request").
//
// A peer never measured, or measured longer ago than the trust window (at least four of its
// last piece times, so pieces slower than the window still rank), ranks above every measured
// one: it is tried, and a peer that was slow only while it was busy gets another turn.
// Pure logic on seconds as doubles: the engine and fanout-sim both run it.
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

namespace fanout::swarm {

class PieceRate {
 public:
  // A piece of `bytes` arrived `seconds` after it was asked for, at time `now`.
  void sample(uint64_t bytes, double seconds, double now, double trust_seconds);
  // What to rank this peer by at `now`: bytes per second, or +infinity when untried or stale.
  double rank(double now, double trust_seconds) const;

 private:
  bool trusted(double now, double trust_seconds) const;

  double bytes_ = 0;    // decayed record (peer_rate.cpp)
  double seconds_ = 0;
  double rate_ = 0;
  double took_ = 0;  // the last piece's time
  double at_ = -std::numeric_limits<double>::infinity();
};

// Indices of `ranks` in the order to offer free request places: highest rank first, ties (every
// untried peer, say) in random order so no peer is always first.
std::vector<size_t> fastest_first(const std::vector<double>& ranks, std::mt19937_64& rng);

}  // namespace fanout::swarm
