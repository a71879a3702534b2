#include "origin/blob_puller.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <optional>
#include <sstream>
#include <vector>

#include "common/log/log.h"
#include "common/objectstore/backoff.h"
#include "common/store/file_io.h"
#include "origin/pull_sink.h"
#include "proto/proto_error.h"

namespace fanout::origin {
namespace {

// Reads of a local file to rebuild its metainfo; 1 MiB keeps each call cheap relative to its
// syscall and the memory small.
constexpr size_t kReadChunk = 1u << 20;

std::optional<std::string> read_small_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// Streams a file already in the CAS through MetainfoBuilder (used when its metainfo was lost).
proto::Metainfo build_from_file(const std::filesystem::path& path, uint64_t size) {
  int fd = fileio::open_or_throw(path, O_RDONLY);
  proto::MetainfoBuilder builder(size);
  std::vector<char> buf(kReadChunk);
  try {
    for (uint64_t off = 0; off < size;) {
      size_t n = static_cast<size_t>(std::min<uint64_t>(buf.size(), size - off));
      fileio::pread_all(fd, buf.data(), n, static_cast<off_t>(off), path);
      builder.update(buf.data(), n);
      off += n;
    }
  } catch (...) {
    ::close(fd);
    throw;
  }
  ::close(fd);
  return builder.finish();
}

}  // namespace

const char* to_string(PullStatus::State state) {
  switch (state) {
    case PullStatus::State::kAbsent:
      return "absent";
    case PullStatus::State::kPulling:
      return "pulling";
    case PullStatus::State::kReady:
      return "ready";
    case PullStatus::State::kFailed:
      return "failed";
  }
  return "unknown";
}

BlobPuller::BlobPuller(ObjectStore& objects, const BlobStore& cas,
                       std::filesystem::path metainfo_dir, SeedFn seed, OriginMetrics& metrics,
                       PullOptions options)
    : objects_(objects),
      cas_(cas),
      metainfo_dir_(std::move(metainfo_dir)),
      seed_(std::move(seed)),
      metrics_(metrics),
      options_(std::move(options)) {
  if (options_.part_size == 0) options_.part_size = 16ull << 20;
  if (options_.concurrency == 0) options_.concurrency = 1;
  if (options_.max_attempts == 0) options_.max_attempts = 1;
  std::filesystem::create_directories(metainfo_dir_);
}

BlobPuller::~BlobPuller() {
  stopping_ = true;
  std::vector<std::jthread> prefetches;
  {
    std::lock_guard lock(mu_);
    prefetches.swap(prefetches_);
  }
  prefetches.clear();  // joins
  std::vector<Sync> syncs;
  {
    std::lock_guard lock(mu_);
    syncs.swap(syncs_);
  }
  syncs.clear();  // joins: a clean stop leaves every pulled blob durable
}

void BlobPuller::set_cache_cap(uint64_t max_bytes, UnseedFn unseed, InUseFn in_use) {
  std::lock_guard lock(mu_);
  cache_cap_ = max_bytes;
  unseed_ = std::move(unseed);
  in_use_ = std::move(in_use);
}

std::shared_ptr<const PulledBlob> BlobPuller::pull(const Digest& digest,
                                                   std::shared_ptr<ObjectStore> source) {
  std::promise<std::shared_ptr<const PulledBlob>> promise;
  std::shared_future<std::shared_ptr<const PulledBlob>> shared;
  std::shared_ptr<Progress> progress;
  {
    std::lock_guard lock(mu_);
    if (auto it = ready_.find(digest); it != ready_.end()) {
      lru_.splice(lru_.begin(), lru_, it->second.lru);
      return it->second.blob;
    }
    if (auto it = in_flight_.find(digest); it != in_flight_.end()) {
      shared = it->second.result;
      metrics_.singleflight_joins.inc();
    } else {
      progress = std::make_shared<Progress>();
      in_flight_.emplace(digest, InFlight{promise.get_future().share(), progress});
      failures_.erase(digest);
    }
  }
  if (shared.valid()) return shared.get();  // another request is pulling this digest

  try {
    std::shared_ptr<const PulledBlob> blob = load_cached(digest);
    bool fetched = false;
    if (!blob && source) {
      try {
        blob = pull_uncached(digest, *progress, *source);
        metrics_.replicas_copied.inc();
      } catch (const std::exception& e) {
        if (stopping_) throw;
        spdlog::warn("copy of {} from {} failed ({}); reading the object store instead",
                     digest.str(), source->describe(), e.what());
        progress->bytes = 0;
      }
    }
    if (!blob) {
      blob = pull_uncached(digest, *progress, objects_);
      fetched = true;
    }
    // Seed before publishing, so every caller that sees the blob sees it seeded.
    seed_(blob->metainfo, blob->path);
    {
      std::lock_guard lock(mu_);
      hold_locked(digest, blob);
      in_flight_.erase(digest);
    }
    promise.set_value(blob);
    if (fetched && on_fetched_) on_fetched_(digest);
    return blob;
  } catch (const std::exception& e) {
    {
      std::lock_guard lock(mu_);
      in_flight_.erase(digest);
      failures_[digest] = e.what();
    }
    promise.set_exception(std::current_exception());
    throw;
  }
}

void BlobPuller::prefetch(const Digest& digest, std::shared_ptr<ObjectStore> source) {
  std::lock_guard lock(mu_);
  if (ready_.contains(digest) || in_flight_.contains(digest) || stopping_) return;
  // Drop the handles of finished prefetches (their threads have returned; joining is instant).
  std::erase_if(prefetches_, [](std::jthread& t) { return !t.joinable(); });
  prefetches_.emplace_back([this, digest, source = std::move(source)] {
    try {
      pull(digest, source);
    } catch (const std::exception&) {
      // Logged by pull_uncached and kept for status().
    }
  });
}

PullStatus BlobPuller::status(const Digest& digest) {
  PullStatus status;
  std::lock_guard lock(mu_);
  if (auto it = ready_.find(digest); it != ready_.end()) {
    status.state = PullStatus::State::kReady;
    status.size = status.bytes_pulled = it->second.blob->metainfo.size;
  } else if (auto it = in_flight_.find(digest); it != in_flight_.end()) {
    status.state = PullStatus::State::kPulling;
    status.bytes_pulled = it->second.progress->bytes;
    status.size = it->second.progress->size;
  } else if (auto it = failures_.find(digest); it != failures_.end()) {
    status.state = PullStatus::State::kFailed;
    status.error = it->second;
  }
  return status;
}

void BlobPuller::hold_locked(const Digest& digest, std::shared_ptr<const PulledBlob> blob) {
  if (ready_.contains(digest)) return;
  lru_.push_front(digest);
  cached_bytes_ += blob->metainfo.size;
  ready_.emplace(digest, Held{std::move(blob), lru_.begin()});
  evict_over_cap_locked(digest);
  metrics_.cache_bytes.set(static_cast<int64_t>(cached_bytes_));
}

void BlobPuller::evict_over_cap_locked(const Digest& keep) {
  if (cache_cap_ == 0) return;
  // From the least recently used end; skip blobs a swarm is fetching or a request holds.
  for (auto it = lru_.end(); cached_bytes_ > cache_cap_ && it != lru_.begin();) {
    --it;
    const Digest digest = *it;
    auto held = ready_.find(digest);
    if (digest == keep || held->second.blob.use_count() > 1 || (in_use_ && in_use_(digest))) {
      continue;
    }
    // Stop seeding first, so no peer is promised a piece of a file that is going away.
    if (unseed_) unseed_(digest);
    std::error_code ignored;
    std::filesystem::remove(held->second.blob->path, ignored);
    std::filesystem::remove(metainfo_dir_ / digest.hex(), ignored);
    cached_bytes_ -= held->second.blob->metainfo.size;
    spdlog::info("evicted {} ({} bytes) from the cache; {} of {} bytes used", digest.str(),
                 held->second.blob->metainfo.size, cached_bytes_, cache_cap_);
    ready_.erase(held);
    it = lru_.erase(it);
    metrics_.evictions.inc();
  }
  if (cached_bytes_ > cache_cap_) {
    spdlog::warn("cache holds {} bytes, over its cap of {}: every other blob is in use",
                 cached_bytes_, cache_cap_);
  }
}

std::shared_ptr<const PulledBlob> BlobPuller::load_cached(const Digest& digest) {
  std::optional<uint64_t> size = cas_.size_of(digest);
  if (!size) return nullptr;
  auto blob = std::make_shared<PulledBlob>();
  blob->path = cas_.path_of(digest);
  if (auto encoded = read_small_file(metainfo_dir_ / digest.hex())) {
    try {
      blob->metainfo = proto::Metainfo::decode(*encoded);
      if (blob->metainfo.digest == digest && blob->metainfo.size == *size) return blob;
    } catch (const proto::ProtoError& e) {
      spdlog::warn("stored metainfo of {} is unusable ({}); rebuilding it", digest.str(), e.what());
    }
  }
  // No metainfo file: the blob was stored but perhaps never made durable (a crash before its
  // fsync), so its bytes are hashed again; a bad copy is dropped and pulled anew.
  blob->metainfo = build_from_file(blob->path, *size);
  if (blob->metainfo.digest != digest) {
    spdlog::warn("cached blob {} no longer hashes to {}; removing it and pulling again",
                 blob->path.string(), digest.str());
    std::error_code ignored;
    std::filesystem::remove(blob->path, ignored);
    return nullptr;
  }
  persist_metainfo(blob->metainfo);
  return blob;
}

void BlobPuller::backoff(uint32_t attempt, const std::string& why) {
  metrics_.objectstore_retries.inc();
  std::chrono::milliseconds delay;
  {
    std::lock_guard lock(mu_);
    delay = full_jitter_delay(options_.retry_base_delay, options_.retry_max_delay, attempt, rng_);
  }
  spdlog::info("object store: {}; retry {} of {} in {} ms", why, attempt, options_.max_attempts - 1,
               delay.count());
  options_.sleep(delay);
}

uint64_t BlobPuller::head_with_retries(ObjectStore& store, const std::string& key) {
  for (uint32_t attempt = 1;; ++attempt) {
    try {
      std::optional<uint64_t> size = store.size(key);
      if (!size) throw ObjectNotFoundError("no object " + key);
      return *size;
    } catch (const TransientObjectStoreError& e) {
      if (attempt >= options_.max_attempts || stopping_) {
        throw ObjectStoreError(std::string(e.what()) + " (gave up after " +
                               std::to_string(attempt) + " attempts)");
      }
      backoff(attempt, e.what());
    }
  }
}

void BlobPuller::read_part_with_retries(ObjectStore& store, const std::string& key, uint64_t offset,
                                        uint64_t length, std::string& data) {
  metrics::Counter& bytes_read =
      &store == &objects_ ? metrics_.objectstore_bytes_read : metrics_.replica_bytes_read;
  for (uint32_t attempt = 1;; ++attempt) {
    try {
      data.clear();
      try {
        store.read_range(key, offset, length, data);
      } catch (const TransientObjectStoreError&) {
        bytes_read.inc(data.size());
        throw;
      }
      bytes_read.inc(data.size());
      if (data.size() < length) {
        throw TransientObjectStoreError("object " + key + " bytes " + std::to_string(offset) + "+" +
                                        std::to_string(length) + ": short read, " +
                                        std::to_string(data.size()) + " bytes");
      }
      return;
    } catch (const TransientObjectStoreError& e) {
      if (attempt >= options_.max_attempts || stopping_) {
        throw ObjectStoreError(std::string(e.what()) + " (gave up after " +
                               std::to_string(attempt) + " attempts)");
      }
      backoff(attempt, e.what());
    }
  }
}

std::shared_ptr<const PulledBlob> BlobPuller::pull_uncached(const Digest& digest,
                                                            Progress& progress,
                                                            ObjectStore& store) {
  const std::string key = blob_key(digest);
  const auto started = std::chrono::steady_clock::now();
  try {
    uint64_t size;
    try {
      size = head_with_retries(store, key);
    } catch (const ObjectNotFoundError&) {
      throw BlobNotFoundError("no object " + key + " in " + store.describe() + " for " +
                              digest.str());
    }
    progress.size = size;

    // Parts are fetched, written and piece-hashed in parallel but claimed in order, at most
    // `window` ahead of the one the whole-blob hash needs next, so memory stays bounded however
    // large the blob; that hash (PullSink::hash_in_order) is the only sequential pass.
    const uint64_t part = options_.part_size;
    const uint64_t parts = (size + part - 1) / part;
    const uint64_t window = 2ull * options_.concurrency;
    std::mutex mu;
    std::condition_variable cv;
    uint64_t next_claim = 0, next_write = 0;
    std::unordered_map<uint64_t, std::string> done;
    // Part buffers handed back once hashed: reusing them spares a fresh allocation (and its page
    // faults) per part, which on a fast store costs more than the hashing.
    std::vector<std::string> spare;
    std::exception_ptr error;
    bool abort = false;

    auto sink_owner = std::make_shared<PullSink>(cas_, digest, size);
    PullSink& sink = *sink_owner;
    auto worker = [&] {
      for (;;) {
        uint64_t index;
        {
          std::unique_lock lock(mu);
          cv.wait(lock,
                  [&] { return abort || next_claim >= parts || next_claim < next_write + window; });
          if (abort || next_claim >= parts) return;
          index = next_claim++;
        }
        try {
          uint64_t offset = index * part;
          std::string data;
          {
            std::lock_guard lock(mu);
            if (!spare.empty()) {
              data = std::move(spare.back());
              spare.pop_back();
            }
          }
          read_part_with_retries(store, key, offset, std::min(part, size - offset), data);
          sink.write_part(offset, data.data(), data.size());
          std::lock_guard lock(mu);
          done.emplace(index, std::move(data));
        } catch (...) {
          std::lock_guard lock(mu);
          if (!error) error = std::current_exception();
          abort = true;
        }
        cv.notify_all();
      }
    };

    {
      std::vector<std::jthread> workers;
      for (uint64_t i = 0; i < std::min<uint64_t>(options_.concurrency, parts); ++i) {
        workers.emplace_back(worker);
      }
      try {
        while (next_write < parts) {
          std::string data;
          {
            std::unique_lock lock(mu);
            cv.wait(lock, [&] { return error || done.contains(next_write) || stopping_; });
            if (error) std::rethrow_exception(error);
            if (stopping_) throw ObjectStoreError("origin is stopping");
            auto it = done.find(next_write);
            data = std::move(it->second);
            done.erase(it);
            ++next_write;
          }
          cv.notify_all();
          sink.hash_in_order((next_write - 1) * part, data.data(), data.size());
          progress.bytes += data.size();
          {
            std::lock_guard lock(mu);
            spare.push_back(std::move(data));
          }
        }
      } catch (...) {
        {
          std::lock_guard lock(mu);
          abort = true;
        }
        cv.notify_all();
        throw;  // the workers join as `workers` goes out of scope
      }
    }

    proto::Metainfo info;
    try {
      info = sink.finish();
    } catch (const proto::ProtoError& e) {
      throw ObjectStoreError("object " + key + " changed size while it was read");
    }
    if (info.digest != digest) {
      // The sink's destructor removes the temp file: nothing is published.
      throw CorruptObjectError("object " + key + " does not hash to " + digest.str() +
                               " (its bytes hash to " + info.digest.str() +
                               "); refused, nothing stored");
    }
    auto blob = std::make_shared<PulledBlob>();
    try {
      blob->path = sink.publish(info.digest);
    } catch (const CorruptBlobError& e) {
      throw CorruptObjectError("object " + key + " does not hash to " + digest.str() + ": " +
                               e.what());
    }
    blob->metainfo = std::move(info);
    sync_in_background(std::move(sink_owner), blob->metainfo);

    if (&store == &objects_) metrics_.pulls.inc();
    double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    spdlog::info("pulled {} ({} bytes, {} pieces, {} parts) from {} in {:.2f}s ({:.0f} MB/s)",
                 digest.str(), blob->metainfo.size, blob->metainfo.piece_count(), parts,
                 store.describe(), seconds, seconds > 0 ? size / seconds / 1e6 : 0.0);
    return blob;
  } catch (const std::exception& e) {
    metrics_.pull_failures.inc();
    spdlog::warn("pull of {} failed: {}", digest.str(), e.what());
    throw;
  }
}

std::unique_ptr<BlobPuller::Upload> BlobPuller::begin_upload(const Digest& digest) {
  return std::unique_ptr<Upload>(new Upload(*this, digest));
}

BlobPuller::Upload::Upload(BlobPuller& puller, const Digest& digest)
    : puller_(puller), digest_(digest), writer_(puller.cas_.begin(digest)) {}

BlobPuller::Upload::~Upload() = default;

void BlobPuller::Upload::write(const char* data, size_t size) {
  writer_->write(data, size);
}

std::shared_ptr<const PulledBlob> BlobPuller::Upload::commit() {
  BlobPuller& p = puller_;
  const std::string key = blob_key(digest_);
  std::filesystem::path path;
  try {
    path = writer_->commit();  // verifies; publishes the same bytes again if already held
  } catch (const CorruptBlobError& e) {
    p.metrics_.uploads_rejected.inc();
    throw UploadMismatchError("the body does not hash to " + digest_.str() + " (" + e.what() +
                              "); nothing stored");
  }
  {
    // Held already: it came from, or went to, the object store before.
    std::lock_guard lock(p.mu_);
    if (auto it = p.ready_.find(digest_); it != p.ready_.end()) return it->second.blob;
  }
  std::optional<uint64_t> size = p.cas_.size_of(digest_);
  if (!size) throw StoreError("uploaded blob " + digest_.str() + " vanished from the cache");
  try {
    p.objects_.put(key, path);
  } catch (...) {
    // The object store is the source of truth: a blob it does not have is not kept here either.
    std::error_code ignored;
    std::lock_guard lock(p.mu_);
    if (!p.ready_.contains(digest_)) std::filesystem::remove(path, ignored);
    throw;
  }
  auto blob = std::make_shared<PulledBlob>();
  blob->path = path;
  blob->metainfo = build_from_file(path, *size);
  p.persist_metainfo(blob->metainfo);
  {
    std::lock_guard lock(p.mu_);
    if (auto it = p.ready_.find(digest_); it != p.ready_.end()) return it->second.blob;
  }
  p.seed_(blob->metainfo, blob->path);
  {
    std::lock_guard lock(p.mu_);
    p.hold_locked(digest_, blob);
  }
  p.metrics_.uploads.inc();
  spdlog::info("uploaded {} ({} bytes) to {}", digest_.str(), *size, p.objects_.describe());
  if (p.on_fetched_) p.on_fetched_(digest_);
  return blob;
}

void BlobPuller::sync_in_background(std::shared_ptr<PullSink> sink, proto::Metainfo info) {
  auto done = std::make_shared<std::atomic<bool>>(false);
  std::lock_guard lock(mu_);
  std::erase_if(syncs_, [](const Sync& s) { return s.done->load(); });
  syncs_.push_back(
      Sync{done, std::jthread([this, sink = std::move(sink), info = std::move(info), done] {
             try {
               sink->sync();
               persist_metainfo(info);
             } catch (const std::exception& e) {
               // Without its metainfo file the blob is hashed again before a
               // restart uses it.
               spdlog::warn("cannot make {} durable: {}", info.digest.str(), e.what());
             }
             *done = true;
           })});
}

void BlobPuller::persist_metainfo(const proto::Metainfo& info) {
  // Best effort: without the file a restart rebuilds the metainfo from the CAS copy.
  std::filesystem::path dest = metainfo_dir_ / info.digest.hex();
  try {
    fileio::write_file_atomically(dest, info.encode());
  } catch (const std::exception& e) {
    spdlog::warn("cannot keep metainfo of {} in {}: {}", info.digest.str(), dest.string(),
                 e.what());
  }
}

size_t BlobPuller::reseed_cached() {
  size_t seeded = 0;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(metainfo_dir_, ec)) {
    Digest digest;
    if (!Digest::try_parse("sha256:" + entry.path().filename().string(), digest)) continue;
    try {
      std::optional<uint64_t> size = cas_.size_of(digest);
      if (!size) continue;  // the blob itself was removed: pull again on demand
      auto encoded = read_small_file(entry.path());
      if (!encoded) continue;
      auto blob = std::make_shared<PulledBlob>();
      blob->metainfo = proto::Metainfo::decode(*encoded);
      blob->path = cas_.path_of(digest);
      if (blob->metainfo.digest != digest || blob->metainfo.size != *size) continue;
      seed_(blob->metainfo, blob->path);
      std::lock_guard lock(mu_);
      hold_locked(digest, std::move(blob));
      ++seeded;
    } catch (const std::exception& e) {
      spdlog::warn("not reseeding {}: {}", digest.str(), e.what());
    }
  }
  return seeded;
}

}  // namespace fanout::origin
