// fanout-sim: the 1,000-10,000 node rollout, simulated at piece level with the engine's own
// PiecePicker and the tracker's own PeerSelector (bench/sim/simulator.h says what is modelled).
//   fanout-sim --nodes 1000 --size-gib 200 --node-gbps 25 --origins 2 --json sim.json
#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>

#include "bench/sim/report.h"
#include "bench/sim/simulator.h"

using namespace fanout;

int main(int argc, char** argv) {
  CLI::App app{"fanout-sim: piece-level rollout simulator (same picker and peer selection)"};
  sim::SimConfig c;
  double size_gib = 0, size_gb = 0, size_mib = 0, node_gbps = 0, node_mibps = 0, node_up_gbps = 0;
  double origin_gbps = 0, origin_mibps = 0, piece_mib = 0;
  std::string json_path;
  bool no_png = false;
  app.add_option("--nodes", c.nodes, "Agents")->capture_default_str();
  app.add_option("--size-gib", size_gib, "Blob size in GiB (or --size-mib)");
  app.add_option("--size-mib", size_mib, "Blob size in MiB");
  app.add_option("--size-gb", size_gb, "Blob size in GB (10^9 bytes)");
  app.add_option("--node-gbps", node_gbps, "Each node's link, Gbit/s, both ways (or --node-mibps)");
  app.add_option("--node-mibps", node_mibps, "Each node's link, MiB/s, both ways");
  app.add_option("--node-up-gbps", node_up_gbps, "Each node's upload if it differs, Gbit/s");
  app.add_option("--origins", c.origins, "Origins seeding the blob")->capture_default_str();
  app.add_option("--origin-gbps", origin_gbps, "Each origin's upload, Gbit/s (default: a node's)");
  app.add_option("--origin-mibps", origin_mibps, "Each origin's upload, MiB/s");
  app.add_option("--piece-mib", piece_mib, "Piece size in MiB (default: the metainfo rule)");
  app.add_option("--peers-per-node", c.peers_per_node, "Outgoing connections per node")
      ->capture_default_str();
  app.add_option("--upload-slots", c.upload_slots, "Connections served at once (0 = all)")
      ->capture_default_str();
  app.add_option("--pipeline-pieces", c.pipeline_pieces, "Pieces requested ahead per peer")
      ->capture_default_str();
  app.add_option("--reveal-slots", c.reveal_slots,
                 "Agents an origin reveals pieces to at once (engine swarm.reveal_slots)")
      ->capture_default_str();
  app.add_option("--reveal-pieces", c.reveal_pieces,
                 "Pieces an origin shows an agent per turn (engine swarm.reveal_pieces)")
      ->capture_default_str();
  app.add_option("--max-pieces-in-flight", c.max_pieces_in_flight,
                 "Pieces one node fetches at once from agents (0 = no cap)")
      ->capture_default_str();
  app.add_option("--peer-rate-trust", c.peer_rate_trust_sec,
                 "Seconds a link's measured speed ranks it (engine swarm.peer_rate_trust)")
      ->capture_default_str();
  app.add_option("--max-connections", c.max_connections, "Connections per node")
      ->capture_default_str();
  app.add_option("--num-want", c.num_want, "Peers asked of the tracker")->capture_default_str();
  app.add_option("--zones", c.zones, "Zones")->capture_default_str();
  app.add_option("--racks-per-zone", c.racks_per_zone, "Racks per zone")->capture_default_str();
  app.add_option("--start-spread", c.start_spread_sec, "Fetches start within this many seconds")
      ->capture_default_str();
  app.add_option("--startup", c.startup_sec, "Seconds from a fetch's start to its first announce")
      ->capture_default_str();
  double host_mibps = 0;
  app.add_option("--host-mibps", host_mibps,
                 "All nodes share one machine that moves at most this many MiB/s of payload in "
                 "all (fanout-bench's host_bytes_per_sec; 0 = one node per host)");
  double node_disk_mibps = 0, host_disk_mibps = 0;
  app.add_option("--node-disk-mibps", node_disk_mibps,
                 "Each agent's disk in MiB/s, shared by what it writes (receives) and reads back "
                 "(uploads); 0 = the disk never limits")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--host-disk-mibps", host_disk_mibps,
                 "All agents share one disk that moves this many MiB/s: what they receive is "
                 "written, what they upload read back (fanout-bench's disk_mib_per_sec; 0 = no "
                 "limit)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--tick", c.tick_sec, "Tick in seconds (0 = an eighth of a piece time)");
  app.add_option("--seed", c.seed, "Random seed")->capture_default_str();
  app.add_option("--json", json_path, "Write the results here (and a CDF PNG beside it)");
  app.add_flag("--no-png", no_png, "Do not plot the CDF");
  CLI11_PARSE(app, argc, argv);

  c.size_bytes = size_mib > 0  ? uint64_t(size_mib * (1 << 20))
                 : size_gb > 0 ? uint64_t(size_gb * 1e9)
                               : uint64_t((size_gib > 0 ? size_gib : 1.0) * (1ull << 30));
  double rate =
      node_mibps > 0 ? node_mibps * (1 << 20) : (node_gbps > 0 ? node_gbps : 10) * 1e9 / 8;
  c.node_down_bytes_per_sec = rate;
  c.node_up_bytes_per_sec = node_up_gbps > 0 ? node_up_gbps * 1e9 / 8 : rate;
  if (origin_mibps > 0) c.origin_up_bytes_per_sec = origin_mibps * (1 << 20);
  if (origin_gbps > 0) c.origin_up_bytes_per_sec = origin_gbps * 1e9 / 8;
  if (piece_mib > 0) c.piece_bytes = uint32_t(piece_mib * (1 << 20));
  c.host_bytes_per_sec = host_mibps * (1 << 20);
  c.node_disk_bytes_per_sec = node_disk_mibps * (1 << 20);
  c.host_disk_bytes_per_sec = host_disk_mibps * (1 << 20);
  if (c.nodes == 0 || c.origins == 0) {
    std::cerr << "--nodes and --origins must be at least 1\n";
    return 2;
  }
  double origin_up =
      c.origin_up_bytes_per_sec > 0 ? c.origin_up_bytes_per_sec : c.node_up_bytes_per_sec;

  auto wall = std::chrono::steady_clock::now();
  sim::SimConfig one = c;
  one.nodes = 1;
  double single = sim::simulate(one).completion_sec.at(0);
  auto r = sim::simulate(c);
  double wall_sec = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall).count();

  auto s = sim::summarize(r.completion_sec, single);
  double size = double(c.size_bytes);
  // Direct pull: every node's share of the origins' upload, no peers (as from a bucket).
  double direct_rate = std::min(c.node_down_bytes_per_sec, c.origins * origin_up / c.nodes);
  double direct_sec = c.startup_sec + size / direct_rate;
  double fluid = sim::fluid_limit_ratio(c.nodes, size, c.node_down_bytes_per_sec,
                                        c.node_up_bytes_per_sec, c.origins * origin_up);

  nlohmann::json j;
  j["tool"] = "fanout-sim";
  j["nodes"] = c.nodes;
  j["size_bytes"] = c.size_bytes;
  j["piece_bytes"] = r.piece_bytes;
  j["pieces"] = r.pieces;
  j["node_bytes_per_sec"] = c.node_down_bytes_per_sec;
  j["node_up_bytes_per_sec"] = c.node_up_bytes_per_sec;
  j["origins"] = c.origins;
  j["origin_bytes_per_sec"] = origin_up;
  j["peers_per_node"] = c.peers_per_node;
  j["upload_slots"] = c.upload_slots;
  j["peer_rate_trust_sec"] = c.peer_rate_trust_sec;
  j["host_bytes_per_sec"] = c.host_bytes_per_sec;
  j["node_disk_bytes_per_sec"] = c.node_disk_bytes_per_sec;
  j["host_disk_bytes_per_sec"] = c.host_disk_bytes_per_sec;
  j["pipeline_pieces"] = c.pipeline_pieces;
  j["reveal_pieces"] = c.reveal_pieces;
  j["max_pieces_in_flight"] = c.max_pieces_in_flight;
  to_json(j, s);
  j["origin_egress_copies"] = double(r.origin_bytes_sent) / size;
  // Every origin seeding the blob pulled it once from the object store (single-flight).
  j["object_store_copies"] = c.origins;
  j["direct_max_seconds"] = direct_sec;
  j["direct_max_ratio"] = direct_sec / single;
  j["fluid_limit_ratio"] = fluid;
  j["graph_connected"] = r.graph_connected;
  j["graph_max_components"] = r.max_components;
  j["graph_samples"] = r.graph_samples;
  j["graph_max_islands"] = r.max_islands;
  j["max_connections_per_node"] = r.max_connections_per_node;
  j["tick_seconds"] = r.tick_sec;
  j["picker_calls"] = r.picks;
  j["wall_seconds"] = wall_sec;
  j["seed"] = c.seed;

  std::printf(
      "fanout-sim: %u nodes, %.3f GiB (%u pieces of %.1f MiB), %.2f Gbit/s per node, "
      "%u origin(s) at %.2f Gbit/s\n",
      c.nodes, size / (1ull << 30), r.pieces, r.piece_bytes / 1048576.0, rate * 8 / 1e9, c.origins,
      origin_up * 8 / 1e9);
  std::printf("  %-28s %10s %10s\n", "", "seconds", "ratio");
  std::printf("  %-28s %10.2f %10.3f\n", "single node", single, 1.0);
  std::printf("  %-28s %10.2f %10.3f\n", "p50", s.p50_seconds, s.p50_ratio);
  std::printf("  %-28s %10.2f %10.3f\n", "p99", s.p99_seconds, s.p99_ratio);
  std::printf("  %-28s %10.2f %10.3f\n", "p99.9", s.p999_seconds, s.p999_ratio);
  std::printf("  %-28s %10.2f %10.3f\n", "max", s.max_seconds, s.max_ratio);
  std::printf("  %-28s %10.2f %10.3f\n", "direct pull (max)", direct_sec, direct_sec / single);
  std::printf("  %-28s %10s %10.3f\n", "fluid-model limit", "", fluid);
  std::printf(
      "  origin egress %.3f copies; peer graph %s (max %u components, %u islands, over "
      "%u samples); %u unfinished; %.1f s wall\n",
      double(r.origin_bytes_sent) / size, r.graph_connected ? "connected" : "split",
      r.max_components, r.max_islands, r.graph_samples, r.unfinished, wall_sec);

  if (!json_path.empty()) {
    std::ofstream(json_path) << j.dump(2) << "\n";
    if (!no_png) {
      auto why = sim::plot_cdf(sim::png_beside(json_path),
                               "fanout-sim: " + std::to_string(c.nodes) + " nodes",
                               r.completion_sec, "swarm (simulated)", {}, "");
      if (!why.empty()) std::cerr << "warning: " << why << "\n";
    }
  }
  return r.unfinished ? 1 : 0;
}
