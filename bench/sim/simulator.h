#pragma once
// fanout-sim's model: one blob, N agents and K origins, at piece level. Time advances in small
// fixed ticks; within a tick every transfer moves bytes at its share of its uploader's egress and
// its downloader's ingress (approximately max-min fair, like TCP flows under the engine's token
// buckets), and piece completions, HAVEs, reveals, announces and connections happen as events at
// the exact byte they occur, so no capacity is lost at tick edges.
//
// What is modelled after the engine (common/swarm/blob_swarm.cpp) and the tracker:
//   - piece choice: the engine's own swarm::PiecePicker (rarest first, origins only for pieces no
//     agent peer holds, endgame duplicates), called exactly as BlobSwarm::fill_requests calls it;
//   - whom to ask: links offered free request places fastest first by the engine's own
//     swarm::PieceRate, requests to origins outside the in-flight cap, as BlobSwarm does;
//   - peer choice: the tracker's own tracker::PeerSelector on every announce (origins offered
//     until a few agents seed, locality shares), from a candidate pool like the PeerStore's;
//   - connections: up to peers_per_node outgoing per node, capped total per node, seeders dial
//     nobody and drop links to origins and to other seeders, a busy peer is skipped a while;
//   - origins reveal pieces with the engine's own swarm::RevealPolicy (super-seeding: a few
//     agents at a time, pipeline_pieces pieces per turn), as BlobSwarm does.
// Disks, when given: an agent writes every byte it receives and reads back every byte it uploads
// (node_disk_bytes_per_sec), or all agents share one machine's disk (host_disk_bytes_per_sec).
// Not modelled: per-node CPU (only a shared machine's total, host_bytes_per_sec), a disk's
// stalls, latency beyond a fixed startup delay, TCP dynamics.
#include <cstdint>
#include <vector>

#include "common/swarm/settings.h"
#include "tracker/peer_selector.h"

namespace fanout::sim {

struct SimConfig {
  uint32_t nodes = 1000;
  uint64_t size_bytes = 3'000'000'000;
  double node_down_bytes_per_sec = 300e6;
  double node_up_bytes_per_sec = 300e6;
  uint32_t origins = 1;
  // Upload of each origin; 0 = the same as a node's.
  double origin_up_bytes_per_sec = 0;
  // 0 = proto::Metainfo::piece_length_for(size), as real metainfo.
  uint32_t piece_bytes = 0;
  // The engine's swarm.max_peers_per_blob / max_connections / pipeline_pieces, defaulting to
  // the engine's own defaults (common/swarm/settings.h), so a run with no flags models the
  // engine as shipped.
  uint32_t peers_per_node = swarm::Settings{}.max_peers_per_blob;
  uint32_t max_connections = swarm::Settings{}.max_connections;
  uint32_t pipeline_pieces = swarm::Settings{}.pipeline_pieces;
  // The origin engine's swarm.reveal_slots / reveal_pieces: agents an origin reveals pieces to
  // at once, and pieces per turn.
  uint32_t reveal_slots = swarm::Settings{}.reveal_slots;
  uint32_t reveal_pieces = swarm::Settings{}.reveal_pieces;
  // The engine's swarm.max_pieces_in_flight: pieces one node fetches at once over all links;
  // 0 = no cap.
  uint32_t max_pieces_in_flight = swarm::Settings{}.max_pieces_in_flight;
  // Connections a node uploads to at once (others wait, first come first served); 0 = all of
  // them share the egress, as the engine does.
  uint32_t upload_slots = swarm::Settings{}.upload_slots;
  // The engine's swarm.peer_rate_trust: how long a link's measured piece rate ranks it.
  double peer_rate_trust_sec =
      std::chrono::duration<double>(swarm::Settings{}.peer_rate_trust).count();
  // What an agent asks the tracker for, and how often (swarm.announce_interval; starved interval).
  uint32_t num_want = 50;
  double announce_interval_sec = 5.0;
  double starved_announce_interval_sec = 0.5;
  double peer_backoff_sec = 10.0;
  // The tracker: its selection policy and candidate pool (tracker config `selection.*`).
  tracker::SelectionPolicy selection;
  uint32_t candidate_pool = 1000;
  // Topology for locality: nodes spread round-robin over zones x racks_per_zone racks.
  uint32_t zones = 1;
  uint32_t racks_per_zone = 1;
  // Fetch start times are spread uniformly over this window; each node then needs
  // startup_sec (metainfo lookup, first announce, connect) before it can announce.
  double start_spread_sec = 0.0;
  double startup_sec = 0.02;
  // All nodes on one machine (the real harness): the payload bytes per second every link
  // together can move, as its CPU allows; 0 = no such limit (one node per host). When the links'
  // fair shares add up to more, every link slows by the same factor, as processes sharing the
  // cores do. fanout-bench measures it (`host_bytes_per_sec`, from its single-node phase).
  double host_bytes_per_sec = 0;
  // Each agent's disk: bytes per second written (what it receives) plus read (what it uploads),
  // as the engine stores pieces and serves them from the file; 0 = the disk never limits. On a
  // 25 Gbps node this is up to 6 GB/s when it receives and uploads at line rate.
  double node_disk_bytes_per_sec = 0;
  // All agents on one machine share one disk: what they receive is written to it and what they
  // upload is read back from it (the real harness: 50 agents on one virtual disk; its
  // disk_mib_per_sec counts the same bytes); 0 = no limit.
  double host_disk_bytes_per_sec = 0;
  // Tick length; 0 = an eighth of one piece's time at node speed.
  double tick_sec = 0.0;
  // Give up (nodes left unfinished) after this much simulated time; 0 = 100 single-node times.
  double time_limit_sec = 0.0;
  uint64_t seed = 1;
};

struct SimResult {
  // Per agent: seconds from the rollout start (t = 0) to its last verified piece; < 0 when it
  // did not finish within the time limit.
  std::vector<double> completion_sec;
  uint32_t unfinished = 0;
  uint32_t piece_bytes = 0;
  uint32_t pieces = 0;
  uint64_t origin_bytes_sent = 0;
  uint64_t peer_bytes_sent = 0;
  // The peer graph (open connections among nodes still downloading or connected), sampled
  // while the rollout ran: connected iff every sample had a single component. Seeders drop
  // links to other seeders and origins, so late in a rollout a straggler hanging off a seeder
  // is a component of its own without being in trouble: see max_islands for that.
  bool graph_connected = true;
  uint32_t max_components = 1;
  uint32_t graph_samples = 0;
  // Components that had downloading nodes but neither a full copy (origin, seeder) nor every
  // piece among their members: islands that cannot finish (Kraken issue #162). 0 is the goal.
  uint32_t max_islands = 0;
  double max_connections_per_node = 0;
  uint64_t picks = 0;  // PiecePicker calls
  double simulated_sec = 0;
  double tick_sec = 0;
};

SimResult simulate(const SimConfig& config);

}  // namespace fanout::sim
