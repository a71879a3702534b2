#pragma once
// A token bucket shared by every peer of an engine, one for ingress and one for egress. reserve()
// takes the tokens at once (the balance may go into debt) and says how long the caller must wait
// before moving the bytes, so a caller never spins and the long-run rate is exact.
#include <chrono>
#include <cstdint>
#include <mutex>

namespace fanout::swarm {

class TokenBucket {
 public:
  using Clock = std::chrono::steady_clock;

  // rate 0 means unlimited. The burst is a tenth of a second of traffic, at least `min_burst`.
  explicit TokenBucket(uint64_t bytes_per_sec, uint64_t min_burst = 1u << 20);

  bool unlimited() const { return rate_ == 0; }
  std::chrono::nanoseconds reserve(uint64_t bytes);

 private:
  uint64_t rate_;
  double burst_;
  std::mutex mu_;
  double tokens_;
  Clock::time_point last_;
};

}  // namespace fanout::swarm
