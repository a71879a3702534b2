#include "tracker/metainfo_cache.h"

#include <httplib.h>

#include "common/log/log.h"
#include "common/placement/ring.h"
#include "proto/error_body.h"
#include "proto/metainfo_signature.h"

namespace fanout::tracker {
namespace {

constexpr size_t kMaxQuotedBody = 200;

// The origin's own explanation: the detail of its JSON error body, else the start of the body.
std::string origin_detail(const std::string& body) {
  try {
    proto::ErrorBody error = proto::decode_error_body(body);
    return error.detail.empty() ? error.error : error.error + ": " + error.detail;
  } catch (const std::exception&) {
    return body.size() > kMaxQuotedBody ? body.substr(0, kMaxQuotedBody) + "..." : body;
  }
}

std::string join(const std::vector<std::string>& parts) {
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : "; ") + p;
  return out;
}

}  // namespace

MetainfoCache::MetainfoCache(Options options, metrics::Counter& origin_fetches,
                             metrics::Counter& cache_hits)
    : options_(std::move(options)), origin_fetches_(origin_fetches), cache_hits_(cache_hits) {}

std::shared_ptr<const CachedMetainfo> MetainfoCache::get(const Digest& digest) {
  std::promise<Entry> promise;
  std::shared_future<Entry> pending;
  Entry stale;  // unsigned and old: asked for again, served if that fails
  {
    std::lock_guard lock(mu_);
    if (auto it = cache_.find(digest); it != cache_.end()) {
      const Entry& e = it->second;
      if (!e->signature.empty() ||
          std::chrono::steady_clock::now() - e->fetched_at < options_.unsigned_recheck) {
        cache_hits_.inc();
        return e;
      }
      stale = e;
    }
    if (auto it = in_flight_.find(digest); it != in_flight_.end()) {
      if (stale) {  // someone is asking the origins again: the copy we have will do meanwhile
        cache_hits_.inc();
        return stale;
      }
      pending = it->second;
    } else {
      in_flight_.emplace(digest, promise.get_future().share());
    }
  }
  // Someone else is already asking the origins: wait for their answer (or their error).
  if (pending.valid()) return pending.get();

  try {
    Entry entry = fetch_from_origins(digest);
    {
      std::lock_guard lock(mu_);
      cache_[digest] = entry;
      in_flight_.erase(digest);
    }
    promise.set_value(entry);
    return entry;
  } catch (...) {
    {
      std::lock_guard lock(mu_);
      in_flight_.erase(digest);
      // Not asked again at once: the next lookup after another recheck period tries again.
      if (stale) {
        auto again = std::make_shared<CachedMetainfo>(*stale);
        again->fetched_at = std::chrono::steady_clock::now();
        cache_[digest] = again;
      }
    }
    promise.set_exception(std::current_exception());
    if (stale) return stale;
    throw;
  }
}

// The origins in ring order for this digest, as agents order them (rendezvous on the URLs), so
// an owner is asked first and a non-owner's 307 is rarely met; config order if URLs repeat.
std::vector<std::string> MetainfoCache::ask_order(const Digest& digest) const {
  try {
    return placement::Ring(options_.origins).owners(digest, options_.origins.size());
  } catch (const std::invalid_argument&) {
    return options_.origins;
  }
}

MetainfoCache::Entry MetainfoCache::fetch_from_origins(const Digest& digest) {
  const std::string path = "/v1/blobs/" + digest.str() + "/metainfo";
  const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(options_.timeout);
  const auto micros = std::chrono::duration_cast<std::chrono::microseconds>(options_.timeout) -
                      std::chrono::duration_cast<std::chrono::microseconds>(seconds);
  std::vector<std::string> failures;
  for (const auto& origin : ask_order(digest)) {
    httplib::Client client(origin);
    client.set_connection_timeout(seconds.count(), micros.count());
    client.set_read_timeout(seconds.count(), micros.count());
    client.set_write_timeout(seconds.count(), micros.count());
    origin_fetches_.inc();
    httplib::Result res = client.Get(path.c_str());
    if (!res) {
      failures.push_back(origin + " unreachable: " + httplib::to_string(res.error()));
      continue;
    }
    if (res->status == 404) continue;
    if (res->status != 200) {
      failures.push_back(origin + " answered HTTP " + std::to_string(res->status) + ": " +
                         origin_detail(res->body));
      continue;
    }
    try {
      auto entry = std::make_shared<CachedMetainfo>();
      entry->metainfo = proto::Metainfo::decode(res->body);
      if (entry->metainfo.digest != digest) {
        failures.push_back(origin + " sent the metainfo of " + entry->metainfo.digest.str());
        continue;
      }
      entry->encoded = std::move(res->body);
      entry->signature = res->get_header_value(proto::kMetainfoSignatureHeader);
      spdlog::info("metainfo of {} fetched from {} ({} pieces, {})", digest.str(), origin,
                   entry->metainfo.piece_count(), entry->signature.empty() ? "unsigned" : "signed");
      return entry;
    } catch (const proto::ProtoError& e) {
      failures.push_back(origin + " sent invalid metainfo: " + e.what());
    }
  }
  if (failures.empty()) {
    throw MetainfoError(MetainfoError::Kind::kNotFound, "no origin has " + digest.str());
  }
  spdlog::warn("metainfo of {}: {}", digest.str(), join(failures));
  throw MetainfoError(MetainfoError::Kind::kOriginFailed, join(failures));
}

size_t MetainfoCache::size() const {
  std::lock_guard lock(mu_);
  return cache_.size();
}

}  // namespace fanout::tracker
