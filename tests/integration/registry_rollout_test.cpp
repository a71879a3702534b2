// Issue 6 end to end with the real binaries: fanoutctl against a real tracker, origin and two
// agents over a directory object store and a SQLite registry. push v1, prewarm to the origins and
// every agent, flip prod (refused until the agents hold it); push v2 sharing the base layer;
// prewarm v2 moves only the new bytes from the object store and to the agents; flip; rollout
// counts every agent on v2; rollback moves no bytes; concurrent flips are all audited.
#include <gtest/gtest.h>
#include <httplib.h>
#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "common/digest/sha256.h"
#include "tests/integration/cluster.h"
#include "tests/support/bin_dir.h"
#include "tests/support/child_process.h"
#include "tests/support/eventually.h"
#include "tests/support/http.h"
#include "tests/support/prometheus.h"
#include "tests/support/random_blob.h"
#include "tests/support/temp_dir.h"

namespace fanout::test {
namespace {

struct Ran {
  int code = -1;
  std::string output;  // stdout and stderr
};

class Fanoutctl {
 public:
  Fanoutctl(std::filesystem::path dir, std::vector<std::string> global)
      : dir_(std::move(dir)), global_(std::move(global)) {}

  std::unique_ptr<ChildProcess> start(std::vector<std::string> args) {
    args.insert(args.end(), global_.begin(), global_.end());
    auto log = dir_ / ("fanoutctl-" + std::to_string(++runs_) + ".log");
    return std::make_unique<ChildProcess>("fanoutctl", bin("fanoutctl"), args, log);
  }
  static Ran finish(ChildProcess& p) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
    while (p.running() && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    p.stop();
    Ran r;
    if (p.wait_status() && WIFEXITED(*p.wait_status())) r.code = WEXITSTATUS(*p.wait_status());
    std::ifstream in(p.log_path());
    std::stringstream s;
    s << in.rdbuf();
    r.output = s.str();
    return r;
  }
  Ran operator()(std::vector<std::string> args) { return finish(*start(std::move(args))); }

 private:
  std::filesystem::path dir_;
  std::vector<std::string> global_;
  int runs_ = 0;
};

std::string last_line(const std::string& text) {
  auto end = text.find_last_not_of('\n');
  auto start = text.rfind('\n', end);
  return text.substr(start == std::string::npos ? 0 : start + 1,
                     end - (start == std::string::npos ? 0 : start + 1) + 1);
}

// A `write` and a `promote` token, created with direct database access (the bootstrap step);
// empty strings when fanoutctl failed (its output is printed).
std::pair<std::string, std::string> make_tokens(Fanoutctl& ctl) {
  Ran write = ctl({"token", "ci", "--scope", "write"});
  Ran promote = ctl({"token", "release", "--scope", "promote"});
  EXPECT_EQ(write.code, 0) << write.output;
  EXPECT_EQ(promote.code, 0) << promote.output;
  if (write.code != 0 || promote.code != 0) return {};
  return {last_line(write.output), last_line(promote.output)};
}

uint64_t bytes_read(const std::string& output) {
  std::smatch m;
  static const std::regex re("origins read ([0-9]+) bytes");
  if (!std::regex_search(output, m, re)) return UINT64_MAX;
  return std::stoull(m[1]);
}

uint64_t bytes_received(const std::string& output) {
  std::smatch m;
  static const std::regex re("agents received ([0-9]+) bytes");
  if (!std::regex_search(output, m, re)) return UINT64_MAX;
  return std::stoull(m[1]);
}

TEST(RegistryRollout, PushPrewarmFlipPushSharedLayerFlipRollback) {
  TempDir dir("fanout-rollout-");
  Cluster cluster(dir.path());
  std::string registry = (dir / "registry.db").string();
  // The tracker resolves the versions the agents are asked to pull.
  cluster.set_tracker_args({"--registry", registry});
  ASSERT_TRUE(cluster.start_tracker_and_origin());
  ASSERT_TRUE(cluster.start_agents(2));
  std::string agents = "agents=[\"" + cluster.agent_url(0) + "\",\"" + cluster.agent_url(1) + "\"]";
  // flip requires every agent to hold the version (prewarm.agents_percent 100).
  Fanoutctl ctl(dir.path(),
                {"--registry", registry, "--object-store-dir", cluster.object_store_dir().string(),
                 "--origin", cluster.origin_url(), "--set", agents, "--set",
                 "prewarm.agents_percent=100", "--set", "prewarm.poll_interval=100ms"});
  auto agents_received = [&] {
    double total = 0;
    for (size_t i = 0; i < cluster.agent_count(); ++i) {
      std::string m = get_body(cluster.agent_url(i), "/metrics");
      total += metric(m, "fanout_agent_bytes_from_peers_total") +
               metric(m, "fanout_agent_bytes_from_origins_total") +
               metric(m, "fanout_agent_bytes_from_fallback_total");
    }
    return total;
  };

  auto [write, promote] = make_tokens(ctl);
  ASSERT_FALSE(write.empty() || promote.empty());

  // v1: a base layer, an adapter and a config.
  constexpr uint64_t kBase = 12 << 20, kAdapter = 1 << 20;
  auto v1 = dir / "v1";
  write_random_file(v1 / "base.safetensors", kBase, 1);
  write_random_file(v1 / "adapter.safetensors", kAdapter, 2);
  std::ofstream(v1 / "config.json") << R"({"layers": 32})";

  Ran unauthorized = ctl({"push", v1.string(), "--model", "llama"});
  EXPECT_EQ(unauthorized.code, 3) << unauthorized.output;
  EXPECT_FALSE(std::filesystem::exists(cluster.object_store_dir() / "blobs")) << "uploaded anyway";

  Ran push1 =
      ctl({"push", v1.string(), "--model", "llama", "--token", write, "--run-id", "r1", "--dataset",
           "web@3", "--commit", "abc123", "--param", "lr=0.001", "--metric", "f1=0.81"});
  ASSERT_EQ(push1.code, 0) << push1.output;
  EXPECT_NE(push1.output.find("llama version 1 sha256:"), std::string::npos) << push1.output;

  Ran again = ctl({"push", v1.string(), "--model", "llama", "--token", write});
  EXPECT_EQ(again.code, 0) << again.output;
  EXPECT_NE(again.output.find("llama version 1 sha256:"), std::string::npos) << again.output;
  EXPECT_NE(again.output.find("already registered"), std::string::npos) << again.output;

  Ran cold = ctl(
      {"flip", "llama", "prod", "--version", "1", "--reason", "first", "--promote-token", promote});
  EXPECT_EQ(cold.code, 3) << cold.output;
  EXPECT_NE(cold.output.find("not pre-warmed"), std::string::npos) << cold.output;

  // Origins only (--agents 0): the origins are warm, the agents are not, so flip still refuses.
  Ran prewarm1 =
      ctl({"prewarm", "llama", "--version", "1", "--agents", "0", "--wait", "--token", write});
  ASSERT_EQ(prewarm1.code, 0) << prewarm1.output << cluster.logs();
  uint64_t read1 = bytes_read(prewarm1.output);
  EXPECT_GE(read1, kBase + kAdapter) << prewarm1.output;
  EXPECT_LT(read1, kBase + kAdapter + 4096) << prewarm1.output;
  Ran agents_cold = ctl(
      {"flip", "llama", "prod", "--version", "1", "--reason", "first", "--promote-token", promote});
  EXPECT_EQ(agents_cold.code, 3) << agents_cold.output;
  EXPECT_NE(agents_cold.output.find("0/2 agents hold every layer"), std::string::npos)
      << agents_cold.output;

  Ran fleet1 =
      ctl({"prewarm", "llama", "--version", "1", "--agents", "100", "--wait", "--token", write});
  ASSERT_EQ(fleet1.code, 0) << fleet1.output << cluster.logs();
  EXPECT_NE(fleet1.output.find("agents asked to pull: 2/2"), std::string::npos) << fleet1.output;
  EXPECT_EQ(bytes_read(fleet1.output), 0u) << "the origins read v1 again: " << fleet1.output;
  // Each agent received every layer once (and the small manifest and config).
  uint64_t to_agents1 = bytes_received(fleet1.output);
  EXPECT_GE(to_agents1, 2 * (kBase + kAdapter)) << fleet1.output;
  EXPECT_LT(to_agents1, 2 * (kBase + kAdapter) + 65536) << fleet1.output;
  for (size_t i = 0; i < cluster.agent_count(); ++i) {
    auto held = nlohmann::json::parse(get_body(cluster.agent_url(i), "/v1/blobs"));
    EXPECT_EQ(held["blobs"].size(), 4u) << held.dump();  // manifest, base, adapter, config
  }

  Ran write_only =
      ctl({"flip", "llama", "prod", "--version", "1", "--reason", "first", "--token", write});
  EXPECT_EQ(write_only.code, 3) << write_only.output;
  Ran flip1 = ctl({"flip", "llama", "prod", "--version", "1", "--reason", "first release",
                   "--promote-token", promote});
  ASSERT_EQ(flip1.code, 0) << flip1.output;
  EXPECT_NE(flip1.output.find("llama@prod: (new) -> 1"), std::string::npos) << flip1.output;

  // v2 shares the base weights; only the adapter and config change.
  auto v2 = dir / "v2";
  std::filesystem::create_directories(v2);
  std::filesystem::copy_file(v1 / "base.safetensors", v2 / "base.safetensors");
  write_random_file(v2 / "adapter.safetensors", kAdapter, 3);
  std::ofstream(v2 / "config.json") << R"({"layers": 32, "rope": 2})";
  Ran push2 =
      ctl({"push", v2.string(), "--model", "llama", "--token", write, "--metric", "f1=0.88"});
  ASSERT_EQ(push2.code, 0) << push2.output;
  EXPECT_NE(push2.output.find("llama version 2 sha256:"), std::string::npos) << push2.output;
  EXPECT_NE(push2.output.find("1 already there"), std::string::npos) << push2.output;

  Ran prewarm2 =
      ctl({"prewarm", "llama", "--version", "2", "--agents", "100", "--wait", "--token", write});
  ASSERT_EQ(prewarm2.code, 0) << prewarm2.output << cluster.logs();
  uint64_t read2 = bytes_read(prewarm2.output);
  EXPECT_GE(read2, kAdapter) << prewarm2.output;
  EXPECT_LT(read2, kAdapter + 4096) << "the shared base layer was read again: " << prewarm2.output;
  // Only the new adapter, config and manifest travel to the agents, not the shared base.
  uint64_t to_agents2 = bytes_received(prewarm2.output);
  std::cout << "prewarm v1 to 2 agents: agents received " << to_agents1
            << " bytes; prewarm v2: origins read " << read2 << " bytes, agents received "
            << to_agents2 << " bytes (adapter " << kAdapter << ", base " << kBase << ")\n";
  EXPECT_GE(to_agents2, 2 * kAdapter) << prewarm2.output;
  EXPECT_LT(to_agents2, 2 * kAdapter + 65536)
      << "the shared base layer went to the agents again: " << prewarm2.output;

  Ran flip2 = ctl({"flip", "llama", "prod", "--version", "2", "--reason", "better f1",
                   "--promote-token", promote});
  ASSERT_EQ(flip2.code, 0) << flip2.output;
  Ran resolved = ctl({"resolve", "llama@prod"});
  EXPECT_NE(resolved.output.find("llama@prod 2 sha256:"), std::string::npos) << resolved.output;
  Ran on_v2 = ctl({"rollout", "llama@prod", "--once"});
  ASSERT_EQ(on_v2.code, 0) << on_v2.output;
  EXPECT_NE(on_v2.output.find("= version 2 "), std::string::npos) << on_v2.output;
  EXPECT_NE(on_v2.output.find("agents holding every layer: 2/2 agents"), std::string::npos)
      << on_v2.output;

  Ran sorted = ctl({"versions", "llama", "--sort", "-metrics.f1"});
  ASSERT_EQ(sorted.code, 0) << sorted.output;
  EXPECT_LT(sorted.output.find("\n2 "), sorted.output.find("\n1 ")) << sorted.output;

  // Without --once, rollout is a live view: it keeps refreshing until it is stopped (Ctrl-C).
  auto live = ctl.start({"rollout", "llama@prod"});
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  EXPECT_TRUE(live->running()) << "rollout exited on its own";
  live->stop();
  {
    std::ifstream in(live->log_path());
    int refreshes = 0;
    for (std::string line; std::getline(in, line);) {
      refreshes += line.find("agents holding every layer: 2/2 agents") != std::string::npos;
    }
    EXPECT_GE(refreshes, 3) << "poll interval 100ms over 1.5s";
  }

  std::string metrics_before = get_body(cluster.origin_url(), "/metrics");
  double agents_before = agents_received();
  Ran back =
      ctl({"rollback", "llama", "prod", "--reason", "v2 regressed", "--promote-token", promote});
  ASSERT_EQ(back.code, 0) << back.output;
  EXPECT_NE(back.output.find("rolled back 2 -> 1"), std::string::npos) << back.output;
  Ran after = ctl({"resolve", "llama@prod"});
  EXPECT_NE(after.output.find("llama@prod 1 sha256:"), std::string::npos) << after.output;
  std::string metrics_after = get_body(cluster.origin_url(), "/metrics");
  EXPECT_EQ(metric(metrics_before, "fanout_origin_objectstore_bytes_read_total"),
            metric(metrics_after, "fanout_origin_objectstore_bytes_read_total"));
  EXPECT_EQ(agents_before, agents_received()) << "the rollback moved bytes to agents";
  // v1 is still warm at the origins and on every agent: a flip back to it needs no --force.
  Ran check = ctl({"rollout", "llama@prod", "--once"});
  EXPECT_NE(check.output.find("origins ready 4/4"), std::string::npos) << check.output;
  EXPECT_NE(check.output.find("agents holding every layer: 2/2 agents"), std::string::npos)
      << check.output;

  // Two operators flip at the same moment: both moves are audited, prod ends on one of them.
  auto a = ctl.start({"flip", "llama", "prod", "--version", "2", "--reason", "alice", "--force",
                      "--promote-token", promote});
  auto b = ctl.start({"flip", "llama", "prod", "--version", "1", "--reason", "bob", "--force",
                      "--promote-token", promote});
  Ran ra = Fanoutctl::finish(*a), rb = Fanoutctl::finish(*b);
  EXPECT_EQ(ra.code, 0) << ra.output;
  EXPECT_EQ(rb.code, 0) << rb.output;
  Ran history = ctl({"history", "llama", "--alias", "prod"});
  ASSERT_EQ(history.code, 0) << history.output;
  for (const char* reason : {"first release", "better f1", "v2 regressed", "alice", "bob"}) {
    EXPECT_NE(history.output.find(reason), std::string::npos) << reason << "\n" << history.output;
  }
  EXPECT_NE(history.output.find("rollback"), std::string::npos) << history.output;
}

// Issues 5 and 6 together: a tracker serving aliases from the registry, and an agent pulling a
// model by alias: local paths, a directory named by the manifest, layers shared between versions
// fetched once.
TEST(ModelPull, AgentPullsProdAndAfterTheFlipOnlyTheNewLayers) {
  TempDir dir("fanout-pull-");
  Cluster cluster(dir.path());
  std::string registry = (dir / "registry.db").string();
  Fanoutctl ctl(dir.path(),
                {"--registry", registry, "--object-store-dir", cluster.object_store_dir().string(),
                 "--origin", cluster.origin_url()});
  auto [write, promote] = make_tokens(ctl);
  ASSERT_FALSE(write.empty() || promote.empty());
  cluster.set_tracker_args({"--registry", registry});
  ASSERT_TRUE(cluster.start_tracker_and_origin());
  ASSERT_TRUE(cluster.start_agents(1));

  constexpr uint64_t kBase = 8 << 20, kAdapter = 1 << 20;
  auto v1 = dir / "v1";
  Digest base = write_random_file(v1 / "base.safetensors", kBase, 11);
  Digest adapter1 = write_random_file(v1 / "lora" / "adapter.safetensors", kAdapter, 12);
  ASSERT_EQ(ctl({"push", v1.string(), "--model", "llama", "--token", write}).code, 0);
  ASSERT_EQ(ctl({"prewarm", "llama", "--version", "1", "--wait", "--token", write}).code, 0);
  ASSERT_EQ(
      ctl({"flip", "llama", "prod", "--version", "1", "--reason", "r1", "--promote-token", promote})
          .code,
      0);

  auto pull = [&](const std::string& body) {
    httplib::Client agent(cluster.agent_url(0));
    agent.set_read_timeout(std::chrono::seconds(60));
    auto res = agent.Post("/v1/pulls", body, "application/json");
    return res ? std::make_pair(res->status, res->body) : std::make_pair(0, std::string());
  };
  auto [status1, body1] = pull(R"({"model": "llama", "alias": "prod"})");
  ASSERT_EQ(status1, 200) << body1 << cluster.logs();
  auto j1 = nlohmann::json::parse(body1);
  EXPECT_EQ(j1["version"], 1) << body1;
  std::filesystem::path model_dir = j1["directory"].get<std::string>();
  EXPECT_EQ(Sha256::of_file(model_dir / "base.safetensors"), base);
  EXPECT_EQ(Sha256::of_file(model_dir / "lora" / "adapter.safetensors"), adapter1);
  ASSERT_EQ(j1["layers"].size(), 2u) << body1;
  for (const auto& layer : j1["layers"]) {
    EXPECT_TRUE(std::filesystem::exists(layer["path"].get<std::string>())) << body1;
  }
  httplib::Client agent_metrics(cluster.agent_url(0));
  auto peers_and_origins = [&] {
    auto m = agent_metrics.Get("/metrics");
    return metric(m->body, "fanout_agent_bytes_from_peers_total") +
           metric(m->body, "fanout_agent_bytes_from_origins_total") +
           metric(m->body, "fanout_agent_bytes_from_fallback_total");
  };
  double after_v1 = peers_and_origins();

  // v2 keeps the base weights: the agent fetches only the new adapter (and the manifest).
  auto v2 = dir / "v2";
  std::filesystem::create_directories(v2);
  std::filesystem::copy_file(v1 / "base.safetensors", v2 / "base.safetensors");
  Digest adapter2 = write_random_file(v2 / "lora" / "adapter.safetensors", kAdapter, 13);
  ASSERT_EQ(ctl({"push", v2.string(), "--model", "llama", "--token", write}).code, 0);
  ASSERT_EQ(ctl({"prewarm", "llama", "--version", "2", "--wait", "--token", write}).code, 0);
  ASSERT_EQ(
      ctl({"flip", "llama", "prod", "--version", "2", "--reason", "r2", "--promote-token", promote})
          .code,
      0);
  // The tracker caches the alias for alias_cache.ttl (2 s by default): wait it out.
  nlohmann::json j2;
  for (int i = 0; i < 50; ++i) {
    auto [status2, body2] = pull(R"({"model": "llama", "alias": "prod"})");
    ASSERT_EQ(status2, 200) << body2 << cluster.logs();
    j2 = nlohmann::json::parse(body2);
    if (j2["version"] == 2) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_EQ(j2["version"], 2) << j2.dump();
  std::filesystem::path dir2 = j2["directory"].get<std::string>();
  EXPECT_EQ(Sha256::of_file(dir2 / "base.safetensors"), base);
  EXPECT_EQ(Sha256::of_file(dir2 / "lora" / "adapter.safetensors"), adapter2);
  double moved = peers_and_origins() - after_v1;
  EXPECT_GE(moved, double(kAdapter));
  EXPECT_LT(moved, double(kAdapter) + (1 << 20)) << "the shared base layer was fetched again";

  auto [bad_status, bad_body] = pull(R"({"model": "llama"})");
  EXPECT_EQ(bad_status, 400) << bad_body;
  auto [missing_status, missing_body] = pull(R"({"model": "nope", "alias": "prod"})");
  EXPECT_EQ(missing_status, 404) << missing_body;
}

// Issue 6's "every agent watching prod serves v2": agents with `watch: [llama@prod]` fetch a
// flipped-to version by themselves, before any serving process asks.
TEST(ModelPull, AgentsWatchingProdFetchTheFlippedVersionBeforeAnyoneAsks) {
  TempDir dir("fanout-watch-");
  Cluster cluster(dir.path());
  std::string registry = (dir / "registry.db").string();
  Fanoutctl ctl(dir.path(),
                {"--registry", registry, "--object-store-dir", cluster.object_store_dir().string(),
                 "--origin", cluster.origin_url()});
  auto [write, promote] = make_tokens(ctl);
  ASSERT_FALSE(write.empty() || promote.empty());
  cluster.set_tracker_args({"--registry", registry, "--set", "alias_cache.ttl=200ms"});
  ASSERT_TRUE(cluster.start_tracker_and_origin());
  ASSERT_TRUE(
      cluster.start_agents(2, {"--set", "watch=[llama@prod]", "--set", "watch_interval=200ms"}));

  auto v1 = dir / "v1";
  write_random_file(v1 / "base.safetensors", 4 << 20, 21);
  ASSERT_EQ(ctl({"push", v1.string(), "--model", "llama", "--token", write}).code, 0);
  ASSERT_EQ(ctl({"prewarm", "llama", "--version", "1", "--wait", "--token", write}).code, 0);
  ASSERT_EQ(
      ctl({"flip", "llama", "prod", "--version", "1", "--reason", "r1", "--promote-token", promote})
          .code,
      0);
  auto v2 = dir / "v2";
  Digest adapter = write_random_file(v2 / "adapter.safetensors", 2 << 20, 22);
  std::filesystem::copy_file(v1 / "base.safetensors", v2 / "base.safetensors");
  ASSERT_EQ(ctl({"push", v2.string(), "--model", "llama", "--token", write}).code, 0);
  ASSERT_EQ(ctl({"prewarm", "llama", "--version", "2", "--wait", "--token", write}).code, 0);
  ASSERT_EQ(
      ctl({"flip", "llama", "prod", "--version", "2", "--reason", "r2", "--promote-token", promote})
          .code,
      0);

  // Nobody asks the agents for anything: the watch alone must bring v2's new layer in.
  std::string hex = adapter.hex();
  for (size_t i = 0; i < cluster.agent_count(); ++i) {
    auto path = cluster.agent_cache_dir(i) / "blobs" / "sha256" / hex.substr(0, 2) / hex;
    ASSERT_TRUE(eventually([&] { return std::filesystem::exists(path); },
                           std::chrono::seconds(30), std::chrono::milliseconds(100)))
        << "agent " << i << " never fetched v2\n"
        << cluster.logs();
    EXPECT_EQ(Sha256::of_file(path), adapter);
  }
}

// Issue 5: a real agent's cache capped below two versions. Pulling v2 evicts v1's layer, and with
// it v1's materialised directory, whose hard link would otherwise keep v1's bytes on disk outside
// the cap: the cache directory's real size (each inode once, as du counts) stays under the cap.
TEST(ModelPull, ACappedCacheEvictsTheOldVersionsBytesDirectoryIncluded) {
  TempDir dir("fanout-pull-evict-");
  Cluster cluster(dir.path());
  std::string registry = (dir / "registry.db").string();
  Fanoutctl ctl(dir.path(),
                {"--registry", registry, "--object-store-dir", cluster.object_store_dir().string(),
                 "--origin", cluster.origin_url()});
  auto [write, promote] = make_tokens(ctl);
  ASSERT_FALSE(write.empty() || promote.empty());
  cluster.set_tracker_args({"--registry", registry});
  ASSERT_TRUE(cluster.start_tracker_and_origin());
  constexpr uint64_t kMiB = 1 << 20, kCap = 10 * kMiB;
  ASSERT_TRUE(cluster.start_agents(1, {"--set", "cache.max_size=10MiB"}));  // high 90%, low 80%

  for (int v = 1; v <= 2; ++v) {
    auto src = dir / ("v" + std::to_string(v));
    write_random_file(src / "weights.bin", 6 * kMiB, 30 + v);
    ASSERT_EQ(ctl({"push", src.string(), "--model", "tiny", "--token", write}).code, 0);
    ASSERT_EQ(
        ctl({"prewarm", "tiny", "--version", std::to_string(v), "--wait", "--token", write}).code,
        0);
  }
  auto pull = [&](int version) {
    httplib::Client agent(cluster.agent_url(0));
    agent.set_read_timeout(std::chrono::seconds(60));
    auto res =
        agent.Post("/v1/pulls", nlohmann::json{{"model", "tiny"}, {"version", version}}.dump(),
                   "application/json");
    EXPECT_TRUE(res && res->status == 200) << (res ? res->body : "no answer") << cluster.logs();
    return res && res->status == 200 ? nlohmann::json::parse(res->body) : nlohmann::json();
  };
  auto disk_bytes = [&] {
    std::set<std::pair<dev_t, ino_t>> seen;
    uint64_t total = 0;
    for (const auto& e :
         std::filesystem::recursive_directory_iterator(cluster.agent_cache_dir(0))) {
      struct stat st {};
      if (::lstat(e.path().c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
      if (seen.insert({st.st_dev, st.st_ino}).second) total += static_cast<uint64_t>(st.st_size);
    }
    return total;
  };

  auto j1 = pull(1);
  ASSERT_TRUE(j1.contains("directory"));
  std::filesystem::path dir1 = j1["directory"].get<std::string>();
  ASSERT_TRUE(std::filesystem::exists(dir1 / "weights.bin"));
  auto j2 = pull(2);
  ASSERT_TRUE(j2.contains("directory"));
  std::filesystem::path dir2 = j2["directory"].get<std::string>();
  EXPECT_EQ(Sha256::of_file(dir2 / "weights.bin"), Sha256::of_file(dir / "v2" / "weights.bin"));
  EXPECT_FALSE(std::filesystem::exists(dir1)) << "v1's directory still links its evicted layer";
  uint64_t on_disk = disk_bytes();
  std::cout << "cache dir holds " << on_disk << " bytes on disk with a " << kCap
            << " byte cap (v1 + v2 would be " << 12 * kMiB << ")\n";
  EXPECT_LT(on_disk, kCap);
  EXPECT_GE(on_disk, 6 * kMiB);

  // Pulled again, v1 comes back whole (and v2, unpinned, makes room for it).
  auto again = pull(1);
  ASSERT_TRUE(again.contains("directory"));
  EXPECT_EQ(Sha256::of_file(dir1 / "weights.bin"), Sha256::of_file(dir / "v1" / "weights.bin"));
  EXPECT_FALSE(std::filesystem::exists(dir2));
  EXPECT_LT(disk_bytes(), kCap);
}

}  // namespace
}  // namespace fanout::test
