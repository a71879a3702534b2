#include "agent/blob_cache.h"

#include <sys/statvfs.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "common/log/log.h"
#include "common/store/file_io.h"
#include "proto/proto_error.h"

namespace fanout::agent {
namespace fs = std::filesystem;

BlobCache::BlobCache(BlobStore& cas, cache::CacheLimits limits, AgentMetrics& metrics, Hooks hooks,
                     std::chrono::milliseconds upload_grace)
    : cas_(cas),
      index_(limits),
      metrics_(metrics),
      hooks_(std::move(hooks)),
      upload_grace_(upload_grace) {
  fs::create_directories(cas_.root() / "metainfo");
}

fs::path BlobCache::metainfo_path(const Digest& digest) const {
  return cas_.root() / "metainfo" / digest.hex();
}

fs::path BlobCache::signature_path(const Digest& digest) const {
  return cas_.root() / "metainfo" / (digest.hex() + ".sig");
}

namespace {

std::string read_whole(const fs::path& path, bool& ok) {
  std::ifstream in(path, std::ios::binary);
  ok = bool(in);
  if (!ok) return {};
  std::stringstream buf;
  buf << in.rdbuf();
  return buf.str();
}

}  // namespace

BlobCache::Inventory BlobCache::load() {
  Inventory inventory;
  std::vector<std::pair<fs::file_time_type, Digest>> found;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(cas_.root() / "blobs", ec);
       it != fs::recursive_directory_iterator(); it.increment(ec)) {
    Digest d;
    if (!it->is_regular_file(ec) ||
        !Digest::try_parse("sha256:" + it->path().filename().string(), d)) {
      continue;
    }
    found.emplace_back(it->last_write_time(ec), d);
  }
  std::sort(found.begin(), found.end());
  for (const auto& [when, d] : found) {
    if (auto size = cas_.size_of(d)) index_.add(d, *size);
  }

  for (auto it = fs::directory_iterator(cas_.root() / "metainfo", ec);
       it != fs::directory_iterator(); it.increment(ec)) {
    Digest d;
    if (!Digest::try_parse("sha256:" + it->path().filename().string(), d)) continue;
    auto info = metainfo(d);
    if (!info) {
      spdlog::warn("dropping unreadable metainfo {}", it->path().string());
      fs::remove(it->path(), ec);
      fs::remove(signature_path(d), ec);
      continue;
    }
    (cas_.contains(d) ? inventory.complete : inventory.incomplete).push_back(std::move(*info));
  }
  update_gauge();
  return inventory;
}

void BlobCache::save_metainfo(const proto::Metainfo& info, const std::string& signature) {
  // The signature first: metainfo saved unsigned by an earlier run may get one now.
  if (!signature.empty()) fileio::write_file_atomically(signature_path(info.digest), signature);
  fs::path path = metainfo_path(info.digest);
  if (fs::exists(path)) return;  // immutable: the same digest always has the same metainfo
  fileio::write_file_atomically(path, info.encode());
}

std::string BlobCache::metainfo_signature(const Digest& digest) const {
  bool ok = false;
  return read_whole(signature_path(digest), ok);
}

std::optional<proto::Metainfo> BlobCache::metainfo(const Digest& digest) const {
  bool ok = false;
  std::string encoded = read_whole(metainfo_path(digest), ok);
  if (!ok) return std::nullopt;
  try {
    proto::Metainfo info = proto::Metainfo::decode(encoded);
    if (info.digest != digest) return std::nullopt;
    return info;
  } catch (const proto::ProtoError&) {
    return std::nullopt;
  }
}

uint64_t BlobCache::free_bytes() const {
  if (hooks_.free_bytes) return hooks_.free_bytes();
  struct statvfs st {};
  if (::statvfs(cas_.root().c_str(), &st) != 0) return UINT64_MAX;  // unknown: let writes tell
  return uint64_t{st.f_bavail} * st.f_frsize;
}

void BlobCache::make_room(const proto::Metainfo& info) {
  const auto& limits = index_.limits();
  if (limits.max_bytes != 0 && info.size > limits.high_bytes()) {
    throw CacheFullError(info.digest.str() + " (" + std::to_string(info.size) +
                         " bytes) is larger than the cache's high watermark (" +
                         std::to_string(limits.high_bytes()) + " bytes of cache.max_size " +
                         std::to_string(limits.max_bytes) + ")");
  }
  trim(info.size);
  // The disk may be shared or smaller than the cap. A partial file already holds some of the
  // bytes, but counting the whole size keeps the check simple and errs towards refusing early.
  uint64_t free = free_bytes();
  if (free >= info.size) return;
  std::lock_guard lock(evict_mu_);
  // Evict more, oldest first, until the blob fits on the disk.
  for (const auto& d :
       index_.victims(UINT64_MAX / 2, [this](const Digest& d) { return uploading(d); })) {
    if (free_bytes() >= info.size) break;
    evict(d);
  }
  free = free_bytes();
  if (free < info.size) {
    throw CacheFullError("disk full: " + info.digest.str() + " needs " + std::to_string(info.size) +
                         " bytes, " + std::to_string(free) + " are free in " +
                         cas_.root().string() + " and every cached blob left is pinned");
  }
}

void BlobCache::admit(const Digest& digest) {
  if (auto size = cas_.size_of(digest)) index_.add(digest, *size);
  // The blob just fetched is about to be read: never its own victim.
  cache::CachePin hold(index_, digest);
  trim();
}

void BlobCache::touch(const Digest& digest) {
  index_.touch(digest);
  // The file's time carries the order across restarts; an error here only costs that.
  std::error_code ec;
  fs::last_write_time(cas_.path_of(digest), fs::file_time_type::clock::now(), ec);
}

size_t BlobCache::trim(uint64_t incoming) {
  sample_uploads();
  std::lock_guard lock(evict_mu_);
  auto victims = index_.victims(incoming, [this](const Digest& d) { return uploading(d); });
  for (const auto& d : victims) evict(d);
  update_gauge();
  return victims.size();
}

void BlobCache::sample_uploads() {
  if (!hooks_.bytes_uploaded) return;
  auto now = std::chrono::steady_clock::now();
  std::vector<Digest> held;
  // The index has no iteration API on purpose (it would hand out its lock); sample what we know.
  {
    std::lock_guard lock(uploads_mu_);
    for (auto& [d, s] : uploads_) held.push_back(d);
  }
  for (const auto& d : held) {
    uint64_t bytes = hooks_.bytes_uploaded(d);
    std::lock_guard lock(uploads_mu_);
    auto& s = uploads_[d];
    if (bytes != s.bytes) {
      s.bytes = bytes;
      s.moved = now;
    }
  }
}

bool BlobCache::uploading(const Digest& digest) {
  if (!hooks_.bytes_uploaded) return false;
  uint64_t bytes = hooks_.bytes_uploaded(digest);
  auto now = std::chrono::steady_clock::now();
  std::lock_guard lock(uploads_mu_);
  auto [it, inserted] = uploads_.try_emplace(digest);
  auto& s = it->second;
  if (inserted) {
    // First look: any upload so far counts as recent, so a blob being served right now is not
    // evicted just because nobody sampled it before.
    s.bytes = bytes;
    s.moved = bytes > 0 ? now : std::chrono::steady_clock::time_point{};
  } else if (bytes != s.bytes) {
    s.bytes = bytes;
    s.moved = now;
  }
  return s.moved != std::chrono::steady_clock::time_point{} && now - s.moved < upload_grace_;
}

void BlobCache::evict(const Digest& digest) {
  // Re-check under the eviction lock: a reader may have pinned it since victims() was computed.
  if (index_.pinned(digest)) return;
  if (hooks_.before_evict) hooks_.before_evict(digest);
  if (hooks_.release_links) hooks_.release_links(cas_.path_of(digest));
  std::error_code ec;
  fs::remove(cas_.path_of(digest), ec);
  if (ec) {
    spdlog::warn("evicting {}: {}", digest.str(), ec.message());
    return;
  }
  fs::remove(metainfo_path(digest), ec);
  fs::remove(signature_path(digest), ec);
  index_.erase(digest);
  {
    std::lock_guard lock(uploads_mu_);
    uploads_.erase(digest);
  }
  metrics_.evictions.inc();
  spdlog::info("evicted {} (cache {} bytes)", digest.str(), index_.total_bytes());
}

void BlobCache::update_gauge() {
  metrics_.cache_bytes.set(static_cast<int64_t>(index_.total_bytes()));
  metrics_.cache_blobs.set(static_cast<int64_t>(index_.count()));
}

}  // namespace fanout::agent
