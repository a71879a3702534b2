#pragma once
// The peer engine: serves and fetches blobs by pieces over fanout's peer protocol on Boost.Asio.
// Each blob's state lives on one strand (no locks in the protocol logic); piece hashing and disk
// writes run on the shared thread pool; announces run on a dedicated thread.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/metrics/metrics.h"
#include "common/store/blob_store.h"
#include "common/swarm/peer_discovery.h"
#include "common/swarm/settings.h"
#include "proto/metainfo.h"

namespace fanout::swarm {

// Per-blob transfer figures.
struct BlobStats {
  uint64_t size = 0;
  uint32_t pieces_total = 0;
  uint32_t pieces_done = 0;
  uint64_t bytes_from_peers = 0;    // verified payload bytes from agents
  uint64_t bytes_from_origins = 0;  // verified payload bytes from origin seeders
  uint64_t bytes_uploaded = 0;      // payload bytes we served to others
  uint64_t bytes_from_fallback = 0; // verified payload bytes from the HTTP fallback
  uint32_t pieces_failed = 0;       // pieces that failed SHA-256 verification
  uint32_t peers_banned = 0;
  uint32_t connections = 0;
  bool complete = false;
};

struct FetchResult {
  bool ok = false;
  std::filesystem::path path;  // the published CAS file when ok
  std::string error;           // why not, when !ok
  BlobStats stats;
};

// Counters the engine bumps; built from a Registry under the owner's prefix.
struct EngineMetrics {
  EngineMetrics(metrics::Registry& registry, const std::string& prefix);
  metrics::Counter& bytes_from_peers;
  metrics::Counter& bytes_from_origins;
  metrics::Counter& bytes_to_peers;
  metrics::Counter& bytes_to_peers_from_memory;
  metrics::Counter& bytes_to_peers_zero_copy;
  metrics::Counter& bytes_from_fallback;
  metrics::Counter& pieces_verified;
  metrics::Counter& pieces_failed;
  metrics::Counter& peers_banned;
  metrics::Counter& connections_opened;
  metrics::Gauge& connections;
  metrics::Gauge& blobs_seeding;
  metrics::Gauge& blobs_downloading;
};

// Where a stuck fetch gets its missing pieces when the swarm makes no progress (an origin's
// ranged HTTP endpoint in the agent). Blocking; called from the engine's disk pool. Must fill
// exactly `length` bytes or throw; the engine verifies every piece it returns.
class RangeSource {
 public:
  virtual ~RangeSource() = default;
  virtual void read(const Digest& digest, uint64_t offset, uint32_t length, uint8_t* out) = 0;
};

class Engine {
 public:
  // `discovery` may be null: then peers come only from add_peers() and incoming connections.
  // `fallback` may be null: then a fetch waits for the swarm however long it takes.
  Engine(Settings settings, std::shared_ptr<PeerDiscovery> discovery, EngineMetrics& metrics,
         std::shared_ptr<RangeSource> fallback = nullptr);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Binds the peer port and starts the threads; throws std::system_error if the port is taken.
  void start();
  // Sends BYE to every peer, stops announcing (with event=stopped) and joins the threads.
  void stop();
  uint16_t listen_port() const;
  const std::string& peer_id() const { return peer_id_; }

  // Serves a complete, verified blob read-only from `file`, and announces it as a seeder.
  void seed(const proto::Metainfo& info, const std::filesystem::path& file);
  // Fetches a blob through the swarm into `store` (resuming a partial download if one exists).
  // Joins an ongoing fetch of the same digest. Once complete, the blob keeps being seeded.
  // pieces_bound_to_digest: the caller verified an origin's signature over `info`, so the blob
  // is published on its verified pieces alone (BlobStore::open_partial).
  std::shared_future<FetchResult> fetch(const proto::Metainfo& info, const BlobStore& store,
                                        bool pieces_bound_to_digest = false);
  // Streaming reads: fetch the pieces covering [offset, offset+length) before any other.
  // The future is ready (true) once they are all verified, or false if the fetch failed or the
  // blob is unknown here. Bytes in a ready range can be read with read().
  std::shared_future<bool> prioritize(const Digest& digest, uint64_t offset, uint64_t length);
  // Copies verified bytes of a blob being fetched or served; false if any byte of the range is
  // not verified yet (or the blob is unknown).
  bool read(const Digest& digest, uint64_t offset, void* out, size_t length) const;
  // Adds peers for a blob this engine serves or fetches (tests, or fallbacks).
  void add_peers(const Digest& digest, const std::vector<PeerAddress>& peers);
  // Stops serving or fetching `digest` and closes its connections.
  void remove(const Digest& digest);
  std::optional<BlobStats> stats(const Digest& digest) const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
  std::string peer_id_;
};

}  // namespace fanout::swarm
