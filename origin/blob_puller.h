#pragma once
// Brings a blob from the object store into the origin's CAS exactly once, verified, with its
// metainfo, and hands it to the peer engine to seed.
#include <filesystem>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <unordered_map>

#include "common/digest/digest.h"
#include "common/objectstore/object_store.h"
#include "common/store/blob_store.h"
#include "origin/origin_metrics.h"
#include "proto/metainfo.h"

namespace fanout::origin {

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

// A blob the origin holds, verified, with its metainfo.
struct PulledBlob {
  proto::Metainfo metainfo;
  std::filesystem::path path;  // the read-only CAS file
};

class BlobPuller {
 public:
  // Called once per blob after it is stored; main() wires it to swarm::Engine::seed.
  using SeedFn = std::function<void(const proto::Metainfo&, const std::filesystem::path&)>;

  // `metainfo_dir` keeps each pulled blob's encoded metainfo as <hex>, so a restarted origin
  // seeds what it has without rehashing it.
  BlobPuller(ObjectStore& objects, const BlobStore& cas, std::filesystem::path metainfo_dir,
             SeedFn seed, OriginMetrics& metrics);

  // Returns the blob, pulling it first if this origin does not hold it yet. Concurrent calls for
  // one digest share one pull and its outcome. Throws BlobNotFoundError, CorruptObjectError, or
  // ObjectStoreError / StoreError when reading or storing fails; failures are not remembered, so
  // a later call tries again.
  std::shared_ptr<const PulledBlob> pull(const Digest& digest);

  // Seeds every blob already in the CAS whose metainfo was persisted by an earlier run; returns
  // how many. Call once at start, before serving.
  size_t reseed_cached();

 private:
  std::shared_ptr<const PulledBlob> pull_uncached(const Digest& digest);
  std::shared_ptr<const PulledBlob> load_cached(const Digest& digest);
  void persist_metainfo(const proto::Metainfo& info);

  ObjectStore& objects_;
  const BlobStore& cas_;
  std::filesystem::path metainfo_dir_;
  SeedFn seed_;
  OriginMetrics& metrics_;

  std::mutex mu_;
  std::unordered_map<Digest, std::shared_ptr<const PulledBlob>> ready_;
  std::unordered_map<Digest, std::shared_future<std::shared_ptr<const PulledBlob>>> in_flight_;
};

}  // namespace fanout::origin
