// fanout-announce-bench: an announce storm against the tracker. 1,000 distinct peers (by
// default) announce to 20 swarms over keep-alive HTTP connections from several client threads,
// as fast as the tracker answers, for a fixed time; prints announces/s and p50/p99/max latency.
// By default the tracker runs in this process (same code as fanout-tracker, in-memory store);
// --tracker URL aims the storm at a running one instead.
#include <httplib.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <memory>
#include <random>
#include <thread>
#include <vector>

#include "common/log/log.h"
#include "common/metrics/metrics.h"
#include "proto/announce.h"
#include "tracker/tracker_server.h"

namespace {

using Clock = std::chrono::steady_clock;

struct Options {
  int peers = 1000;
  int swarms = 20;
  int threads = 8;
  double seconds = 10;
  uint32_t num_want = 50;
  std::string tracker;  // empty: in-process
};

std::string peer_id(int n) {
  char buf[21];
  std::snprintf(buf, sizeof(buf), "-FB0001-%012d", n);
  return std::string(buf, 20);
}

std::string info_hash(int swarm) {
  std::string h(20, '\0');
  for (int i = 0; i < 20; ++i) h[static_cast<size_t>(i)] = static_cast<char>(swarm * 31 + i * 7);
  return h;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App app{"fanout-announce-bench: announce storm against the tracker"};
  app.add_option("--peers", o.peers, "Distinct peers (default 1000)");
  app.add_option("--swarms", o.swarms, "Swarms the peers are spread over (default 20)");
  app.add_option("--threads", o.threads, "Client threads, one keep-alive connection each");
  app.add_option("--seconds", o.seconds, "How long the storm lasts (default 10)");
  app.add_option("--num-want", o.num_want, "numwant of every announce (default 50)");
  app.add_option("--tracker", o.tracker, "Base URL of a running tracker (default: in-process)");
  CLI11_PARSE(app, argc, argv);
  fanout::log::init("bench", "warn");

  std::unique_ptr<fanout::metrics::Registry> registry;
  std::unique_ptr<fanout::tracker::TrackerServer> server;
  std::string host = "127.0.0.1";
  int port = 0;
  if (o.tracker.empty()) {
    fanout::tracker::TrackerConfig config;
    config.listen = {"127.0.0.1", 0};
    config.announce_interval = std::chrono::seconds(30);
    config.peer_ttl = std::chrono::seconds(120);
    config.log_level = "warn";
    registry = std::make_unique<fanout::metrics::Registry>();
    server = std::make_unique<fanout::tracker::TrackerServer>(config, *registry);
    port = server->start();
  }

  // Queries are built up front: the generator should measure the tracker, not itself.
  std::vector<std::string> targets;
  std::mt19937_64 rng(1);
  for (int n = 0; n < o.peers; ++n) {
    fanout::proto::AnnounceRequest r;
    r.info_hash = info_hash(n % o.swarms);
    r.peer_id = peer_id(n);
    r.port = static_cast<uint16_t>(10000 + n % 50000);
    r.left = n % 4 == 0 ? 0 : 1 + rng() % (1u << 30);
    r.num_want = o.num_want;
    r.zone = "z" + std::to_string(n % 3);
    r.rack = "r" + std::to_string(n % 12);
    r.ip = fanout::proto::IpAddress::parse("10." + std::to_string(n / 65536 % 256) + "." +
                                           std::to_string(n / 256 % 256) + "." +
                                           std::to_string(n % 256));
    targets.push_back("/announce?" + fanout::proto::encode_announce_query(r));
  }

  std::atomic<bool> stop{false};
  std::atomic<uint64_t> failures{0};
  std::vector<std::vector<uint32_t>> latencies_us(static_cast<size_t>(o.threads));
  std::vector<std::thread> threads;
  auto start = Clock::now();
  for (int t = 0; t < o.threads; ++t) {
    threads.emplace_back([&, t] {
      std::unique_ptr<httplib::Client> client = o.tracker.empty()
                                                    ? std::make_unique<httplib::Client>(host, port)
                                                    : std::make_unique<httplib::Client>(o.tracker);
      client->set_keep_alive(true);
      client->set_tcp_nodelay(true);
      client->set_url_encode(false);
      auto& mine = latencies_us[static_cast<size_t>(t)];
      mine.reserve(1 << 20);
      // Thread t plays peers t, t + threads, ...: every peer announces, in turn.
      for (size_t i = static_cast<size_t>(t); !stop.load(std::memory_order_relaxed);) {
        auto sent = Clock::now();
        auto res = client->Get(targets[i].c_str());
        auto took = Clock::now() - sent;
        if (!res || res->status != 200 || res->body.find("failure reason") != std::string::npos) {
          failures.fetch_add(1, std::memory_order_relaxed);
        }
        mine.push_back(static_cast<uint32_t>(
            std::chrono::duration_cast<std::chrono::microseconds>(took).count()));
        i += static_cast<size_t>(o.threads);
        if (i >= targets.size()) i = static_cast<size_t>(t);
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::duration<double>(o.seconds));
  stop = true;
  for (auto& th : threads) th.join();
  double elapsed = std::chrono::duration<double>(Clock::now() - start).count();

  std::vector<uint32_t> all;
  for (const auto& v : latencies_us) all.insert(all.end(), v.begin(), v.end());
  std::sort(all.begin(), all.end());
  auto pct = [&](double p) {
    return all.empty()
               ? 0.0
               : all[std::min(all.size() - 1, static_cast<size_t>(p * all.size()))] / 1000.0;
  };
  std::printf("peers %d, swarms %d, client threads %d, numwant %u, %.1f s\n", o.peers, o.swarms,
              o.threads, o.num_want, elapsed);
  std::printf("announces %zu (%llu failed): %.0f announces/s\n", all.size(),
              static_cast<unsigned long long>(failures.load()), all.size() / elapsed);
  std::printf("latency ms: p50 %.3f  p99 %.3f  max %.3f\n", pct(0.50), pct(0.99),
              all.empty() ? 0.0 : all.back() / 1000.0);
  if (server) {
    std::printf("tracker: %zu swarms, %zu peers\n", server->swarms().swarm_count(),
                server->swarms().peer_count());
    server->stop();
  }
  return failures.load() == 0 ? 0 : 1;
}
