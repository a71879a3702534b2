// Issue 5's checks on real processes: an agent killed with SIGKILL mid-download resumes from its
// verified pieces; a capped cache evicts the older blob; with the tracker stopped a fetch completes
// through the origin's HTTP fallback; a Range read of the end of a cold blob answers long before
// the whole blob is there. Rate limits slow the downloads so each moment is measurable.
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "common/digest/sha256.h"
#include "proto/metainfo.h"
#include "tests/support/bin_dir.h"
#include "tests/support/child_process.h"
#include "tests/support/eventually.h"
#include "tests/support/http.h"
#include "tests/support/ports.h"
#include "tests/support/prometheus.h"
#include "tests/support/random_blob.h"
#include "tests/support/temp_dir.h"

namespace fanout::test {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
constexpr uint64_t kMiB = 1u << 20;

std::string loopback(uint16_t port) {
  return "127.0.0.1:" + std::to_string(port);
}

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

// A tracker, an origin and agents started with whatever extra flags a test needs.
class Nodes {
 public:
  explicit Nodes(fs::path root) : root_(std::move(root)) {
    fs::create_directories(root_ / "objects");
    tracker_url_ = "http://" + loopback(free_port());
    origin_url_ = "http://" + loopback(free_port());
  }
  ~Nodes() {
    for (auto& [name, p] : agents_) p.reset();
    origin_.reset();
    tracker_.reset();
  }

  ::testing::AssertionResult start_tracker() {
    return start(tracker_, "tracker", "fanout-tracker", tracker_url_,
                 {"--listen", tracker_url_.substr(7), "--origin", origin_url_});
  }
  ::testing::AssertionResult start_origin() {
    return start(origin_, "origin", "fanout-origin", origin_url_,
                 {"--listen", origin_url_.substr(7), "--peer-listen", loopback(free_port()),
                  "--advertise-host", "127.0.0.1", "--tracker", tracker_url_, "--object-store-dir",
                  (root_ / "objects").string(), "--cache-dir", (root_ / "origin-cache").string()});
  }
  void stop_tracker() { tracker_->stop(); }

  // Starts (or restarts, same cache and ports) agent `name` with extra flags.
  ::testing::AssertionResult start_agent(const std::string& name, std::vector<std::string> extra) {
    auto& a = agent_info_[name];
    if (a.url.empty()) {
      a.url = "http://" + loopback(free_port());
      a.peer = loopback(free_port());
    }
    std::vector<std::string> args = {"--listen",  a.url.substr(7),    "--peer-listen",
                                     a.peer,      "--advertise-host", "127.0.0.1",
                                     "--tracker", tracker_url_,       "--origin",
                                     origin_url_, "--cache-dir",      cache_dir(name).string()};
    args.insert(args.end(), extra.begin(), extra.end());
    agents_[name].reset();
    return start(agents_[name], name + "-" + std::to_string(++a.starts), "fanout-agent", a.url,
                 args);
  }
  ChildProcess& agent(const std::string& name) { return *agents_.at(name); }
  std::string agent_url(const std::string& name) { return agent_info_.at(name).url; }
  fs::path cache_dir(const std::string& name) const { return root_ / (name + "-cache"); }
  const std::string& origin_url() const { return origin_url_; }

  Digest put_random_object(uint64_t size) {
    auto staging = root_ / "staging.tmp";
    Digest digest = write_random_file(staging, size);
    fs::path path = root_ / "objects" / "blobs" / "sha256" / digest.hex();
    fs::create_directories(path.parent_path());
    fs::rename(staging, path);
    return digest;
  }

  std::string logs() {
    std::string out;
    auto add = [&](std::unique_ptr<ChildProcess>& p) {
      if (p) out += "\n===== " + p->describe() + "\n" + p->log_tail(30);
    };
    add(tracker_);
    add(origin_);
    for (auto& [name, p] : agents_) add(p);
    return out;
  }

 private:
  struct AgentInfo {
    std::string url, peer;
    int starts = 0;
  };
  ::testing::AssertionResult start(std::unique_ptr<ChildProcess>& slot, const std::string& name,
                                   const char* binary, const std::string& url,
                                   std::vector<std::string> args) {
    args.insert(args.end(), {"--log-level", "info"});
    try {
      slot =
          std::make_unique<ChildProcess>(name, bin(binary), args, root_ / "logs" / (name + ".log"));
    } catch (const std::exception& e) {
      return ::testing::AssertionFailure() << "cannot start " << name << ": " << e.what();
    }
    return slot->wait_healthy(url);
  }

  fs::path root_;
  std::string tracker_url_, origin_url_;
  std::unique_ptr<ChildProcess> tracker_, origin_;
  std::map<std::string, std::unique_ptr<ChildProcess>> agents_;
  std::map<std::string, AgentInfo> agent_info_;
};

struct Got {
  int status = 0;
  uint64_t bytes = 0;
  Digest digest;
  std::string body;  // the first bytes (errors, small ranges)
  double first_byte_s = -1;
  double total_s = 0;
  std::string error;
};

Got get(const std::string& url, const std::string& path, httplib::Headers headers = {}) {
  Got got;
  httplib::Client client(url);
  client.set_connection_timeout(std::chrono::seconds(5));
  client.set_read_timeout(std::chrono::seconds(300));
  Sha256 hash;
  auto began = Clock::now();
  auto res = client.Get(
      path, headers,
      [&](const httplib::Response& r) {
        got.status = r.status;
        return true;
      },
      [&](const char* data, size_t size) {
        if (got.first_byte_s < 0) got.first_byte_s = seconds_since(began);
        got.bytes += size;
        hash.update(data, size);
        if (got.body.size() < 4096) got.body.append(data, std::min<size_t>(size, 4096));
        return true;
      });
  got.total_s = seconds_since(began);
  if (!res) got.error = httplib::to_string(res.error());
  got.digest = hash.finish();
  return got;
}

double agent_metric(Nodes& nodes, const std::string& name, const std::string& metric_name) {
  return metric(get_body(nodes.agent_url(name), "/metrics"), metric_name);
}

double bytes_received(Nodes& nodes, const std::string& name) {
  std::string text = get_body(nodes.agent_url(name), "/metrics");
  return metric(text, "fanout_agent_bytes_from_peers_total") +
         metric(text, "fanout_agent_bytes_from_origins_total") +
         metric(text, "fanout_agent_bytes_from_fallback_total");
}

// Verified pieces recorded in a partial download's bitmap (one byte per piece).
uint64_t verified_pieces(const fs::path& cache, const Digest& digest) {
  std::ifstream in(cache / "partial" / (digest.hex() + ".bitmap"), std::ios::binary);
  uint64_t n = 0;
  char c;
  while (in.get(c)) n += c != 0;
  return n;
}

TEST(AgentResilience, KilledMidDownloadResumesFromVerifiedPieces) {
  constexpr uint64_t kSize = 512 * kMiB;
  TempDir dir("fanout-agent-resume-");
  Nodes nodes(dir.path());
  ASSERT_TRUE(nodes.start_tracker());
  ASSERT_TRUE(nodes.start_origin());
  Digest digest = nodes.put_random_object(kSize);
  // Warm the origin so the agent's clock measures only the agent.
  ASSERT_FALSE(get_body(nodes.origin_url(), "/v1/blobs/" + digest.str() + "/metainfo").empty());

  const std::vector<std::string> slow = {"--ingress-rate", "96MiB"};  // ~5.3 s for the blob
  ASSERT_TRUE(nodes.start_agent("a", slow)) << nodes.logs();
  std::thread client([&] { get(nodes.agent_url("a"), "/v1/blobs/" + digest.str()); });
  // Kill once a good share of the pieces is verified.
  const uint32_t pieces =
      proto::Metainfo::piece_count_for(kSize, proto::Metainfo::piece_length_for(kSize));
  eventually(
      [&] { return verified_pieces(nodes.cache_dir("a"), digest) >= pieces * 2 / 5; },
      std::chrono::seconds(60));
  ::kill(nodes.agent("a").pid(), SIGKILL);
  client.join();
  // SIGKILL is delivered asynchronously: give the kernel a moment to reap the process.
  for (int i = 0; i < 250 && nodes.agent("a").running(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_FALSE(nodes.agent("a").running());
  const uint64_t done = verified_pieces(nodes.cache_dir("a"), digest);
  ASSERT_GT(done, 0u) << nodes.logs();
  ASSERT_LT(done, pieces) << "the kill came too late to test a resume";
  const uint64_t piece_length = proto::Metainfo::piece_length_for(kSize);
  const double missing = static_cast<double>(kSize - done * piece_length);

  // Restarted with no client asking: the agent resumes by itself from its saved metainfo.
  auto restarted = Clock::now();
  ASSERT_TRUE(nodes.start_agent("a", {})) << nodes.logs();
  fs::path blob =
      nodes.cache_dir("a") / "blobs" / "sha256" / digest.hex().substr(0, 2) / digest.hex();
  ASSERT_TRUE(eventually([&] { return fs::exists(blob); }, std::chrono::seconds(120),
                         std::chrono::milliseconds(50)))
      << "no resume without a request" << nodes.logs();
  Got got = get(nodes.agent_url("a"), "/v1/blobs/" + digest.str());
  EXPECT_EQ(got.status, 200);
  EXPECT_EQ(got.digest, digest);
  const double after = bytes_received(nodes, "a");
  std::printf(
      "resume: %llu of %u pieces verified before kill -9; missing %.1f MiB; received "
      "after restart %.1f MiB (limit %.1f MiB); %.2fs to complete\n",
      static_cast<unsigned long long>(done), pieces, missing / kMiB, after / kMiB,
      missing * 1.1 / kMiB, seconds_since(restarted));
  EXPECT_LT(after, missing * 1.1) << nodes.logs();
  EXPECT_EQ(agent_metric(nodes, "a", "fanout_agent_resumed_fetches_total"), 1);
}

TEST(AgentResilience, CappedCacheEvictsTheOlderBlob) {
  TempDir dir("fanout-agent-evict-");
  Nodes nodes(dir.path());
  ASSERT_TRUE(nodes.start_tracker());
  ASSERT_TRUE(nodes.start_origin());
  Digest first = nodes.put_random_object(40 * kMiB);
  Digest second = nodes.put_random_object(40 * kMiB);
  // 64 MiB: either blob fits, both do not.
  ASSERT_TRUE(
      nodes.start_agent("a", {"--set", "cache.max_size=64MiB", "--set", "cache.high_watermark=100",
                              "--set", "cache.low_watermark=90"}))
      << nodes.logs();
  EXPECT_EQ(get(nodes.agent_url("a"), "/v1/blobs/" + first.str()).digest, first);
  EXPECT_EQ(get(nodes.agent_url("a"), "/v1/blobs/" + second.str()).digest, second);
  auto in_cache = [&](const Digest& d) {
    return fs::exists(nodes.cache_dir("a") / "blobs" / "sha256" / d.hex().substr(0, 2) / d.hex());
  };
  EXPECT_FALSE(in_cache(first));
  EXPECT_TRUE(in_cache(second));
  EXPECT_EQ(agent_metric(nodes, "a", "fanout_agent_cache_evictions_total"), 1);
  EXPECT_LE(agent_metric(nodes, "a", "fanout_agent_cache_bytes"), 64.0 * kMiB);
  // A blob larger than the cache is a clear error, not a half-written file.
  Digest huge = nodes.put_random_object(80 * kMiB);
  Got refused = get(nodes.agent_url("a"), "/v1/blobs/" + huge.str());
  EXPECT_EQ(refused.status, 507) << refused.body;
  EXPECT_NE(refused.body.find("cache_full"), std::string::npos) << refused.body;
}

TEST(AgentResilience, WithTheTrackerStoppedAFetchCompletesThroughTheOriginFallback) {
  TempDir dir("fanout-agent-fallback-");
  Nodes nodes(dir.path());
  ASSERT_TRUE(nodes.start_tracker());
  ASSERT_TRUE(nodes.start_origin());
  Digest digest = nodes.put_random_object(48 * kMiB);
  ASSERT_TRUE(nodes.start_agent("a", {"--set", "swarm.fallback_after=1s"})) << nodes.logs();
  nodes.stop_tracker();
  Got got = get(nodes.agent_url("a"), "/v1/blobs/" + digest.str());
  EXPECT_EQ(got.status, 200) << got.body << nodes.logs();
  EXPECT_EQ(got.digest, digest);
  std::printf("fallback: %.1f MiB in %.2fs with the tracker stopped\n", got.bytes / 1048576.0,
              got.total_s);
  EXPECT_EQ(agent_metric(nodes, "a", "fanout_agent_bytes_from_fallback_total"),
            static_cast<double>(48 * kMiB))
      << nodes.logs();
}

TEST(AgentResilience, RangeReadOfAColdBlobsLastMiBAnswersLongBeforeTheWholeBlob) {
  // FANOUT_RANGE_TEST_MIB and FANOUT_RANGE_TEST_RATE measure other sizes by hand (the issue's
  // 1 GiB: FANOUT_RANGE_TEST_MIB=1024 FANOUT_RANGE_TEST_RATE=64MiB); CI keeps it small.
  const char* mib = std::getenv("FANOUT_RANGE_TEST_MIB");
  const char* rate = std::getenv("FANOUT_RANGE_TEST_RATE");
  const uint64_t kSize = (mib ? std::stoull(mib) : 128) * kMiB;
  TempDir dir("fanout-agent-range-");
  Nodes nodes(dir.path());
  ASSERT_TRUE(nodes.start_tracker());
  ASSERT_TRUE(nodes.start_origin());
  Digest digest = nodes.put_random_object(kSize);
  ASSERT_FALSE(get_body(nodes.origin_url(), "/v1/blobs/" + digest.str() + "/metainfo").empty());
  // 16 MiB/s: the whole blob takes ~8 s.
  ASSERT_TRUE(nodes.start_agent(
      "a", {"--ingress-rate", rate ? rate : "16MiB", "--set", "swarm.pipeline_pieces=1"}))
      << nodes.logs();
  auto began = Clock::now();
  Got tail = get(nodes.agent_url("a"), "/v1/blobs/" + digest.str(),
                 {{"Range", "bytes=" + std::to_string(kSize - kMiB) + "-"}});
  ASSERT_EQ(tail.status, 206) << tail.body << nodes.logs();
  ASSERT_EQ(tail.bytes, kMiB);
  const double tail_s = seconds_since(began);
  Got whole = get(nodes.agent_url("a"), "/v1/blobs/" + digest.str());
  const double whole_s = seconds_since(began);
  ASSERT_EQ(whole.status, 200);
  EXPECT_EQ(whole.digest, digest);
  std::printf(
      "range: last MiB of a cold %llu MiB blob: first byte %.2fs, range done %.2fs; whole "
      "blob %.2fs\n",
      static_cast<unsigned long long>(kSize / kMiB), tail.first_byte_s, tail_s, whole_s);
  // The waited-for piece is asked of the origin at once, ahead of the pipeline and of the
  // origin's reveal order.
  EXPECT_LT(tail_s * 3, whole_s);
  EXPECT_EQ(agent_metric(nodes, "a", "fanout_agent_range_reads_early_total"), 1);
}

}  // namespace
}  // namespace fanout::test
