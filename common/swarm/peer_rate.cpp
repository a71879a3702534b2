#include "common/swarm/peer_rate.h"

#include <algorithm>
#include <numeric>

namespace fanout::swarm {

void PieceRate::sample(uint64_t bytes, double seconds, double now, double trust_seconds) {
  // Bytes over seconds, the record before each new piece weighing half: a peer that got busy
  // drops fast. Not an average of per-piece rates: a piece that came at once out of a token
  // bucket's burst then adds its bytes but no time, where it used to rank a 1 MiB/s peer at
  // hundreds of MiB/s for pieces to come (1 MiB pieces fit in a 20 MiB/s link's burst).
  double took = std::max(seconds, 1e-6);
  if (trusted(now, trust_seconds)) {
    bytes_ = bytes_ / 2 + double(bytes);
    seconds_ = seconds_ / 2 + took;
  } else {
    bytes_ = double(bytes);
    seconds_ = took;
  }
  rate_ = bytes_ / seconds_;
  took_ = seconds;
  at_ = now;
}

double PieceRate::rank(double now, double trust_seconds) const {
  if (!trusted(now, trust_seconds)) return std::numeric_limits<double>::infinity();
  return rate_;
}

bool PieceRate::trusted(double now, double trust_seconds) const {
  return now - at_ < std::max(trust_seconds, 4 * took_);
}

std::vector<size_t> fastest_first(const std::vector<double>& ranks, std::mt19937_64& rng) {
  std::vector<size_t> order(ranks.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::shuffle(order.begin(), order.end(), rng);
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return ranks[a] > ranks[b]; });
  return order;
}

}  // namespace fanout::swarm
