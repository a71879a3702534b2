#pragma once
// The node cache's eviction policy, apart from any file system: which complete blobs are held,
// how big they are, when each was last used, and which are pinned. When the held bytes pass the
// high watermark, the least recently used unpinned blobs are chosen until the total is at or
// below the low watermark. Two watermarks, not one cap, so a busy node evicts in batches instead
// of once per fetch. Thread-safe.
#include <cstdint>
#include <functional>
#include <mutex>
#include <unordered_map>
#include <utility>
#include <vector>

#include "common/digest/digest.h"

namespace fanout::cache {

struct CacheLimits {
  // 0 means no cap: nothing is ever evicted.
  uint64_t max_bytes = 0;
  // Percent of max_bytes: eviction starts above high and stops at or below low.
  uint32_t high_watermark_percent = 95;
  uint32_t low_watermark_percent = 85;

  uint64_t high_bytes() const { return max_bytes / 100 * high_watermark_percent; }
  uint64_t low_bytes() const { return max_bytes / 100 * low_watermark_percent; }
};

class CacheIndex {
 public:
  explicit CacheIndex(CacheLimits limits) : limits_(limits) {}

  const CacheLimits& limits() const { return limits_; }

  // Records a complete blob as used now; re-adding updates it. Blobs found on disk at start-up
  // are added oldest first, so their order survives a restart.
  void add(const Digest& digest, uint64_t size);
  // Marks a blob as used now.
  void touch(const Digest& digest);
  void erase(const Digest& digest);
  bool contains(const Digest& digest) const;
  // A copy of what is held: each blob's digest and size (for listings; no lock is handed out).
  std::vector<std::pair<Digest, uint64_t>> snapshot() const;
  uint64_t total_bytes() const;
  size_t count() const;

  // Pins are counted: a blob is pinned while any pin on it is held. Pinning a digest that is
  // not (yet) held is allowed, so a blob being fetched can be pinned before it lands.
  void pin(const Digest& digest);
  void unpin(const Digest& digest);
  bool pinned(const Digest& digest) const;

  // The blobs to evict, least recently used first, so that the total is at or below the low
  // watermark, after making room for `incoming` more bytes. Empty while the total (plus incoming)
  // is at or below the high watermark. Skips pinned blobs and those `busy` says are in use. The
  // chosen blobs stay in the index: the caller erases each once its file is gone.
  std::vector<Digest> victims(uint64_t incoming = 0,
                              const std::function<bool(const Digest&)>& busy = {}) const;

 private:
  struct Entry {
    uint64_t size = 0;
    int64_t last_used = 0;
  };
  int64_t next_tick_locked();

  CacheLimits limits_;
  mutable std::mutex mu_;
  std::unordered_map<Digest, Entry> entries_;
  std::unordered_map<Digest, uint32_t> pins_;
  uint64_t total_ = 0;
  int64_t tick_ = 0;
};

// Holds one pin on a digest for its lifetime.
class CachePin {
 public:
  CachePin(CacheIndex& index, const Digest& digest) : index_(&index), digest_(digest) {
    index_->pin(digest_);
  }
  ~CachePin() {
    if (index_) index_->unpin(digest_);
  }
  CachePin(const CachePin&) = delete;
  CachePin& operator=(const CachePin&) = delete;

 private:
  CacheIndex* index_;
  Digest digest_;
};

}  // namespace fanout::cache
