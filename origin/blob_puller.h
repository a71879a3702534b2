#pragma once
// Brings a blob from the object store into the origin's CAS exactly once, verified, with its
// metainfo, and hands it to the peer engine to seed. Also takes uploads (verified while they
// arrive, then written to the object store) and keeps the CAS under a size cap.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <functional>
#include <future>
#include <list>
#include <memory>
#include <mutex>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "common/digest/digest.h"
#include "common/objectstore/object_store.h"
#include "common/store/blob_store.h"
#include "origin/origin_metrics.h"
#include "proto/metainfo.h"

namespace fanout::origin {

class PullSink;

// The object store has no object for the digest.
class BlobNotFoundError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The object's bytes do not hash to its name; nothing was stored or seeded.
class CorruptObjectError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// An upload's body does not hash to the digest it was sent for; nothing was stored anywhere.
class UploadMismatchError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A blob the origin holds, verified, with its metainfo.
struct PulledBlob {
  proto::Metainfo metainfo;
  std::filesystem::path path;  // the read-only CAS file
};

// How a pull reads the object store. Every field is a setting (origin config "pull.*").
struct PullOptions {
  // Bytes per ranged GET. Parts are read in parallel and fed to the CAS in order.
  uint64_t part_size = 16ull << 20;
  // Ranged GETs in flight per pull. At most 2 * concurrency parts are held in memory.
  uint32_t concurrency = 4;
  // Tries per part (and for the HEAD) before the pull fails; only transient errors are retried.
  uint32_t max_attempts = 5;
  // Backoff before retry k (k = 1, 2, ...): uniform in [0, min(max, base * 2^(k-1))] (full jitter).
  std::chrono::milliseconds retry_base_delay{100};
  std::chrono::milliseconds retry_max_delay{5000};
  // Injected so tests do not wait through backoffs.
  std::function<void(std::chrono::milliseconds)> sleep = [](std::chrono::milliseconds d) {
    std::this_thread::sleep_for(d);
  };
};

// What GET /v1/blobs/{digest}/status reports.
struct PullStatus {
  enum class State { kAbsent, kPulling, kReady, kFailed };
  State state = State::kAbsent;
  uint64_t bytes_pulled = 0;
  uint64_t size = 0;  // 0 until the HEAD answered
  std::string error;  // why the last pull failed, when kFailed
};
const char* to_string(PullStatus::State state);

class BlobPuller {
 public:
  // Called once per blob after it is stored; main() wires it to swarm::Engine::seed.
  using SeedFn = std::function<void(const proto::Metainfo&, const std::filesystem::path&)>;
  // Stops seeding a blob (swarm::Engine::remove), before it is evicted.
  using UnseedFn = std::function<void(const Digest&)>;
  // Whether some swarm is fetching the blob from this origin now (then it is not evicted).
  using InUseFn = std::function<bool(const Digest&)>;

  // `metainfo_dir` keeps each pulled blob's encoded metainfo as <hex>, so a restarted origin
  // seeds what it has without rehashing it.
  BlobPuller(ObjectStore& objects, const BlobStore& cas, std::filesystem::path metainfo_dir,
             SeedFn seed, OriginMetrics& metrics, PullOptions options = {});
  // Aborts background prefetches and waits for them.
  ~BlobPuller();

  // Keeps the CAS at or under max_bytes (0: no cap) by evicting the least recently used blobs
  // no swarm is fetching. Call before serving.
  void set_cache_cap(uint64_t max_bytes, UnseedFn unseed, InUseFn in_use);

  // Returns the blob, pulling it first if this origin does not hold it yet. Concurrent calls for
  // one digest share one pull and its outcome. Throws BlobNotFoundError, CorruptObjectError, or
  // ObjectStoreError / StoreError when reading or storing fails; failures are not remembered, so
  // a later call tries again.
  //
  // With a `source` (another origin of the ring, see PeerOriginStore) the bytes are copied from
  // there instead, verified the same way; if that fails the object store is read after all.
  std::shared_ptr<const PulledBlob> pull(const Digest& digest,
                                         std::shared_ptr<ObjectStore> source = nullptr);
  // Starts pull(digest, source) in the background unless the blob is held or being pulled;
  // returns at once.
  void prefetch(const Digest& digest, std::shared_ptr<ObjectStore> source = nullptr);
  // Called (on the pulling thread) each time a blob arrived from the object store or an upload,
  // not from another origin or the local cache: main() wires it to the Replicator, which tells
  // the other owners to copy it from here.
  void set_on_fetched(std::function<void(const Digest&)> on_fetched) {
    on_fetched_ = std::move(on_fetched);
  }
  PullStatus status(const Digest& digest);

  // An upload in progress: feed it the body in order, then commit().
  class Upload {
   public:
    ~Upload();
    void write(const char* data, size_t size);
    // Verifies the bytes against the digest (UploadMismatchError), writes them to the object
    // store (ObjectStoreError), keeps them in the CAS and seeds them. Nothing is kept anywhere
    // when any step fails.
    std::shared_ptr<const PulledBlob> commit();

   private:
    friend class BlobPuller;
    Upload(BlobPuller& puller, const Digest& digest);
    BlobPuller& puller_;
    Digest digest_;
    // The CAS writer hashes as it writes, so the body is verified as it arrives and spooled
    // where it will be published.
    std::unique_ptr<BlobStore::Writer> writer_;
  };
  std::unique_ptr<Upload> begin_upload(const Digest& digest);

  // Seeds every blob already in the CAS whose metainfo was persisted by an earlier run; returns
  // how many. Call once at start, before serving.
  size_t reseed_cached();

 private:
  struct Progress {
    std::atomic<uint64_t> bytes{0};
    std::atomic<uint64_t> size{0};
  };
  struct Held {
    std::shared_ptr<const PulledBlob> blob;
    std::list<Digest>::iterator lru;  // position in lru_ (front: most recent)
  };

  std::shared_ptr<const PulledBlob> pull_uncached(const Digest& digest, Progress& progress,
                                                  ObjectStore& store);
  std::shared_ptr<const PulledBlob> load_cached(const Digest& digest);
  uint64_t head_with_retries(ObjectStore& store, const std::string& key);
  // Fills `data` (its capacity reused) with exactly `length` bytes at `offset`.
  void read_part_with_retries(ObjectStore& store, const std::string& key, uint64_t offset,
                              uint64_t length, std::string& data);
  void backoff(uint32_t attempt, const std::string& why);
  void persist_metainfo(const proto::Metainfo& info);
  // sink->sync(), then persist_metainfo(info), on a thread of its own (joined by the destructor).
  void sync_in_background(std::shared_ptr<PullSink> sink, proto::Metainfo info);
  // Publishes a blob as held (under mu_): the LRU list, the cache size, then evicts over cap.
  void hold_locked(const Digest& digest, std::shared_ptr<const PulledBlob> blob);
  void evict_over_cap_locked(const Digest& keep);

  ObjectStore& objects_;
  const BlobStore& cas_;
  std::filesystem::path metainfo_dir_;
  SeedFn seed_;
  OriginMetrics& metrics_;
  PullOptions options_;
  uint64_t cache_cap_ = 0;
  UnseedFn unseed_;
  InUseFn in_use_;
  std::atomic<bool> stopping_{false};
  std::function<void(const Digest&)> on_fetched_;

  std::mutex mu_;
  std::unordered_map<Digest, Held> ready_;
  std::list<Digest> lru_;
  uint64_t cached_bytes_ = 0;
  struct InFlight {
    std::shared_future<std::shared_ptr<const PulledBlob>> result;
    std::shared_ptr<Progress> progress;
  };
  std::unordered_map<Digest, InFlight> in_flight_;
  std::unordered_map<Digest, std::string> failures_;  // last failure, for status()
  std::vector<std::jthread> prefetches_;
  struct Sync {
    std::shared_ptr<std::atomic<bool>> done;
    std::jthread thread;
  };
  std::vector<Sync> syncs_;
  std::mt19937_64 rng_{std::random_device{}()};
};

}  // namespace fanout::origin
