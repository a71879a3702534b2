#include "agent/blob_fetcher.h"

#include <thread>

#include "agent/blob_cache.h"
#include "common/log/log.h"
#include "common/tracker_client/http_tracker_client.h"

namespace fanout::agent {
namespace {

// How often a waiter looks up from its future to notice shutdown or its deadline.
constexpr auto kPollInterval = std::chrono::milliseconds(100);

}  // namespace

BlobFetcher::BlobFetcher(const BlobStore& cas, MetainfoFn metainfo, FetchFn fetch,
                         AgentMetrics& metrics, std::chrono::milliseconds timeout, Hooks hooks,
                         proto::MetainfoVerifier verifier)
    : cas_(cas),
      metainfo_(std::move(metainfo)),
      fetch_(std::move(fetch)),
      metrics_(metrics),
      timeout_(timeout),
      hooks_(std::move(hooks)),
      verifier_(std::move(verifier)) {}

BlobFetcher::~BlobFetcher() {
  shutdown();
  std::unique_lock lock(mu_);
  workers_done_.wait(lock, [this] { return workers_ == 0; });
}

void BlobFetcher::shutdown() {
  stopping_ = true;
}

std::filesystem::path BlobFetcher::get(const Digest& digest) {
  if (cas_.contains(digest)) {
    metrics_.cache_hits.inc();
    if (hooks_.on_hit) hooks_.on_hit(digest);
    return cas_.path_of(digest);
  }
  return wait(digest, begin(digest));
}

std::shared_future<std::filesystem::path> BlobFetcher::begin(const Digest& digest) {
  std::lock_guard lock(mu_);
  if (stopping_) throw FetchError(FetchError::Kind::kShuttingDown, "the agent is stopping");
  if (auto it = in_flight_.find(digest); it != in_flight_.end()) return it->second;
  // The fetch runs on its own thread so it outlives a request that gives up waiting.
  std::promise<std::filesystem::path> promise;
  auto done = promise.get_future().share();
  in_flight_.emplace(digest, done);
  ++workers_;
  std::thread(&BlobFetcher::run, this, digest, std::move(promise)).detach();
  return done;
}

std::optional<proto::Metainfo> BlobFetcher::in_swarm(const Digest& digest) const {
  std::lock_guard lock(mu_);
  if (auto it = in_swarm_.find(digest); it != in_swarm_.end()) return it->second;
  return std::nullopt;
}

std::filesystem::path BlobFetcher::wait(const Digest& digest,
                                        std::shared_future<std::filesystem::path> done) {
  const auto deadline = std::chrono::steady_clock::now() + timeout_;
  while (done.wait_for(kPollInterval) != std::future_status::ready) {
    if (stopping_) throw FetchError(FetchError::Kind::kShuttingDown, "the agent is stopping");
    if (std::chrono::steady_clock::now() >= deadline) {
      throw FetchError(FetchError::Kind::kTimeout, digest.str() + " is still being fetched after " +
                                                       std::to_string(timeout_.count() / 1000) +
                                                       "s; ask again to keep waiting");
    }
  }
  return done.get();
}

void BlobFetcher::run(const Digest& digest, std::promise<std::filesystem::path> done) {
  std::exception_ptr error;
  std::filesystem::path path;
  try {
    path = fetch(digest);
  } catch (const FetchError&) {
    error = std::current_exception();
  } catch (const std::exception& e) {
    error = std::make_exception_ptr(FetchError(FetchError::Kind::kSwarm, e.what()));
  }
  if (error) {
    metrics_.fetch_failures.inc();
    try {
      std::rethrow_exception(error);
    } catch (const std::exception& e) {
      spdlog::warn("fetch of {} failed: {}", digest.str(), e.what());
    }
  }
  {
    // Forget the flight before answering, so a request after a failure starts a new attempt.
    std::lock_guard lock(mu_);
    in_flight_.erase(digest);
    in_swarm_.erase(digest);
  }
  if (error) {
    done.set_exception(error);
  } else {
    done.set_value(path);
  }
  std::lock_guard lock(mu_);
  --workers_;
  workers_done_.notify_all();
}

std::filesystem::path BlobFetcher::fetch(const Digest& digest) {
  // A flight that started just after another one finished finds the blob already here.
  if (cas_.contains(digest)) return cas_.path_of(digest);
  const auto started = std::chrono::steady_clock::now();

  proto::MetainfoWithSignature answer;
  try {
    answer = metainfo_(digest);
  } catch (const tracker_client::TrackerClientError& e) {
    if (e.kind() == tracker_client::TrackerClientError::Kind::kNotFound) {
      throw FetchError(FetchError::Kind::kNotFound, digest.str() + " is unknown: " + e.what());
    }
    throw FetchError(FetchError::Kind::kTracker, "metainfo of " + digest.str() + ": " + e.what());
  }
  const proto::Metainfo& info = answer.metainfo;
  if (info.digest != digest) {
    throw FetchError(FetchError::Kind::kTracker, "the tracker answered metainfo of " +
                                                     info.digest.str() + " for " + digest.str());
  }
  // An agent told to require signatures never falls back to unsigned metainfo; a valid one was
  // made by an origin that hashed the bytes, so the pieces alone prove the blob.
  const bool pieces_bound_to_digest = !verifier_.empty();
  if (pieces_bound_to_digest) {
    auto verdict = verifier_.check(answer);
    if (verdict != proto::MetainfoVerifier::Verdict::kValid) {
      metrics_.metainfo_signature_failures.inc();
      throw FetchError(FetchError::Kind::kUnsigned,
                       "metainfo of " + digest.str() + " refused: signature " +
                           proto::describe(verdict) +
                           "; metainfo_public_keys requires a signature by one of its " +
                           std::to_string(verifier_.key_count()) + " key(s)");
    }
  }

  if (stopping_) throw FetchError(FetchError::Kind::kShuttingDown, "the agent is stopping");
  if (hooks_.before_fetch) {
    try {
      hooks_.before_fetch(answer);
    } catch (const CacheFullError& e) {
      throw FetchError(FetchError::Kind::kCacheFull, e.what());
    }
  }
  std::shared_future<swarm::FetchResult> result = fetch_(info, pieces_bound_to_digest);
  {
    std::lock_guard lock(mu_);
    in_swarm_.emplace(digest, info);
  }
  while (result.wait_for(kPollInterval) != std::future_status::ready) {
    if (stopping_) throw FetchError(FetchError::Kind::kShuttingDown, "the agent is stopping");
  }
  const swarm::FetchResult& r = result.get();
  if (!r.ok) {
    // The engine reports a full disk as the errno text of the failed write.
    if (r.error.find("No space left on device") != std::string::npos) {
      throw FetchError(FetchError::Kind::kCacheFull, "disk full: " + digest.str() + ": " + r.error);
    }
    throw FetchError(FetchError::Kind::kSwarm, digest.str() + ": " + r.error);
  }
  // Serve only what the CAS published under the digest's own name.
  if (!cas_.contains(digest)) {
    throw FetchError(FetchError::Kind::kSwarm,
                     digest.str() + ": the swarm reported success but the cache does not hold it");
  }

  metrics_.fetches.inc();
  if (pieces_bound_to_digest) metrics_.signed_metainfo_fetches.inc();
  if (hooks_.after_fetch) hooks_.after_fetch(info);
  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  spdlog::info(
      "fetched {} ({} bytes) in {:.2f}s: {} bytes from peers, {} from origins, {} from the "
      "fallback; {}",
      digest.str(), info.size, seconds, r.stats.bytes_from_peers, r.stats.bytes_from_origins,
      r.stats.bytes_from_fallback,
      pieces_bound_to_digest   ? "signed metainfo, published on its verified pieces"
      : cas_.whole_blob_hash() ? "unsigned metainfo, whole blob hashed again"
                               : "unsigned metainfo, published on its verified pieces");
  return cas_.path_of(digest);
}

}  // namespace fanout::agent
