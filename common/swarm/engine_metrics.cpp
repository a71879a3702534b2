#include "common/swarm/engine.h"

namespace fanout::swarm {

EngineMetrics::EngineMetrics(metrics::Registry& r, const std::string& p)
    : bytes_from_peers(r.counter(p + "_bytes_from_peers_total",
                                 "Verified payload bytes received from agent peers")),
      bytes_from_origins(r.counter(p + "_bytes_from_origins_total",
                                   "Verified payload bytes received from origin seeders")),
      bytes_to_peers(r.counter(p + "_bytes_to_peers_total", "Payload bytes served to peers")),
      bytes_to_peers_from_memory(
          r.counter(p + "_bytes_to_peers_from_memory_total",
                    "Payload bytes served to peers from verified pieces kept in memory")),
      bytes_to_peers_zero_copy(
          r.counter(p + "_bytes_to_peers_zero_copy_total",
                    "Payload bytes spliced from disk to peers without a copy through memory")),
      bytes_from_fallback(r.counter(p + "_bytes_from_fallback_total",
                                    "Verified bytes fetched from the HTTP fallback (an origin)")),
      pieces_verified(r.counter(p + "_pieces_verified_total", "Pieces that passed SHA-256")),
      pieces_failed(r.counter(p + "_pieces_failed_total", "Pieces that failed SHA-256")),
      peers_banned(r.counter(p + "_peers_banned_total", "Peers banned for sending bad pieces")),
      connections_opened(r.counter(p + "_connections_opened_total", "Peer connections opened")),
      connections(r.gauge(p + "_connections", "Open peer connections")),
      blobs_seeding(r.gauge(p + "_blobs_seeding", "Blobs being served complete")),
      blobs_downloading(r.gauge(p + "_blobs_downloading", "Blobs being fetched")) {}

}  // namespace fanout::swarm
