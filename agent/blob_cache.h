#pragma once
// The node's blob cache: the CAS plus what it needs to be a cache. It keeps every blob's metainfo
// beside it (<cache_dir>/metainfo/<hex>) so fetches resume and complete blobs are seeded again
// after a restart, and it caps the CAS at cache.max_size with high/low watermarks, evicting the
// least recently used complete blobs that nobody pins (a local read, a watched alias) and that
// are not being uploaded to peers right now. The CAS already guarantees that nothing
// half-written is ever published; this class never deletes a blob that a reader has pinned.
#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <vector>

#include "agent/agent_metrics.h"
#include "common/cache/cache_index.h"
#include "common/store/blob_store.h"
#include "proto/metainfo.h"

namespace fanout::agent {

// There is no room for a blob: it is larger than the cache, or the disk is full even after
// evicting everything that may be evicted.
class CacheFullError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class BlobCache {
 public:
  struct Hooks {
    // Called before a blob's file is deleted, so the engine stops seeding it first
    // (main wires swarm::Engine::remove).
    std::function<void(const Digest&)> before_evict;
    // Payload bytes uploaded to peers so far for a blob, or 0 (main wires the engine's
    // BlobStats::bytes_uploaded). A blob whose count moved within upload_grace is busy.
    std::function<uint64_t(const Digest&)> bytes_uploaded;
    // Free bytes on the cache's file system (tests fake a full disk); statvfs when unset.
    std::function<uint64_t()> free_bytes;
    // Called with a blob's CAS path before it is deleted, so other hard links to it go too and
    // its bytes really leave the disk (main wires remove_model_dirs_linking, model_dirs.h).
    std::function<void(const std::filesystem::path&)> release_links;
  };

  BlobCache(BlobStore& cas, cache::CacheLimits limits, AgentMetrics& metrics, Hooks hooks = {},
            std::chrono::milliseconds upload_grace = std::chrono::seconds(10));

  BlobStore& cas() { return cas_; }
  cache::CacheIndex& index() { return index_; }

  struct Inventory {
    std::vector<proto::Metainfo> complete;    // in the CAS with their metainfo: seed them
    std::vector<proto::Metainfo> incomplete;  // metainfo without a blob: resume the fetch
  };
  // Scans the CAS and the metainfo directory (start-up). Blobs enter the LRU order by file
  // modification time, which touch() keeps current, so recency survives a restart. Unreadable
  // metainfo files are dropped with a warning.
  Inventory load();

  // Persists a blob's metainfo before its fetch starts (atomic: temp file, fsync, rename), and
  // the origin's signature of it when there is one (metainfo/<hex>.sig), so a resumed fetch is
  // checked against metainfo_public_keys like a new one.
  void save_metainfo(const proto::Metainfo& info, const std::string& signature = {});
  std::optional<proto::Metainfo> metainfo(const Digest& digest) const;
  // The saved signature of a blob's metainfo; empty when none was saved.
  std::string metainfo_signature(const Digest& digest) const;

  // Before fetching `info`: evicts what it takes for the blob to fit under the watermarks and on
  // the disk. Throws CacheFullError when it cannot fit.
  void make_room(const proto::Metainfo& info);
  // A fetched blob is complete in the CAS: it joins the LRU order (as most recent) and the cache
  // is trimmed back under its watermarks.
  void admit(const Digest& digest);
  // A local read of a cached blob: it becomes the most recently used.
  void touch(const Digest& digest);
  // Holds a pin on `digest` for as long as the handle lives.
  std::unique_ptr<cache::CachePin> pin(const Digest& digest) {
    return std::make_unique<cache::CachePin>(index_, digest);
  }

  // Evicts down to the low watermark if above the high one, and samples upload activity;
  // returns the number of blobs evicted. The agent calls it periodically and after each fetch.
  size_t trim(uint64_t incoming = 0);

 private:
  std::filesystem::path metainfo_path(const Digest& digest) const;
  std::filesystem::path signature_path(const Digest& digest) const;
  bool uploading(const Digest& digest);
  void sample_uploads();
  void evict(const Digest& digest);
  uint64_t free_bytes() const;
  void update_gauge();

  BlobStore& cas_;
  cache::CacheIndex index_;
  AgentMetrics& metrics_;
  Hooks hooks_;
  std::chrono::milliseconds upload_grace_;
  std::mutex evict_mu_;  // one trim at a time

  struct UploadSample {
    uint64_t bytes = 0;
    std::chrono::steady_clock::time_point moved{};
  };
  std::mutex uploads_mu_;
  std::unordered_map<Digest, UploadSample> uploads_;
};

}  // namespace fanout::agent
