#include "origin/blob_puller.h"

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <optional>
#include <random>
#include <sstream>
#include <vector>

#include "common/log/log.h"
#include "common/store/file_io.h"
#include "proto/proto_error.h"

namespace fanout::origin {
namespace {

// Object-store reads feed three SHA-256 passes and a file write; 1 MiB keeps each call cheap
// relative to its syscall and the memory per concurrent pull small.
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

BlobPuller::BlobPuller(ObjectStore& objects, const BlobStore& cas,
                       std::filesystem::path metainfo_dir, SeedFn seed, OriginMetrics& metrics)
    : objects_(objects),
      cas_(cas),
      metainfo_dir_(std::move(metainfo_dir)),
      seed_(std::move(seed)),
      metrics_(metrics) {
  std::filesystem::create_directories(metainfo_dir_);
}

std::shared_ptr<const PulledBlob> BlobPuller::pull(const Digest& digest) {
  std::promise<std::shared_ptr<const PulledBlob>> promise;
  std::shared_future<std::shared_ptr<const PulledBlob>> shared;
  {
    std::lock_guard lock(mu_);
    if (auto it = ready_.find(digest); it != ready_.end()) return it->second;
    if (auto it = in_flight_.find(digest); it != in_flight_.end()) {
      shared = it->second;
    } else {
      in_flight_.emplace(digest, promise.get_future().share());
    }
  }
  if (shared.valid()) return shared.get();  // another request is pulling this digest

  try {
    std::shared_ptr<const PulledBlob> blob = load_cached(digest);
    if (!blob) blob = pull_uncached(digest);
    // Seed before publishing, so every caller that sees the blob sees it seeded.
    seed_(blob->metainfo, blob->path);
    {
      std::lock_guard lock(mu_);
      ready_.emplace(digest, blob);
      in_flight_.erase(digest);
    }
    promise.set_value(blob);
    return blob;
  } catch (...) {
    {
      std::lock_guard lock(mu_);
      in_flight_.erase(digest);
    }
    promise.set_exception(std::current_exception());
    throw;
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
      spdlog::warn("stored metainfo of {} is unusable ({}); rebuilding it", digest.str(),
                   e.what());
    }
  }
  // The CAS verified these bytes when it stored them; rebuilding reads the local copy only.
  blob->metainfo = build_from_file(blob->path, *size);
  if (blob->metainfo.digest != digest) {
    throw StoreError("cached blob " + blob->path.string() + " no longer hashes to " +
                     digest.str());
  }
  persist_metainfo(blob->metainfo);
  return blob;
}

std::shared_ptr<const PulledBlob> BlobPuller::pull_uncached(const Digest& digest) {
  const std::string key = blob_key(digest);
  const auto started = std::chrono::steady_clock::now();
  try {
    std::unique_ptr<ObjectReader> reader;
    try {
      reader = objects_.open(key);
    } catch (const ObjectNotFoundError&) {
      throw BlobNotFoundError("no object " + key + " in " + objects_.describe() + " for " +
                              digest.str());
    }

    // One pass over the object: into the CAS and through the hashes together.
    std::unique_ptr<BlobStore::Writer> writer = cas_.begin(digest);
    proto::MetainfoBuilder builder(reader->size());
    std::vector<char> buf(kReadChunk);
    while (size_t n = reader->read(buf.data(), buf.size())) {
      metrics_.objectstore_bytes_read.inc(n);
      if (builder.bytes_seen() + n > reader->size()) {
        throw ObjectStoreError("object " + key + " grew while it was read");
      }
      builder.update(buf.data(), n);
      writer->write(buf.data(), n);
    }
    proto::Metainfo info;
    try {
      info = builder.finish();
    } catch (const proto::ProtoError& e) {
      throw ObjectStoreError("object " + key + " changed size while it was read");
    }
    if (info.digest != digest) {
      // The writer's destructor removes the temp file: nothing is published.
      throw CorruptObjectError("object " + key + " does not hash to " + digest.str() +
                               " (its bytes hash to " + info.digest.str() +
                               "); refused, nothing stored");
    }
    auto blob = std::make_shared<PulledBlob>();
    try {
      blob->path = writer->commit();
    } catch (const CorruptBlobError& e) {
      throw CorruptObjectError("object " + key + " does not hash to " + digest.str() + ": " +
                               e.what());
    }
    blob->metainfo = std::move(info);
    persist_metainfo(blob->metainfo);

    metrics_.pulls.inc();
    double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    spdlog::info("pulled {} ({} bytes, {} pieces) from {} in {:.2f}s", digest.str(),
                 blob->metainfo.size, blob->metainfo.piece_count(), objects_.describe(), seconds);
    return blob;
  } catch (const std::exception& e) {
    metrics_.pull_failures.inc();
    spdlog::warn("pull of {} failed: {}", digest.str(), e.what());
    throw;
  }
}

void BlobPuller::persist_metainfo(const proto::Metainfo& info) {
  // Best effort: without the file a restart rebuilds the metainfo from the CAS copy.
  std::filesystem::path dest = metainfo_dir_ / info.digest.hex();
  std::filesystem::path tmp =
      metainfo_dir_ / (".tmp-" + info.digest.hex() + "-" + std::to_string(std::random_device{}()));
  try {
    std::string encoded = info.encode();
    int fd = fileio::open_or_throw(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    try {
      fileio::write_all(fd, encoded.data(), encoded.size(), tmp);
      fileio::fsync_or_throw(fd, tmp);
    } catch (...) {
      ::close(fd);
      throw;
    }
    ::close(fd);
    std::filesystem::rename(tmp, dest);
  } catch (const std::exception& e) {
    std::error_code ignored;
    std::filesystem::remove(tmp, ignored);
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
      ready_.emplace(digest, std::move(blob));
      ++seeded;
    } catch (const std::exception& e) {
      spdlog::warn("not reseeding {}: {}", digest.str(), e.what());
    }
  }
  return seeded;
}

}  // namespace fanout::origin
