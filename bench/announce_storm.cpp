// fanout-announce-bench: an announce storm against the tracker. 1,000 distinct peers (by
// default) announce to 20 swarms over keep-alive HTTP connections from several client threads,
// as fast as the tracker answers, for a fixed time; prints announces/s and p50/p99/max latency.
// By default the tracker runs in this process (same code as fanout-tracker, in-memory store);
// --tracker host:port aims the storm at a running one instead.
//
// The load generator shares the machine with the tracker, so it must cost far less than what it
// measures: every request is pre-built as raw HTTP/1.1 bytes, each client thread keeps one
// keep-alive connection and speaks to it with plain send/recv (no HTTP library, no allocation
// per request), and only the status line, Content-Length and the body's first bytes are read.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <random>
#include <string_view>
#include <thread>
#include <vector>

#include "common/log/log.h"
#include "common/metrics/metrics.h"
#include "proto/announce.h"
#include "tracker/swarm_registry.h"
#include "tracker/tracker_server.h"

namespace {

using Clock = std::chrono::steady_clock;

struct Options {
  int peers = 1000;
  int swarms = 20;
  int threads = 16;
  double seconds = 10;
  uint32_t num_want = 50;
  std::string tracker;  // host:port; empty: in-process
};

// One keep-alive HTTP/1.1 connection to the tracker, driven synchronously.
class Connection {
 public:
  Connection(const std::string& host, int port) : host_(host), port_(port) {}
  ~Connection() { close_socket(); }

  // Sends one pre-built request and reads its answer. Returns false on any transport or HTTP
  // failure and on a bencoded "failure reason"; reconnects on the next call. A kept-alive
  // connection the tracker closed while idle (its keep-alive timeout) is reopened and the
  // request sent again, as every HTTP client does for an idempotent GET.
  bool exchange(const std::string& request) {
    for (int attempt = 0; attempt < 2; ++attempt) {
      bool reused = fd_ >= 0;
      if (fd_ < 0 && !connect_socket()) return false;
      received_ = 0;
      if (send_all(request) && read_response()) return true;
      bool closed_while_idle = reused && received_ == 0;
      close_socket();
      if (!closed_while_idle) return false;
    }
    return false;
  }

 private:
  bool connect_socket() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd_ < 0) return false;
    int yes = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &yes, sizeof(yes));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port_));
    if (::inet_pton(AF_INET, host_.c_str(), &addr.sin_addr) != 1 ||
        ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
      close_socket();
      return false;
    }
    return true;
  }
  void close_socket() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    used_ = 0;
  }
  bool send_all(const std::string& data) {
    for (size_t sent = 0; sent < data.size();) {
      ssize_t n = ::send(fd_, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) return false;
      sent += static_cast<size_t>(n);
    }
    return true;
  }
  bool fill() {
    if (used_ == sizeof(buf_)) return false;  // an answer bigger than any announce answer
    ssize_t n = ::recv(fd_, buf_ + used_, sizeof(buf_) - used_, 0);
    if (n <= 0) return false;
    used_ += static_cast<size_t>(n);
    received_ += static_cast<size_t>(n);
    return true;
  }
  bool read_response() {
    size_t header_end;
    for (;;) {
      std::string_view have(buf_, used_);
      header_end = have.find("\r\n\r\n");
      if (header_end != std::string_view::npos) break;
      if (!fill()) return false;
    }
    std::string_view head(buf_, header_end);
    bool ok = head.starts_with("HTTP/1.1 200");
    size_t length = 0;
    bool have_length = false;
    for (size_t line = head.find("\r\n"); line != std::string_view::npos;
         line = head.find("\r\n", line + 2)) {
      std::string_view rest = head.substr(line + 2);
      if (rest.size() > 15 && ::strncasecmp(rest.data(), "content-length:", 15) == 0) {
        length = std::strtoull(rest.data() + 15, nullptr, 10);
        have_length = true;
      }
    }
    if (!have_length) return false;
    size_t total = header_end + 4 + length;
    while (used_ < total) {
      if (!fill()) return false;
    }
    std::string_view body(buf_ + header_end + 4, length);
    ok = ok && body.find("failure reason") == std::string_view::npos;
    // Keep whatever followed (nothing, with one request in flight).
    std::memmove(buf_, buf_ + total, used_ - total);
    used_ -= total;
    return ok;
  }

  std::string host_;
  int port_;
  int fd_ = -1;
  char buf_[64 * 1024];
  size_t used_ = 0;
  size_t received_ = 0;  // bytes of the current answer so far
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

// Resident set size in bytes (Linux /proc/self/statm).
size_t rss_bytes() {
  long pages = 0, resident = 0;
  if (FILE* f = std::fopen("/proc/self/statm", "r")) {
    if (std::fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
    std::fclose(f);
  }
  return static_cast<size_t>(resident) * static_cast<size_t>(::sysconf(_SC_PAGESIZE));
}

// --memory: announces `peers` distinct peers (labels like a fleet's) spread over `swarms` into an
// in-memory store capped at `max_peers`, and prints the RSS growth: what the cap bounds.
int measure_memory(uint64_t peers, int swarms, uint64_t max_peers) {
  size_t before = rss_bytes();
  fanout::tracker::SwarmRegistry store({std::chrono::hours(1), 1000000, 1000000, max_peers});
  fanout::tracker::PeerAnnounce a;
  a.locality = {"us-east-1a", "rack-042"};
  a.ip = *fanout::proto::IpAddress::parse("10.1.2.3");
  a.port = 7101;
  a.left = 1;
  for (uint64_t n = 0; n < peers; ++n) {
    a.info_hash = info_hash(static_cast<int>(n % static_cast<uint64_t>(swarms)));
    a.info_hash[0] = static_cast<char>(n % static_cast<uint64_t>(swarms) / 256);
    a.peer_id = peer_id(static_cast<int>(n));
    store.announce(a);
  }
  size_t grown = rss_bytes() - before;
  std::printf(
      "announced %llu peers over %d swarms, cap %llu: %zu peers held, RSS +%.1f MiB "
      "(%.0f B per peer held)\n",
      static_cast<unsigned long long>(peers), swarms, static_cast<unsigned long long>(max_peers),
      store.peer_count(), grown / 1048576.0,
      store.peer_count() ? double(grown) / store.peer_count() : 0.0);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App app{"fanout-announce-bench: announce storm against the tracker"};
  app.add_option("--peers", o.peers, "Distinct peers (default 1000)");
  app.add_option("--swarms", o.swarms, "Swarms the peers are spread over (default 20)");
  app.add_option("--threads", o.threads,
                 "Client threads, one keep-alive connection each (default 16)");
  app.add_option("--seconds", o.seconds, "How long the storm lasts (default 10)");
  app.add_option("--num-want", o.num_want, "numwant of every announce (default 50)");
  app.add_option("--tracker", o.tracker,
                 "host:port of a running tracker, IPv4 (default: one in this process)");
  uint64_t memory_peers = 0, max_peers = 0;
  app.add_option("--memory", memory_peers,
                 "Instead of a storm: announce this many peers (over --swarms) into an "
                 "in-memory store and report its memory");
  app.add_option("--max-peers", max_peers, "With --memory: the store's total peer cap (0: none)");
  CLI11_PARSE(app, argc, argv);
  if (memory_peers > 0) return measure_memory(memory_peers, o.swarms, max_peers);
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
  } else {
    size_t colon = o.tracker.rfind(':');
    if (colon == std::string::npos) {
      std::fprintf(stderr, "--tracker wants host:port, got %s\n", o.tracker.c_str());
      return 2;
    }
    host = o.tracker.substr(0, colon);
    port = std::atoi(o.tracker.c_str() + colon + 1);
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
    targets.push_back("GET /announce?" + fanout::proto::encode_announce_query(r) +
                      " HTTP/1.1\r\nHost: " + host + "\r\n\r\n");
  }

  std::atomic<bool> stop{false};
  std::atomic<int> connected{0};
  std::atomic<bool> go{false};
  std::atomic<uint64_t> failures{0};
  std::vector<std::vector<uint32_t>> latencies_us(static_cast<size_t>(o.threads));
  std::vector<std::thread> threads;
  for (int t = 0; t < o.threads; ++t) {
    threads.emplace_back([&, t] {
      auto connection = std::make_unique<Connection>(host, port);
      // Connect (and announce once) before the clock starts: the storm measures announces on
      // established keep-alive connections, not a burst of connects into httplib's listen
      // backlog of 5 (where a dropped SYN costs a 1 s retransmit).
      if (!connection->exchange(targets[static_cast<size_t>(t) % targets.size()])) {
        failures.fetch_add(1, std::memory_order_relaxed);
      }
      connected.fetch_add(1);
      while (!go.load()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
      auto& mine = latencies_us[static_cast<size_t>(t)];
      mine.reserve(1 << 20);
      // Thread t plays peers t, t + threads, ...: every peer announces, in turn.
      for (size_t i = static_cast<size_t>(t); !stop.load(std::memory_order_relaxed);) {
        auto sent = Clock::now();
        bool ok = connection->exchange(targets[i]);
        auto took = Clock::now() - sent;
        if (!ok) failures.fetch_add(1, std::memory_order_relaxed);
        mine.push_back(static_cast<uint32_t>(
            std::chrono::duration_cast<std::chrono::microseconds>(took).count()));
        i += static_cast<size_t>(o.threads);
        if (i >= targets.size()) i = static_cast<size_t>(t);
      }
    });
  }
  while (connected.load() < o.threads) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  auto start = Clock::now();
  go = true;
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
