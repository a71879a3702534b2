#include "tracker/alias_routes.h"

#include <charconv>
#include <nlohmann/json.hpp>

#include "common/http/http_error.h"
#include "common/log/log.h"

namespace fanout::tracker {
namespace {

// How long the notification thread blocks at a time (bounds how long stopping takes), and how
// long it waits before reconnecting after the database connection dropped.
constexpr std::chrono::milliseconds kListenPoll{200};
constexpr std::chrono::milliseconds kListenRetry{std::chrono::seconds(2)};

}  // namespace

AliasResolverOptions AliasResolverOptions::read(config::Reader& section) {
  AliasResolverOptions o;
  section.get_duration("ttl", o.alias_ttl);
  section.get("listen", o.listen);
  section.finish();
  return o;
}

AliasResolver::AliasResolver(registry::RegistryDb& db, AliasResolverOptions options,
                             metrics::Registry& metrics, Clock clock)
    : db_(db),
      options_(options),
      clock_(std::move(clock)),
      lookups_(metrics.counter("fanout_tracker_alias_resolves_total", "Alias resolutions asked")),
      alias_hits_(metrics.counter("fanout_tracker_alias_cache_hits_total",
                                  "Alias resolutions answered from the cache")),
      alias_misses_(metrics.counter("fanout_tracker_alias_cache_misses_total",
                                    "Alias resolutions that read the registry database")),
      invalidations_(metrics.counter("fanout_tracker_alias_invalidations_total",
                                     "Cached aliases dropped on a change notification")) {
  if (options_.listen) {
    listener_ = std::thread([this] { listen_loop(); });
  }
}

AliasResolver::~AliasResolver() {
  stopping_ = true;
  if (listener_.joinable()) listener_.join();
}

std::optional<ResolvedAlias> AliasResolver::resolve(const std::string& model,
                                                    const std::string& alias) {
  registry::validate_name("model name", model);
  registry::validate_name("alias", alias);
  lookups_.inc();
  Key key{model, alias};
  auto now = clock_();
  std::optional<int64_t> version;
  bool hit = false;
  {
    std::shared_lock lock(mu_);
    auto it = aliases_.find(key);
    if (it != aliases_.end() && it->second.expires > now) {
      version = it->second.version;
      hit = true;
    }
  }
  if (hit) {
    alias_hits_.inc();
  } else {
    alias_misses_.inc();
    // Read the expiry before the query: a notification that lands while we read cannot be
    // overwritten by a stale answer for longer than one TTL.
    version = db_.alias_version(model, alias);
    std::unique_lock lock(mu_);
    aliases_[key] = AliasEntry{version, now + options_.alias_ttl};
  }
  if (!version) return std::nullopt;
  auto digest = version_digest(model, *version);
  if (!digest) return std::nullopt;  // unreachable unless the database was edited by hand
  return ResolvedAlias{model, alias, *version, *digest};
}

std::optional<std::string> AliasResolver::version_digest(const std::string& model,
                                                         int64_t version) {
  std::pair<std::string, int64_t> key{model, version};
  {
    std::shared_lock lock(mu_);
    auto it = versions_.find(key);
    if (it != versions_.end()) return it->second;
  }
  auto v = db_.version(model, version);
  if (!v) return std::nullopt;
  std::unique_lock lock(mu_);
  versions_.emplace(key, v->artifact_digest);
  return v->artifact_digest;
}

void AliasResolver::invalidate(const std::string& model, const std::string& alias) {
  std::unique_lock lock(mu_);
  if (aliases_.erase(Key{model, alias})) invalidations_.inc();
}

void AliasResolver::listen_loop() {
  while (!stopping_) {
    std::unique_ptr<registry::AliasChangeListener> listener;
    try {
      listener = db_.listen_alias_changes();
      if (!listener) return;  // the database cannot push changes (SQLite): the TTL alone applies
      listening_ = true;
      // Anything cached before LISTEN took effect may have missed a move.
      {
        std::unique_lock lock(mu_);
        aliases_.clear();
      }
      while (!stopping_) {
        for (const auto& change : listener->wait(kListenPoll))
          invalidate(change.model, change.alias);
      }
    } catch (const std::exception& e) {
      spdlog::warn(
          "alias change notifications unavailable ({}); relying on the {} ms TTL until "
          "they are back",
          e.what(), options_.alias_ttl.count());
    }
    listening_ = false;
    for (auto waited = std::chrono::milliseconds(0); waited < kListenRetry && !stopping_;
         waited += kListenPoll) {
      std::this_thread::sleep_for(kListenPoll);
    }
  }
}

void register_alias_routes(httplib::Server& server, AliasResolver& resolver,
                           metrics::Registry& metrics) {
  auto& failures = metrics.counter("fanout_tracker_alias_resolve_failures_total",
                                   "Alias or version lookups answered with an error");
  // Registry errors become HTTP statuses here, for these routes.
  auto guarded = [&failures](auto&& body) {
    try {
      body();
    } catch (const registry::InvalidRequestError& e) {
      failures.inc();
      throw http::HttpError(400, "invalid_name", e.what());
    } catch (const registry::RegistryError& e) {
      failures.inc();
      throw http::HttpError(503, "registry_unavailable", e.what());
    }
  };

  server.Get(R"(/v1/models/([^/]+)/aliases/([^/]+))",
             [&resolver, &failures, guarded](const httplib::Request& req, httplib::Response& res) {
               guarded([&] {
                 std::string model = req.matches[1], alias = req.matches[2];
                 auto resolved = resolver.resolve(model, alias);
                 if (!resolved) {
                   failures.inc();
                   throw http::HttpError(404, "not_found",
                                         "no alias " + alias + " on model " + model);
                 }
                 nlohmann::json body = {{"model", resolved->model},
                                        {"alias", resolved->alias},
                                        {"version", resolved->version},
                                        {"digest", resolved->digest}};
                 res.set_content(body.dump(), "application/json");
               });
             });

  server.Get(
      R"(/v1/models/([^/]+)/versions/([^/]+))",
      [&resolver, &failures, guarded](const httplib::Request& req, httplib::Response& res) {
        guarded([&] {
          std::string model = req.matches[1], text = req.matches[2];
          registry::validate_name("model name", model);
          int64_t version = 0;
          auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), version);
          if (ec != std::errc() || end != text.data() + text.size() || version <= 0) {
            failures.inc();
            throw http::HttpError(400, "invalid_version",
                                  "version \"" + text + "\" is not a positive integer");
          }
          auto digest = resolver.version_digest(model, version);
          if (!digest) {
            failures.inc();
            throw http::HttpError(404, "not_found", "no version " + text + " of model " + model);
          }
          nlohmann::json body = {{"model", model}, {"version", version}, {"digest", *digest}};
          res.set_content(body.dump(), "application/json");
        });
      });
}

}  // namespace fanout::tracker
