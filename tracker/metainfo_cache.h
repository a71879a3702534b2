#pragma once
// digest -> metainfo for the tracker. Metainfo is immutable (a pure function of the blob's
// bytes), so an entry fetched from an origin is kept forever; only an unsigned one is asked for
// again after a while, so origins that start signing are heard without restarting trackers. Concurrent misses for one digest
// share a single origin request (single-flight), so a fleet asking at once costs one fetch.
#include <chrono>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/digest/digest.h"
#include "common/metrics/metrics.h"
#include "proto/metainfo.h"

namespace fanout::tracker {

class MetainfoError : public std::runtime_error {
 public:
  enum class Kind {
    kNotFound,      // every origin answered 404
    kOriginFailed,  // no origin gave valid metainfo and at least one failed otherwise
  };
  MetainfoError(Kind kind, const std::string& message) : std::runtime_error(message), kind_(kind) {}
  Kind kind() const { return kind_; }

 private:
  Kind kind_;
};

struct CachedMetainfo {
  proto::Metainfo metainfo;
  std::string encoded;  // its canonical bytes, served as they are
  // The origin's X-Fanout-Metainfo-Signature, passed on as it came (agents verify it; the
  // tracker needs no key); empty when the origin did not sign.
  std::string signature;
  std::chrono::steady_clock::time_point fetched_at = std::chrono::steady_clock::now();
};

class MetainfoCache {
 public:
  struct Options {
    // Base URLs ("http://host:port"), asked in this order until one has the blob.
    std::vector<std::string> origins;
    std::chrono::milliseconds timeout{std::chrono::seconds(5)};
    // An entry without a signature is fetched again once it is this old (the newer answer
    // replaces it; if the origins cannot be reached then, the old one is served).
    std::chrono::milliseconds unsigned_recheck{std::chrono::minutes(1)};
  };

  // origin_fetches counts HTTP requests sent to origins, cache_hits lookups answered from memory.
  MetainfoCache(Options options, metrics::Counter& origin_fetches, metrics::Counter& cache_hits);

  // The metainfo of `digest`; asks the origins on a miss. Every origin answer is validated
  // (decodes, is canonical, names `digest`) before it is cached. Throws MetainfoError; failures
  // are not cached, so a blob that reaches an origin later is found then.
  std::shared_ptr<const CachedMetainfo> get(const Digest& digest);

  size_t size() const;

 private:
  using Entry = std::shared_ptr<const CachedMetainfo>;
  Entry fetch_from_origins(const Digest& digest);
  std::vector<std::string> ask_order(const Digest& digest) const;

  const Options options_;
  metrics::Counter& origin_fetches_;
  metrics::Counter& cache_hits_;
  mutable std::mutex mu_;
  std::map<Digest, Entry> cache_;
  std::map<Digest, std::shared_future<Entry>> in_flight_;
};

}  // namespace fanout::tracker
