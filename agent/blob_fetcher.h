#pragma once
// Gets a blob into the agent's CAS: straight from the cache when it is there, otherwise
// metainfo from the tracker and pieces through the swarm, once per digest however many local
// clients ask at the same time. Only the engine writes the CAS, and it publishes only verified
// blobs, so nothing unverified is ever served.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <functional>
#include <future>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <unordered_map>

#include "agent/agent_metrics.h"
#include "common/digest/digest.h"
#include "common/store/blob_store.h"
#include "common/swarm/engine.h"
#include "proto/metainfo.h"
#include "proto/metainfo_signature.h"

namespace fanout::agent {

class FetchError : public std::runtime_error {
 public:
  enum class Kind {
    kNotFound,      // the tracker (and its origins) do not know the digest
    kTracker,       // the tracker could not be asked or gave an unusable answer
    kSwarm,         // the swarm fetch failed
    kTimeout,       // still fetching after fetch_timeout; the fetch goes on
    kShuttingDown,  // the agent is stopping
    kCacheFull,     // no room for the blob in the cache or on the disk
    kUnsigned,      // keys are configured and the metainfo's signature is missing or invalid
  };
  FetchError(Kind kind, const std::string& message) : std::runtime_error(message), kind_(kind) {}
  Kind kind() const { return kind_; }

 private:
  Kind kind_;
};

class BlobFetcher {
 public:
  // The tracker's metainfo for a digest, with the origin's signature if any; throws
  // tracker_client::TrackerClientError (main() wires RingTrackerClient::fetch_metainfo).
  using MetainfoFn = std::function<proto::MetainfoWithSignature(const Digest&)>;
  // Starts or joins the swarm fetch of a blob into the CAS (main() wires swarm::Engine::fetch).
  // pieces_bound_to_digest: the metainfo's signature verified, so the blob may be published on
  // its verified pieces alone.
  using FetchFn = std::function<std::shared_future<swarm::FetchResult>(
      const proto::Metainfo&, bool pieces_bound_to_digest)>;

  // Optional steps around a fetch (main wires the BlobCache).
  struct Hooks {
    // A hit: the blob was already in the cache.
    std::function<void(const Digest&)> on_hit;
    // Before the swarm fetch starts: make room, persist the metainfo (and its signature). May
    // throw CacheFullError.
    std::function<void(const proto::MetainfoWithSignature&)> before_fetch;
    // The blob is published in the CAS.
    std::function<void(const proto::Metainfo&)> after_fetch;
  };

  // verifier: the origins' public keys (metainfo_public_keys). Empty: metainfo is used as the
  // tracker gives it, and the CAS's whole_blob_hash default decides. Not empty: metainfo must be
  // signed by one of them (else the fetch fails with kUnsigned) and, being bound to its digest,
  // the blob is published on its verified pieces alone.
  BlobFetcher(const BlobStore& cas, MetainfoFn metainfo, FetchFn fetch, AgentMetrics& metrics,
              std::chrono::milliseconds timeout, Hooks hooks = {},
              proto::MetainfoVerifier verifier = {});
  // Calls shutdown() and waits for fetch threads to leave.
  ~BlobFetcher();
  BlobFetcher(const BlobFetcher&) = delete;
  BlobFetcher& operator=(const BlobFetcher&) = delete;

  // The CAS path of the blob, fetching it first if needed; throws FetchError.
  std::filesystem::path get(const Digest& digest);
  // Starts (or joins) the fetch of a blob that is not cached, without waiting for it; the
  // future holds its CAS path or a FetchError. Used for streaming reads and resumed fetches.
  std::shared_future<std::filesystem::path> begin(const Digest& digest);
  // The metainfo of a fetch in flight once the swarm is working on it (so the engine knows the
  // blob: prioritize() and read() apply); nullopt before that, and after it ended.
  std::optional<proto::Metainfo> in_swarm(const Digest& digest) const;
  // Waits for begin()'s future like get() does (deadline, shutdown); throws FetchError.
  std::filesystem::path wait(const Digest& digest, std::shared_future<std::filesystem::path> done);
  // Makes every waiting and future get() fail with kShuttingDown, so the HTTP server can stop
  // without waiting for swarm fetches.
  void shutdown();

  const BlobStore& cas() const { return cas_; }
  std::chrono::milliseconds timeout() const { return timeout_; }

 private:
  void run(const Digest& digest, std::promise<std::filesystem::path> done);
  std::filesystem::path fetch(const Digest& digest);

  const BlobStore& cas_;
  MetainfoFn metainfo_;
  FetchFn fetch_;
  AgentMetrics& metrics_;
  std::chrono::milliseconds timeout_;
  Hooks hooks_;
  proto::MetainfoVerifier verifier_;

  std::atomic<bool> stopping_{false};
  mutable std::mutex mu_;
  std::condition_variable workers_done_;
  size_t workers_ = 0;
  std::unordered_map<Digest, std::shared_future<std::filesystem::path>> in_flight_;
  std::unordered_map<Digest, proto::Metainfo> in_swarm_;
};

}  // namespace fanout::agent
