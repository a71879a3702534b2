#pragma once
// Model pulls: NAME@ALIAS (or NAME and a version number) -> version -> manifest digest through the
// tracker, then the manifest blob and every layer it lists through the BlobFetcher (layers
// already cached are not fetched again; layers shared between versions are one blob), then a
// materialised directory of hard links named by the manifest's file names.
//   POST /v1/pulls {"model": NAME, "alias": A | "version": V, "wait": true}
//        -> 200 with the finished pull (wait, the default) or 202 {"id": ...} (wait: false)
//   GET  /v1/pulls/{id}   the pull's progress or result
// Watched aliases (config `watch`) are resolved every watch_interval; when one moves, the new
// version is pulled and the previous one stays pinned in the cache for a rollback. Those pins
// live as long as the service (not one request), and the current and previous version of each
// watched alias are saved to a state file, so a restarted agent pins them again before its
// first fetch can evict anything.
#include <httplib.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "agent/agent_metrics.h"
#include "agent/blob_cache.h"
#include "agent/blob_fetcher.h"

namespace fanout::agent {

// What the tracker says a model version is.
struct ResolvedVersion {
  int64_t version = 0;
  Digest manifest;
};

// One layer of a manifest.
struct ManifestLayer {
  Digest digest;
  uint64_t size = 0;
  std::string file_name;  // relative path inside the model directory
};

// Parses a manifest blob. TODO(issue 6): proto/manifest.h defines the canonical manifest; until it
// lands this reads {"layers": [{"digest", "size", "file_name"}...]} (the registry's Layer fields)
// and should call proto's codec once it exists. Throws std::invalid_argument naming the problem,
// including file names that would leave the directory ("..", absolute paths).
std::vector<ManifestLayer> parse_manifest(const std::string& json);

class PullService {
 public:
  // Resolves model + alias, or model + version when alias is empty. Throws std::runtime_error;
  // a ResolveNotFound for an unknown model, alias or version.
  using ResolveFn = std::function<ResolvedVersion(const std::string& model,
                                                  const std::string& alias, int64_t version)>;
  class ResolveNotFound : public std::runtime_error {
   public:
    using std::runtime_error::runtime_error;
  };

  // `watch_state`: where the watched aliases' versions are kept across restarts (main:
  // <cache_dir>/watch.json); empty keeps them in memory only. The constructor pins what it
  // names whose manifest is still cached.
  PullService(BlobFetcher& fetcher, BlobCache& cache, AgentMetrics& metrics, ResolveFn resolve,
              std::filesystem::path models_dir, std::filesystem::path watch_state = {});
  ~PullService();  // stops watching and waits for pulls to leave

  void add_routes(httplib::Server& server);

  // Starts keeping these "MODEL@ALIAS" warm, resolving them every `interval`.
  void watch(std::vector<std::string> aliases, std::chrono::milliseconds interval);
  void shutdown();

  // A pull, run to its end on the calling thread; returns its JSON (as GET /v1/pulls/{id}).
  nlohmann::json pull_now(const std::string& model, const std::string& alias, int64_t version);

  // The versions a watched "MODEL@ALIAS" keeps pinned: current first, then the previous one
  // (0 where there is none). For tests and logs.
  std::pair<int64_t, int64_t> watched_versions(const std::string& alias) const;

 private:
  struct Pull {
    std::string id;
    std::string model, alias;
    int64_t version = 0;
    std::string state = "resolving";  // resolving, fetching, done, failed
    std::string error;
    std::optional<Digest> manifest;
    std::vector<ManifestLayer> layers;
    size_t layers_done = 0;
    std::filesystem::path directory;
    std::vector<std::filesystem::path> paths;  // CAS path of each layer, in manifest order
    // Pins the manifest and layers while the pull runs (and for as long as a watch keeps it).
    std::vector<std::unique_ptr<cache::CachePin>> pins;
    bool keep_pins = false;  // a watched version: pinned after the pull, until superseded
  };

  std::shared_ptr<Pull> start(const std::string& model, const std::string& alias, int64_t version,
                              bool keep_pins = false);
  void run(std::shared_ptr<Pull> pull);
  nlohmann::json describe(const Pull& pull) const;
  std::filesystem::path materialise(const Pull& pull);
  void watch_loop(std::vector<std::string> aliases, std::chrono::milliseconds interval);
  // The state file: {"MODEL@ALIAS": {"current": {"version", "manifest"}, "previous": ...}}.
  void save_watch_state_locked() const;
  void restore_watch_state();
  // A finished pull rebuilt from a cached manifest, its blobs pinned; null when the manifest is
  // gone or (`complete`) a layer is missing.
  std::shared_ptr<Pull> restore_pull(const std::string& model, int64_t version,
                                     const Digest& manifest, bool complete);

  BlobFetcher& fetcher_;
  BlobCache& cache_;
  AgentMetrics& metrics_;
  ResolveFn resolve_;
  std::filesystem::path models_dir_;
  std::filesystem::path watch_state_;

  mutable std::mutex mu_;
  std::condition_variable changed_;
  std::map<std::string, std::shared_ptr<Pull>> pulls_;
  uint64_t next_id_ = 1;
  size_t running_ = 0;
  std::atomic<bool> stopping_{false};
  std::thread watcher_;

  // Per watched alias: the pull of its current version and of the one before (both pinned).
  struct Watched {
    std::shared_ptr<Pull> current, previous;
  };
  std::map<std::string, Watched> watched_;
};

}  // namespace fanout::agent
