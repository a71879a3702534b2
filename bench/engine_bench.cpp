// fanout-engine-bench: the peer engine alone, in one process over loopback: one seed, N leechers,
// a random blob. Prints seconds, MiB/s per leecher and the seed's upload in copies of the blob.
#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>

#include "common/digest/sha256.h"
#include "common/swarm/engine.h"
#include "proto/metainfo.h"

namespace fs = std::filesystem;
using namespace fanout;

namespace {

proto::Metainfo write_blob(const fs::path& path, uint64_t size) {
  std::ofstream out(path, std::ios::binary);
  proto::MetainfoBuilder builder(size);
  std::mt19937_64 rng(42);
  std::vector<uint64_t> buf((1 << 20) / 8);
  for (uint64_t left = size; left > 0;) {
    for (auto& w : buf) w = rng();
    size_t n = std::min<uint64_t>(left, buf.size() * 8);
    out.write(reinterpret_cast<const char*>(buf.data()), static_cast<std::streamsize>(n));
    builder.update(buf.data(), n);
    left -= n;
  }
  return builder.finish();
}

struct Node {
  Node(const fs::path& dir, bool origin, unsigned threads)
      : store(dir), engine(settings(origin, threads), nullptr, em) {
    engine.start();
  }
  static swarm::Settings settings(bool origin, unsigned threads) {
    swarm::Settings s;
    s.listen_host = "127.0.0.1";
    s.is_origin = origin;
    s.threads = threads;
    return s;
  }
  metrics::Registry registry;
  swarm::EngineMetrics em{registry, "bench"};
  BlobStore store;
  swarm::Engine engine;
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"fanout-engine-bench: peer engine throughput on loopback"};
  uint64_t size_mib = 1024;
  int leechers = 1;
  unsigned threads = 0;
  std::string dir = "/tmp/fanout-engine-bench";
  app.add_option("--size-mib", size_mib, "Blob size in MiB")->capture_default_str();
  app.add_option("--leechers", leechers, "Leechers fetching at once")->capture_default_str();
  app.add_option("--threads", threads, "Engine threads per node (0 = cores)")->capture_default_str();
  app.add_option("--dir", dir, "Scratch directory (removed after)")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  spdlog::set_level(spdlog::level::warn);

  fs::remove_all(dir);
  fs::create_directories(dir);
  std::cerr << "writing a " << size_mib << " MiB random blob...\n";
  auto info = write_blob(fs::path(dir) / "blob", size_mib << 20);

  Node seed(fs::path(dir) / "seed", /*origin=*/true, threads);
  seed.engine.seed(info, fs::path(dir) / "blob");
  std::vector<std::unique_ptr<Node>> nodes;
  std::vector<swarm::PeerAddress> everyone{{"127.0.0.1", seed.engine.listen_port()}};
  for (int i = 0; i < leechers; ++i) {
    nodes.push_back(std::make_unique<Node>(fs::path(dir) / ("leecher" + std::to_string(i)), false,
                                           threads));
    everyone.push_back({"127.0.0.1", nodes.back()->engine.listen_port()});
  }
  auto start = std::chrono::steady_clock::now();
  std::vector<std::shared_future<swarm::FetchResult>> results;
  for (auto& n : nodes) results.push_back(n->engine.fetch(info, n->store));
  for (auto& n : nodes) n->engine.add_peers(info.digest, everyone);
  int failures = 0;
  for (size_t i = 0; i < results.size(); ++i) {
    auto r = results[i].get();
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (!r.ok) {
      std::cerr << "leecher " << i << " failed: " << r.error << "\n";
      ++failures;
      continue;
    }
    std::printf("leecher %zu: %.2f s, %.0f MiB/s, from origin %.2f copies\n", i, secs,
                double(size_mib) / secs, double(r.stats.bytes_from_origins) / info.size);
  }
  std::printf("origin upload: %.2f copies\n",
              double(seed.em.bytes_to_peers.value()) / double(info.size));
  for (auto& n : nodes) n->engine.stop();
  seed.engine.stop();
  fs::remove_all(dir);
  return failures ? 1 : 0;
}
