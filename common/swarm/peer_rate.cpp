#include "common/swarm/peer_rate.h"

#include <algorithm>
#include <numeric>

namespace fanout::swarm {

void PieceRate::sample(uint64_t bytes, double seconds, double now, double trust_seconds) {
  double rate = double(bytes) / std::max(seconds, 1e-6);
  // Half the weight on the newest piece: a peer that got busy drops fast, and one slow piece
  // (a long queue ahead of it) does not erase a good record.
  rate_ = trusted(now, trust_seconds) ? (rate_ + rate) / 2 : rate;
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
