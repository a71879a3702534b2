#pragma once
// Every knob of the peer engine, in one place, each documented where it is declared.
#include <chrono>
#include <cstdint>
#include <string>

namespace fanout::swarm {

struct Settings {
  // Address the peer protocol listens on. Port 0 picks a free port (see Engine::listen_port()).
  std::string listen_host = "0.0.0.0";
  uint16_t listen_port = 0;
  // Address announced to the tracker as `ip`; empty lets the tracker use the connection's source.
  std::string advertise_host;
  // Event-loop threads; 0 means one per core.
  unsigned threads = 0;
  // Size of one REQUEST/DATA block. Pieces are fetched in blocks so a slow peer holds little.
  uint32_t block_size = 1u << 20;
  // Pieces requested ahead from one peer: enough in flight to fill a fast link.
  uint32_t pipeline_pieces = 4;
  // Outgoing connections this node opens per blob; incoming ones are capped by max_connections.
  uint32_t max_peers_per_blob = 8;
  // Hard cap on connections (incoming + outgoing) across all blobs on this node.
  uint32_t max_connections = 512;
  // Queued REQUESTs we serve per connection before treating the peer as abusive.
  uint32_t max_queued_requests = 256;
  // Re-announce at least this often while downloading (the tracker's interval applies otherwise).
  std::chrono::milliseconds announce_interval{std::chrono::seconds(5)};
  // Re-announce quickly when a download has no usable peer.
  std::chrono::milliseconds starved_announce_interval{std::chrono::milliseconds(500)};
  // A connection that sends nothing for this long while we wait on it is dropped.
  std::chrono::milliseconds peer_timeout{std::chrono::seconds(30)};
  // How long a peer that timed out or failed to connect is skipped.
  std::chrono::milliseconds peer_backoff{std::chrono::seconds(10)};
  // Set on origins: marks this node's HELLO so agents count origin bytes apart.
  bool is_origin = false;
};

}  // namespace fanout::swarm
