// fanout-bench fanout: the real fan-out harness. A tracker, K origins over one directory object
// store and N real fanout-agent processes on loopback, each agent rate-limited to B MiB/s in and
// out (standing in for its NIC); one random blob of S MiB. Three measurements in one run:
//   1. single node: one more agent alone fetches the blob (then leaves): the time S/B really takes;
//   2. direct pull: N clients GET the blob straight from the origins over HTTP, each reading at
//      most B (as N nodes pulling from a bucket would);
//   3. the swarm: the N agents are asked for the blob at the same moment.
// Completion times are divided by the single-node time (issue 7's figure of merit); origin
// egress and object-store reads come from the origins' /metrics, CPU from /proc.
//   fanout-bench fanout --agents 20 --size-mib 256 --rate-mibps 20 --origins 1 --json out.json
#include <fcntl.h>
#include <httplib.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "bench/body_reader.h"
#include "bench/sim/report.h"
#include "common/digest/sha256.h"
#include "proto/metainfo_signature.h"

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using namespace fanout;

namespace {

std::vector<std::string> operator+(std::vector<std::string> a, const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

double since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

uint16_t free_port() {
  static std::set<uint16_t> handed_out;
  for (;;) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(a);
    ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a));
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    ::close(fd);
    uint16_t port = ntohs(a.sin_port);
    if (handed_out.insert(port).second) return port;
  }
}

struct CpuTimes {
  double user = 0, system = 0;
  double minor_faults = 0;  // first touches of fresh pages, ~13-55 us each on the VMs we use
  double total() const { return user + system; }
};

// CPU seconds the whole machine spent busy so far (/proc/stat: everything but idle and iowait),
// kernel threads and interrupts included, which per-process times miss.
double machine_busy_seconds() {
  std::ifstream in("/proc/stat");
  std::string cpu;
  double user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0;
  in >> cpu >> user >> nice >> system >> idle >> iowait >> irq >> softirq >> steal;
  return (user + nice + system + irq + softirq + steal) / double(::sysconf(_SC_CLK_TCK));
}

// One fanout binary: its own log, SIGKILL when we die (PR_SET_PDEATHSIG), SIGTERM on stop.
class Process {
 public:
  Process(std::string name, const std::string& binary, std::vector<std::string> args,
          const fs::path& log)
      : name_(std::move(name)) {
    pid_ = ::fork();
    if (pid_ < 0) throw std::runtime_error("fork failed");
    if (pid_ == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      int out = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      int in = ::open("/dev/null", O_RDONLY);
      ::dup2(in, 0), ::dup2(out, 1), ::dup2(out, 2);
      std::vector<char*> argv{const_cast<char*>(binary.c_str())};
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      ::execv(binary.c_str(), argv.data());
      std::fprintf(stderr, "cannot execute %s\n", binary.c_str());
      ::_exit(127);
    }
  }
  ~Process() { stop(); }
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  pid_t pid() const { return pid_; }
  const std::string& name() const { return name_; }
  bool running() {
    if (pid_ <= 0) return false;
    int status;
    return ::waitpid(pid_, &status, WNOHANG) == 0;
  }
  void stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    for (int i = 0; i < 100; ++i) {
      int status;
      if (::waitpid(pid_, &status, WNOHANG) != 0) {
        pid_ = -1;
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
  // utime and stime in seconds, from /proc/<pid>/stat (0 once the process is gone).
  CpuTimes cpu_times() const {
    std::ifstream in("/proc/" + std::to_string(pid_) + "/stat");
    std::string text((std::istreambuf_iterator<char>(in)), {});
    auto close = text.rfind(')');
    if (close == std::string::npos) return {};
    std::istringstream fields(text.substr(close + 2));
    std::string f;
    double utime = 0, stime = 0, minflt = 0;
    for (int i = 3; fields >> f; ++i) {
      if (i == 10) minflt = std::stod(f);
      if (i == 14) utime = std::stod(f);
      if (i == 15) {
        stime = std::stod(f);
        break;
      }
    }
    double tick = double(::sysconf(_SC_CLK_TCK));
    return {utime / tick, stime / tick, minflt};
  }
  double cpu_seconds() const { return cpu_times().total(); }
  // Bytes this process made the block layer read and write, from /proc/<pid>/io.
  std::pair<double, double> disk_bytes() const {
    std::ifstream in("/proc/" + std::to_string(pid_) + "/io");
    double read = 0, written = 0;
    for (std::string key; in >> key;) {
      double v = 0;
      in >> v;
      if (key == "read_bytes:") read = v;
      if (key == "write_bytes:") written = v;
    }
    return {read, written};
  }

 private:
  std::string name_;
  pid_t pid_ = -1;
};

struct Server {
  std::string host_port;  // 127.0.0.1:PORT
  std::unique_ptr<Process> process;
  std::string url() const { return "http://" + host_port; }
};

bool wait_healthy(Server& s, std::chrono::seconds timeout) {
  auto t0 = Clock::now();
  httplib::Client client(s.url());
  client.set_connection_timeout(1);
  while (Clock::now() - t0 < timeout) {
    if (!s.process->running()) return false;
    auto r = client.Get("/healthz");
    if (r && r->status == 200) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

// The sum of the samples called `name` in Prometheus text.
double metric(const std::string& text, const std::string& name) {
  double sum = 0;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(name, 0) != 0) continue;
    char next = line.size() > name.size() ? line[name.size()] : '\0';
    if (next != ' ' && next != '{') continue;
    sum += std::stod(line.substr(line.rfind(' ') + 1));
  }
  return sum;
}

std::string get_metrics(const Server& s) {
  httplib::Client client(s.url());
  auto r = client.Get("/metrics");
  return r && r->status == 200 ? r->body : std::string();
}

// Writes `size` random bytes into the directory object store under their digest.
Digest put_random_object(const fs::path& objects, uint64_t size) {
  fs::create_directories(objects / "blobs" / "sha256");
  auto staging = objects / "staging.tmp";
  Sha256 hash;
  {
    std::ofstream out(staging, std::ios::binary);
    std::mt19937_64 rng(std::random_device{}());
    std::vector<uint64_t> buf((1 << 20) / 8);
    for (uint64_t left = size; left > 0;) {
      for (auto& w : buf) w = rng();
      size_t n = std::min<uint64_t>(left, buf.size() * 8);
      out.write(reinterpret_cast<const char*>(buf.data()), static_cast<std::streamsize>(n));
      hash.update(buf.data(), n);
      left -= n;
    }
  }
  Digest digest = hash.finish();
  fs::rename(staging, objects / "blobs" / "sha256" / digest.hex());
  return digest;
}

// An HTTP GET of url+path ("http://127.0.0.1:PORT"), opened; false when it got no 200 answer.
bool open_get(bench::BodyReader& reader, const std::string& url, const std::string& path) {
  auto colon = url.rfind(':');
  auto port = static_cast<uint16_t>(std::stoi(url.substr(colon + 1)));
  return reader.open(url.substr(7, colon - 7), port, path);
}

struct Phase {
  std::vector<double> completion_sec;  // < 0: failed
  std::vector<double> sent_sec;        // when each request was on its way; < 0: never sent
  double wall_sec = 0;

  // Between the first request sent and the last (issue 7: all N within one second); -1 when
  // none was sent.
  double start_spread() const {
    double first = 1e30, last = -1;
    for (double t : sent_sec) {
      if (t < 0) continue;
      first = std::min(first, t), last = std::max(last, t);
    }
    return last < 0 ? -1 : last - first;
  }
};

// When a fetch counts as done.
enum class DoneAt {
  // The agent answered: it answers a blob GET only once the blob is verified in its cache, and
  // that is the node's completion. The body is not read: here 50 nodes share one disk and two
  // cores, and 50 read-backs of the blob would measure those (see read_back_all).
  kAnswer,
  // The last body byte arrived: the direct pull, where the body is the transfer itself.
  kBody,
};

// Runs `n` fetches, all released at the same instant; times are since that instant.
Phase fetch_all(const std::vector<std::string>& urls, const std::string& path, double rate,
                uint64_t size, DoneAt done_at) {
  Phase phase;
  phase.completion_sec.assign(urls.size(), -1);
  phase.sent_sec.assign(urls.size(), -1);
  std::atomic<bool> go{false};
  std::atomic<size_t> ready{0};
  Clock::time_point t0;
  std::vector<std::thread> threads;
  for (size_t i = 0; i < urls.size(); ++i) {
    threads.emplace_back([&, i] {
      ++ready;
      while (!go.load()) std::this_thread::yield();
      bench::BodyReader reader;
      bool answered = open_get(reader, urls[i], path);
      if (reader.sent_at() != Clock::time_point{}) {
        phase.sent_sec[i] = std::chrono::duration<double>(reader.sent_at() - t0).count();
      }
      if (!answered) return;
      if (done_at == DoneAt::kAnswer) {
        phase.completion_sec[i] = since(t0);
      } else if (reader.read_rest(rate, false) == static_cast<int64_t>(size)) {
        phase.completion_sec[i] = since(t0);
      }
    });
  }
  while (ready.load() < urls.size()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  t0 = Clock::now();
  go = true;
  for (auto& t : threads) t.join();
  phase.wall_sec = since(t0);
  return phase;
}

// After a phase: reads every node's whole blob back over HTTP and checks its SHA-256, a few at a
// time. Returns how many copies were complete and correct.
int read_back_all(const std::vector<std::string>& urls, const std::string& path,
                  const Digest& digest, uint64_t size) {
  std::atomic<size_t> next{0};
  std::atomic<int> good{0};
  std::vector<std::thread> readers;
  for (unsigned t = 0; t < std::max(2u, std::thread::hardware_concurrency()); ++t) {
    readers.emplace_back([&] {
      for (size_t i = next++; i < urls.size(); i = next++) {
        bench::BodyReader reader;
        if (!open_get(reader, urls[i], path)) continue;
        if (reader.read_rest(0, true) != static_cast<int64_t>(size)) continue;
        if (reader.digest() == digest) ++good;
      }
    });
  }
  for (auto& t : readers) t.join();
  return good.load();
}

struct Options {
  int agents = 20;
  uint64_t size_mib = 256;
  double rate_mibps = 20;
  int origins = 1;
  unsigned agent_threads = 1;
  std::string json;
  std::string dir;
  bool keep = false;
  bool skip_direct = false;
  // Each agent first fetches a blob of this size, untimed, so the measured fetch finds a warm
  // process (buffer pool, connections) as on a node that served earlier rollouts.
  uint64_t warm_up_mib = 0;
  // Extra `--set KEY=VALUE` for every agent / origin, to try other engine settings.
  std::vector<std::string> agent_sets, origin_sets;
  // Without a metainfo key pair: agents hash every blob a second time (whole_blob_hash), as
  // before signed metainfo; for A/B runs against the recommended, signed deployment.
  bool unsigned_metainfo = false;
};

// "--set", each of `sets`: appended to a daemon's command line.
std::vector<std::string> set_flags(const std::vector<std::string>& sets) {
  std::vector<std::string> args;
  for (const auto& kv : sets) args.insert(args.end(), {"--set", kv});
  return args;
}

int run_fanout(const Options& o) {
  fs::path bin = fs::read_symlink("/proc/self/exe").parent_path();
  fs::path root = o.dir.empty()
                      ? fs::temp_directory_path() / ("fanout-bench-" + std::to_string(::getpid()))
                      : fs::path(o.dir);
  fs::remove_all(root);
  fs::create_directories(root / "logs");
  uint64_t size = o.size_mib << 20;
  double rate = o.rate_mibps * 1048576.0;
  // The recommended deployment: origins sign metainfo, agents hold the public key.
  std::vector<std::string> origin_key_sets, agent_key_sets;
  if (!o.unsigned_metainfo) {
    fs::create_directories(root / "keys");
    proto::write_metainfo_key_pair(root / "keys" / "origin.key", root / "keys" / "origin.pub");
    origin_key_sets = {"metainfo_signing_key=" + (root / "keys" / "origin.key").string()};
    agent_key_sets = {"metainfo_public_keys=[" + (root / "keys" / "origin.pub").string() + "]"};
  }
  std::string rate_arg = std::to_string(static_cast<uint64_t>(rate));
  auto log = [&](const std::string& name) { return root / "logs" / (name + ".log"); };
  int status = 0;
  {
    Server tracker{"127.0.0.1:" + std::to_string(free_port()), nullptr};
    std::vector<Server> origins(o.origins);
    for (auto& s : origins) s.host_port = "127.0.0.1:" + std::to_string(free_port());
    std::vector<std::string> targs{"--listen", tracker.host_port, "--log-level", "warn"};
    for (auto& s : origins) targs.insert(targs.end(), {"--origin", s.url()});
    tracker.process = std::make_unique<Process>("tracker", (bin / "fanout-tracker").string(), targs,
                                                log("tracker"));
    if (!wait_healthy(tracker, std::chrono::seconds(20))) {
      std::cerr << "tracker did not come up; see " << log("tracker") << "\n";
      return 1;
    }
    std::cerr << "writing a " << o.size_mib << " MiB random object\n";
    Digest digest = put_random_object(root / "objects", size);
    std::string blob_path = "/v1/blobs/" + digest.str();
    for (int i = 0; i < o.origins; ++i) {
      std::string name = "origin-" + std::to_string(i);
      origins[i].process = std::make_unique<Process>(
          name, (bin / "fanout-origin").string(),
          std::vector<std::string>{"--listen", origins[i].host_port, "--peer-listen",
                                   "127.0.0.1:" + std::to_string(free_port()), "--advertise-host",
                                   "127.0.0.1", "--tracker", tracker.url(), "--object-store-dir",
                                   (root / "objects").string(), "--cache-dir",
                                   (root / (name + "-cache")).string(), "--log-level", "warn"} +
              set_flags(origin_key_sets) + set_flags(o.origin_sets),
          log(name));
      if (!wait_healthy(origins[i], std::chrono::seconds(20))) {
        std::cerr << name << " did not come up; see " << log(name) << "\n";
        return 1;
      }
    }
    // Every origin pulls an object once (and verifies it) before anyone is timed.
    auto pull_everywhere = [&](const std::string& path) {
      for (auto& s : origins) {
        httplib::Client client(s.url());
        client.set_read_timeout(600);
        auto r = client.Get(path + "/metainfo");
        if (!r || r->status != 200) {
          std::cerr << "origin " << s.url() << " could not pull " << path << "\n";
          return false;
        }
      }
      return true;
    };
    if (!pull_everywhere(blob_path)) return 1;
    auto origin_counters = [&] {
      double egress = 0, store = 0;
      for (auto& s : origins) {
        auto text = get_metrics(s);
        egress += metric(text, "fanout_origin_bytes_to_peers_total") +
                  metric(text, "fanout_origin_http_bytes_sent_total");
        store += metric(text, "fanout_origin_objectstore_bytes_read_total");
      }
      return std::pair{egress, store};
    };
    // The warm-up blob: pulled by every origin now, its object-store reads kept out of the figures.
    std::string warm_path;
    uint64_t warm_size = o.warm_up_mib << 20;
    double warm_store_bytes = 0;
    if (warm_size > 0) {
      double store_before = origin_counters().second;
      warm_path = "/v1/blobs/" + put_random_object(root / "objects", warm_size).str();
      if (!pull_everywhere(warm_path)) return 1;
      warm_store_bytes = origin_counters().second - store_before;
    }
    auto warm_up = [&](const std::vector<std::string>& urls) {
      if (warm_size == 0) return true;
      auto p = fetch_all(urls, warm_path, 0, warm_size, DoneAt::kAnswer);
      return std::all_of(p.completion_sec.begin(), p.completion_sec.end(),
                         [](double t) { return t >= 0; });
    };
    auto start_agent = [&](const std::string& name, bool rate_limited = true) {
      std::string agent_rate = rate_limited ? rate_arg : "0";
      Server a{"127.0.0.1:" + std::to_string(free_port()), nullptr};
      // The HTTP fallback (swarm.fallback_after) goes to our origins, as deployed.
      std::vector<std::string> fallback;
      for (auto& s : origins) fallback.insert(fallback.end(), {"--origin", s.url()});
      a.process = std::make_unique<Process>(
          name, (bin / "fanout-agent").string(),
          fallback +
              std::vector<std::string>{
                  "--listen", a.host_port, "--peer-listen",
                  "127.0.0.1:" + std::to_string(free_port()), "--advertise-host", "127.0.0.1",
                  "--tracker", tracker.url(), "--cache-dir", (root / (name + "-cache")).string(),
                  "--set", "swarm.ingress_rate=" + agent_rate, "--set",
                  "swarm.egress_rate=" + agent_rate, "--set",
                  "swarm.threads=" + std::to_string(o.agent_threads), "--log-level", "warn"} +
              set_flags(agent_key_sets) + set_flags(o.agent_sets),
          log(name));
      return a;
    };

    // 1. One agent alone.
    std::cerr << "single node: one agent alone at " << o.rate_mibps << " MiB/s\n";
    double single = 0;
    double probe_busy = 0;  // machine CPU-s for one copy at full speed
    {
      Server solo = start_agent("agent-solo");
      if (!wait_healthy(solo, std::chrono::seconds(20))) {
        std::cerr << "agent-solo did not come up; see " << log("agent-solo") << "\n";
        return 1;
      }
      if (!warm_up({solo.url()})) {
        std::cerr << "the solo agent failed its warm-up fetch; see " << log("agent-solo") << "\n";
        return 1;
      }
      auto p = fetch_all({solo.url()}, blob_path, 0, size, DoneAt::kAnswer);
      if (p.completion_sec[0] < 0) {
        std::cerr << "the solo agent failed to fetch; see " << log("agent-solo") << "\n";
        return 1;
      }
      single = p.completion_sec[0];
      if (read_back_all({solo.url()}, blob_path, digest, size) != 1) {
        std::cerr << "the solo agent's copy did not read back correct; see " << log("agent-solo")
                  << "\n";
        return 1;
      }
      solo.process->stop();  // announces "stopped": it must not seed the swarm below
    }

    // 1b. What one byte costs this machine: a node with no rate limit fetches the blob from the
    // origin as fast as the CPU allows; every CPU-s the machine spent, per byte. A fetch takes
    // well under a second here, so anything else running skews one: the least of three counts.
    for (int k = 0; k < 3; ++k) {
      std::string name = "agent-probe-" + std::to_string(k);
      Server probe = start_agent(name, false);
      if (!wait_healthy(probe, std::chrono::seconds(20)) || !warm_up({probe.url()})) {
        std::cerr << name << " did not come up; see " << log(name) << "\n";
        return 1;
      }
      double busy_before = machine_busy_seconds();
      auto p = fetch_all({probe.url()}, blob_path, 0, size, DoneAt::kAnswer);
      double busy = machine_busy_seconds() - busy_before;
      if (p.completion_sec[0] < 0) {
        std::cerr << "the probe agent failed to fetch; see " << log(name) << "\n";
        return 1;
      }
      std::cerr << "machine: one node unthrottled took " << p.completion_sec[0] << " s and "
                << busy << " CPU-s for one copy\n";
      if (k == 0 || busy < probe_busy) probe_busy = busy;
      probe.process->stop();
    }

    // 2. Direct pull from the origins, each client reading at most B.
    Phase direct;
    double direct_egress = 0;
    if (!o.skip_direct) {
      std::cerr << "direct pull: " << o.agents << " HTTP clients on the origins\n";
      auto before = origin_counters();
      std::vector<std::string> urls;
      for (int i = 0; i < o.agents; ++i) urls.push_back(origins[i % o.origins].url());
      direct = fetch_all(urls, blob_path, rate, size, DoneAt::kBody);
      direct_egress = origin_counters().first - before.first;
    }

    // 3. The swarm.
    std::cerr << "swarm: starting " << o.agents << " agents\n";
    std::vector<Server> agents;
    for (int i = 0; i < o.agents; ++i) agents.push_back(start_agent("agent-" + std::to_string(i)));
    for (auto& a : agents) {
      if (!wait_healthy(a, std::chrono::seconds(60))) {
        std::cerr << a.process->name() << " did not come up; see " << log(a.process->name())
                  << "\n";
        return 1;
      }
    }
    std::vector<std::string> urls;
    for (auto& a : agents) urls.push_back(a.url());
    if (warm_size > 0) {
      std::cerr << "swarm: " << o.agents << " agents fetch the " << o.warm_up_mib
                << " MiB warm-up blob (untimed)\n";
      if (!warm_up(urls)) {
        std::cerr << "an agent failed its warm-up fetch; see " << log("agent-0") << "\n";
        return 1;
      }
    }
    std::cerr << "swarm: " << o.agents << " agents fetch at once\n";
    auto before = origin_counters();
    std::vector<CpuTimes> cpu_before;
    std::pair<double, double> disk_before{0, 0};
    for (auto& a : agents) {
      cpu_before.push_back(a.process->cpu_times());
      auto d = a.process->disk_bytes();
      disk_before.first += d.first, disk_before.second += d.second;
    }
    double origin_cpu_before = 0;
    for (auto& s : origins) origin_cpu_before += s.process->cpu_seconds();
    double tracker_cpu_before = tracker.process->cpu_seconds();
    double swarm_busy = -machine_busy_seconds();
    Phase swarm = fetch_all(urls, blob_path, 0, size, DoneAt::kAnswer);
    swarm_busy += machine_busy_seconds();
    auto after = origin_counters();
    CpuTimes agent_times;
    double disk_read = -disk_before.first, disk_written = -disk_before.second;
    for (size_t i = 0; i < agents.size(); ++i) {
      CpuTimes t = agents[i].process->cpu_times();
      agent_times.user += t.user - cpu_before[i].user;
      agent_times.system += t.system - cpu_before[i].system;
      agent_times.minor_faults += t.minor_faults - cpu_before[i].minor_faults;
      auto d = agents[i].process->disk_bytes();
      disk_read += d.first, disk_written += d.second;
    }
    double agent_cpu = agent_times.total();
    double origin_cpu = -origin_cpu_before;
    for (auto& s : origins) origin_cpu += s.process->cpu_seconds();
    double tracker_cpu = tracker.process->cpu_seconds() - tracker_cpu_before;
    double from_peers = 0, from_origins = 0, fallback = 0, signed_published = 0;
    for (auto& a : agents) {
      auto text = get_metrics(a);
      signed_published += metric(text, "fanout_agent_blobs_published_on_signed_metainfo_total");
      from_peers += metric(text, "fanout_agent_bytes_from_peers_total");
      from_origins += metric(text, "fanout_agent_bytes_from_origins_total");
      fallback += metric(text, "fanout_agent_bytes_from_fallback_total");
    }

    // Only now, so the read-back loads neither the swarm nor its CPU and disk figures.
    std::cerr << "swarm: reading every agent's copy back and checking its SHA-256\n";
    auto read_back_t0 = Clock::now();
    int verified = read_back_all(urls, blob_path, digest, size);
    double read_back_sec = since(read_back_t0);

    auto s = sim::summarize(swarm.completion_sec, single);
    auto d = sim::summarize(direct.completion_sec, single);
    double fluid = sim::fluid_limit_ratio(o.agents, double(size), rate, rate, 1e30);
    unsigned cores = std::thread::hardware_concurrency();
    nlohmann::json j;
    j["tool"] = "fanout-bench fanout";
    j["agents"] = o.agents;
    j["size_bytes"] = size;
    j["rate_bytes_per_sec"] = rate;
    j["origins"] = o.origins;
    j["agent_threads"] = o.agent_threads;
    j["signed_metainfo"] = !o.unsigned_metainfo;
    // Blobs (warm-up ones included) the agents published without the whole-blob pass.
    j["blobs_published_on_signed_metainfo"] = signed_published;
    to_json(j, s);
    j["origin_egress_copies"] = (after.first - before.first) / double(size);
    // The whole run: each origin pulled the object once, however many phases it then served.
    j["object_store_copies"] = (after.second - warm_store_bytes) / double(size);
    j["object_store_copies_per_origin"] =
        (after.second - warm_store_bytes) / double(size) / o.origins;
    j["warm_up_bytes"] = warm_size;
    j["agent_bytes_from_peers"] = from_peers;
    j["agent_bytes_from_origins"] = from_origins;
    j["agent_bytes_from_fallback"] = fallback;
    // Every key is there in every run: null when not measured (--skip-direct, nothing sent).
    auto or_null = [](bool measured, double v) { return measured ? nlohmann::json(v) : nullptr; };
    bool direct_ran = !o.skip_direct;
    double direct_spread = direct.start_spread(), swarm_spread = swarm.start_spread();
    j["direct_p50_ratio"] = or_null(direct_ran, d.p50_ratio);
    j["direct_max_seconds"] = or_null(direct_ran, d.max_seconds);
    j["direct_max_ratio"] = or_null(direct_ran, d.max_ratio);
    j["direct_origin_egress_copies"] = or_null(direct_ran, direct_egress / double(size));
    j["direct_start_spread_seconds"] = or_null(direct_ran && direct_spread >= 0, direct_spread);
    j["start_spread_seconds"] = or_null(swarm_spread >= 0, swarm_spread);
    j["fluid_limit_ratio"] = fluid;
    j["swarm_wall_seconds"] = swarm.wall_sec;
    j["cpu_seconds_agents"] = agent_cpu;
    // User: hashing, the engine, copies into buffers; system: sockets, disk, page cache.
    j["cpu_seconds_agents_user"] = agent_times.user;
    j["cpu_seconds_agents_system"] = agent_times.system;
    j["page_faults_per_agent"] = agent_times.minor_faults / o.agents;
    j["cpu_seconds_origins"] = origin_cpu;
    j["cpu_seconds_tracker"] = tracker_cpu;
    j["cpu_cores"] = cores;
    // What this machine can move for all its nodes together: the CPU-s one copy took at full
    // speed (origin reading and sending, agent receiving, hashing, writing: what every byte of the
    // swarm costs too) against every core. fanout-sim --host-mibps takes it.
    double host_rate = probe_busy > 0 ? cores * double(size) / probe_busy : 0;
    j["probe_cpu_ns_per_byte"] = probe_busy * 1e9 / double(size);
    j["host_bytes_per_sec"] = host_rate;
    j["swarm_cpu_ns_per_byte"] = swarm_busy * 1e9 / (double(size) * o.agents);
    // The same figure under the swarm's own load: 50 processes on a few cores pay ~15% more per
    // byte than one (scheduling, caches) and the probe cannot see that. The model, given this
    // one, came within 6-9% of the real 50-agent run (bench/README.md, "Calibration").
    double swarm_host_rate = swarm_busy > 0 ? cores * double(size) * o.agents / swarm_busy : 0;
    j["swarm_host_bytes_per_sec"] = swarm_host_rate;
    j["cpu_busy_share"] = (agent_cpu + origin_cpu + tracker_cpu) / (swarm.wall_sec * cores);
    // The agents' disk traffic, in copies of the blob per agent: 1 written is the least; reads
    // are the whole-blob hash at commit reading pieces back (up to 1 copy) and pieces served to
    // peers that were no longer in memory.
    j["disk_read_copies_per_agent"] = disk_read / double(size) / o.agents;
    j["disk_write_copies_per_agent"] = disk_written / double(size) / o.agents;
    j["disk_mib_per_sec"] = (disk_read + disk_written) / swarm.wall_sec / (1 << 20);
    j["copies_verified"] = verified;
    j["read_back_seconds"] = read_back_sec;
    std::vector<double> sorted = swarm.completion_sec;
    j["completion_seconds"] = sorted;

    std::printf("fanout-bench fanout: %d agents, %llu MiB, %.1f MiB/s per agent, %d origin(s)\n",
                o.agents, static_cast<unsigned long long>(o.size_mib), o.rate_mibps, o.origins);
    std::printf("  %-30s %10s %10s\n", "", "seconds", "ratio");
    std::printf("  %-30s %10.2f %10.3f\n", "single node (one agent alone)", single, 1.0);
    std::printf("  %-30s %10.2f %10.3f\n", "swarm p50", s.p50_seconds, s.p50_ratio);
    std::printf("  %-30s %10.2f %10.3f\n", "swarm p99", s.p99_seconds, s.p99_ratio);
    std::printf("  %-30s %10.2f %10.3f\n", "swarm max", s.max_seconds, s.max_ratio);
    if (!o.skip_direct) {
      std::printf("  %-30s %10.2f %10.3f\n", "direct pull max", d.max_seconds, d.max_ratio);
    }
    std::printf("  %-30s %10s %10.3f\n", "fluid-model limit", "", fluid);
    if (swarm_spread >= 0) {
      auto sent = std::count_if(swarm.sent_sec.begin(), swarm.sent_sec.end(),
                                [](double t) { return t >= 0; });
      std::printf("  %ld of %d swarm requests sent, within %.3f s of each other\n",
                  static_cast<long>(sent), o.agents, swarm_spread);
    }
    if (swarm_spread > 1.0) {
      std::cerr << "warning: the fetches did not all start within one second; the ratios "
                   "include the late starts\n";
    }
    std::printf(
        "  origin egress %.3f copies (swarm phase); object store read %.3f copies "
        "(%d origin(s)); %u unfinished\n",
        j["origin_egress_copies"].get<double>(), j["object_store_copies"].get<double>(), o.origins,
        s.unfinished);
    std::printf(
        "  CPU during the swarm: agents %.1f s (user %.1f, system %.1f; %.0f page faults each), "
        "origins %.1f s, tracker %.1f s over %.1f s wall on %u cores (%.0f%% busy)\n",
        agent_cpu, agent_times.user, agent_times.system, agent_times.minor_faults / o.agents,
        origin_cpu, tracker_cpu, swarm.wall_sec, cores,
        100 * j["cpu_busy_share"].get<double>());
    std::printf(
        "  machine CPU per byte received: one node at full speed %.2f ns, swarm %.2f ns; so this "
        "machine moves at most %.0f MiB/s for all nodes by the probe, %.0f MiB/s at the swarm's "
        "cost (fanout-sim --host-mibps)\n",
        j["probe_cpu_ns_per_byte"].get<double>(), j["swarm_cpu_ns_per_byte"].get<double>(),
        host_rate / (1 << 20), swarm_host_rate / (1 << 20));
    std::printf(
        "  disk during the swarm: agents read %.2f and wrote %.2f copies each (%.0f MiB/s in "
        "all)\n",
        j["disk_read_copies_per_agent"].get<double>(),
        j["disk_write_copies_per_agent"].get<double>(),
        j["disk_mib_per_sec"].get<double>());
    std::printf("  copies read back and SHA-256 verified: %d of %d (%.1f s)\n", verified, o.agents,
                read_back_sec);
    std::printf("  metainfo: %s; %.0f blob(s) published on signed metainfo, no whole-blob pass\n",
                o.unsigned_metainfo ? "unsigned (--unsigned)" : "signed by the origins",
                signed_published);
    if (!o.json.empty()) {
      std::ofstream(o.json) << j.dump(2) << "\n";
      auto why = sim::plot_cdf(
          sim::png_beside(o.json),
          "fanout-bench: " + std::to_string(o.agents) + " agents, " + std::to_string(o.size_mib) +
              " MiB at " + std::to_string(int(o.rate_mibps)) + " MiB/s",
          swarm.completion_sec, "swarm", direct.completion_sec, "direct pull from the origin");
      if (!why.empty()) std::cerr << "warning: " << why << "\n";
    }
    if (s.unfinished) {
      std::cerr << s.unfinished << " agent(s) did not finish; logs in " << root / "logs"
                << "\n";
      status = 1;
    }
    if (verified != o.agents - static_cast<int>(s.unfinished)) {
      std::cerr << "an agent answered but its copy did not read back whole and correct\n";
      status = 1;
    }
    for (auto& a : agents) a.process->stop();
  }
  if (!o.keep && status == 0) fs::remove_all(root);
  return status;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"fanout-bench: real fan-out benchmarks on this machine"};
  app.require_subcommand(1);
  Options o;
  auto* fanout = app.add_subcommand("fanout", "N real agents fetch one blob at once (issue 7)");
  fanout->add_option("--agents", o.agents, "Agents fetching at once")->capture_default_str();
  fanout->add_option("--size-mib", o.size_mib, "Blob size in MiB")->capture_default_str();
  fanout->add_option("--rate-mibps", o.rate_mibps, "Each agent's ingress and egress cap, MiB/s")
      ->capture_default_str();
  fanout->add_option("--origins", o.origins, "Origins (each pulls the object once)")
      ->capture_default_str();
  fanout->add_option("--agent-threads", o.agent_threads, "swarm.threads of each agent")
      ->capture_default_str();
  fanout->add_option("--json", o.json, "Write results here, and the CDF PNG beside it");
  fanout->add_option("--dir", o.dir, "Scratch directory (default: a fresh one under /tmp)");
  fanout->add_flag("--keep", o.keep, "Keep the scratch directory (logs, caches)");
  fanout->add_flag("--skip-direct", o.skip_direct, "Skip the direct-pull baseline");
  fanout->add_option("--warm-up-mib", o.warm_up_mib,
                     "Each agent first fetches a blob this large, untimed (0 = cold agents)")
      ->capture_default_str();
  fanout->add_option("--agent-set", o.agent_sets,
                     "KEY=VALUE passed to every agent as --set (repeatable), e.g. "
                     "swarm.max_pieces_in_flight=8");
  fanout->add_option("--origin-set", o.origin_sets,
                     "KEY=VALUE passed to every origin as --set (repeatable)");
  fanout->add_flag("--unsigned", o.unsigned_metainfo,
                   "No metainfo key pair: origins do not sign, agents hash every blob a second "
                   "time (whole_blob_hash), for A/B runs");
  CLI11_PARSE(app, argc, argv);
  if (o.agents < 1 || o.origins < 1 || o.size_mib < 1 || o.rate_mibps <= 0) {
    std::cerr << "--agents, --origins, --size-mib and --rate-mibps must be positive\n";
    return 2;
  }
  ::signal(SIGPIPE, SIG_IGN);
  return run_fanout(o);
}
