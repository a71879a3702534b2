#include "common/swarm/token_bucket.h"

#include <algorithm>

namespace fanout::swarm {

TokenBucket::TokenBucket(uint64_t bytes_per_sec, uint64_t min_burst)
    : rate_(bytes_per_sec),
      burst_(std::max<double>(double(bytes_per_sec) / 10, double(min_burst))),
      tokens_(burst_),
      last_(Clock::now()) {}

std::chrono::nanoseconds TokenBucket::reserve(uint64_t bytes) {
  if (rate_ == 0) return std::chrono::nanoseconds(0);
  std::lock_guard lock(mu_);
  auto now = Clock::now();
  double elapsed = std::chrono::duration<double>(now - last_).count();
  last_ = now;
  tokens_ = std::min(burst_, tokens_ + elapsed * double(rate_));
  tokens_ -= double(bytes);
  if (tokens_ >= 0) return std::chrono::nanoseconds(0);
  return std::chrono::nanoseconds(static_cast<int64_t>(-tokens_ / double(rate_) * 1e9));
}

}  // namespace fanout::swarm
