#pragma once
// Alias resolution on the tracker: GET /v1/models/{name}/aliases/{alias} answers
// alias -> version -> manifest digest, and GET /v1/models/{name}/versions/{n} version -> digest.
// Every agent asks on every pull, so answers come from memory: alias -> version with a short TTL
// (an alias moves), version -> digest forever (a version never changes). With PostgreSQL a flip
// also invalidates at once (LISTEN/NOTIFY, on a background thread); with SQLite the TTL bounds
// how long a tracker may still answer the old version.
#include <httplib.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <thread>
#include <utility>

#include "common/config/config.h"
#include "common/metrics/metrics.h"
#include "common/registry/registry_db.h"

namespace fanout::tracker {

struct AliasResolverOptions {
  // How long an alias -> version answer (or "no such alias") is served from memory.
  std::chrono::milliseconds alias_ttl{std::chrono::seconds(2)};
  // Subscribe to the database's alias-change notifications when it has them (PostgreSQL).
  bool listen = true;

  // The `alias_cache:` section: ttl, listen. Calls finish(); throws config::ConfigError.
  static AliasResolverOptions read(config::Reader& section);
};

struct ResolvedAlias {
  std::string model;
  std::string alias;
  int64_t version = 0;
  std::string digest;  // the manifest's digest
};

class AliasResolver {
 public:
  using Clock = std::function<std::chrono::steady_clock::time_point()>;

  // `db` must outlive the resolver. Starts the notification thread when options.listen and the
  // database supports it.
  AliasResolver(registry::RegistryDb& db, AliasResolverOptions options, metrics::Registry& metrics,
                Clock clock = &std::chrono::steady_clock::now);
  ~AliasResolver();  // stops the notification thread
  AliasResolver(const AliasResolver&) = delete;
  AliasResolver& operator=(const AliasResolver&) = delete;

  // nullopt when the model or alias does not exist. Throws registry::InvalidRequestError on a
  // malformed name and registry::RegistryError when the database fails.
  std::optional<ResolvedAlias> resolve(const std::string& model, const std::string& alias);
  // The manifest digest of one version; nullopt when it does not exist.
  std::optional<std::string> version_digest(const std::string& model, int64_t version);

  // Drops the cached answer for one alias (called on notification; tests call it too).
  void invalidate(const std::string& model, const std::string& alias);
  // True while alias moves are pushed to this resolver (LISTEN is active).
  bool push_invalidation() const { return listening_.load(); }

 private:
  using Key = std::pair<std::string, std::string>;
  struct AliasEntry {
    std::optional<int64_t> version;
    std::chrono::steady_clock::time_point expires;
  };
  void listen_loop();

  registry::RegistryDb& db_;
  const AliasResolverOptions options_;
  Clock clock_;
  metrics::Counter& lookups_;
  metrics::Counter& alias_hits_;
  metrics::Counter& alias_misses_;
  metrics::Counter& invalidations_;

  std::shared_mutex mu_;
  std::map<Key, AliasEntry> aliases_;
  std::map<std::pair<std::string, int64_t>, std::string> versions_;  // forever: immutable

  std::atomic<bool> stopping_{false};
  std::atomic<bool> listening_{false};
  std::thread listener_;
};

// Registers the two GET routes on `server` (an http::HttpServer's routes(), whose exception
// handler turns http::HttpError into the JSON error body). 400 for a malformed name or version,
// 404 for an unknown model/alias/version, 503 when the registry database fails.
void register_alias_routes(httplib::Server& server, AliasResolver& resolver,
                           metrics::Registry& metrics);

}  // namespace fanout::tracker
