#pragma once
// Exponential backoff with full jitter for retried object-store requests: attempt n waits a
// uniformly random time in [0, min(max, base * 2^(n-1))]. Shared by the origin's pulls and the
// S3 store's uploads.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <random>

namespace fanout {

// `attempt` counts from 1. The caller serialises access to `rng`.
inline std::chrono::milliseconds full_jitter_delay(std::chrono::milliseconds base,
                                                   std::chrono::milliseconds max, uint32_t attempt,
                                                   std::mt19937_64& rng) {
  uint64_t cap = static_cast<uint64_t>(base.count()) << std::min(attempt - 1, 20u);
  cap = std::min<uint64_t>(cap, static_cast<uint64_t>(max.count()));
  if (cap == 0) return std::chrono::milliseconds(0);
  return std::chrono::milliseconds(std::uniform_int_distribution<uint64_t>(0, cap)(rng));
}

}  // namespace fanout
