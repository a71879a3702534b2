// The benchmarks of issue 7, run for real and small: the report each tool writes, and the
// calibration of the simulator against what the real harness measures with the same agents,
// blob and rates. Short (about 20 s each), for CI.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <initializer_list>
#include <nlohmann/json.hpp>
#include <string>

#include "tests/support/bin_dir.h"
#include "tests/support/temp_dir.h"

namespace fanout::test {
namespace {

std::string slurp(const std::filesystem::path& path) {
  std::ifstream in(path);
  return std::string((std::istreambuf_iterator<char>(in)), {});
}

nlohmann::json run(const std::string& command, const std::filesystem::path& json,
                   const std::filesystem::path& log) {
  int rc = std::system((command + " > '" + log.string() + "' 2>&1").c_str());
  EXPECT_EQ(rc, 0) << command << "\n" << slurp(log);
  if (!std::filesystem::exists(json)) return {};
  return nlohmann::json::parse(slurp(json));
}

struct Runs {
  nlohmann::json real, sim;
  std::string logs;
};

// 8 agents, 48 MiB at 8 MiB/s (one download time is 6 s), real and simulated.
Runs run_both(const TempDir& dir) {
  const std::string agents = "8", size = "48", rate = "8";
  Runs r;
  r.real = run(bin("fanout-bench") + " fanout --agents " + agents + " --size-mib " + size +
                   " --rate-mibps " + rate + " --origins 1 --skip-direct --dir '" +
                   (dir / "run").string() + "' --json '" + (dir / "real.json").string() + "'",
               dir / "real.json", dir / "real.log");
  // The real origin is not rate-limited: neither is the simulated one. The harness's agents run
  // the engine's default settings, and so does the simulator when given no flags for them. All
  // of them share this machine: the model gets what the harness measured it moves per CPU-second
  // under the swarm's load.
  double host_mibps = r.real.value("swarm_host_bytes_per_sec", 0.0) / (1 << 20);
  EXPECT_GT(host_mibps, 0) << "the harness measures what the machine can move";
  r.sim = run(bin("fanout-sim") + " --nodes " + agents + " --size-mib " + size + " --node-mibps " +
                  rate + " --origins 1 --origin-mibps 100000 --no-png --host-mibps " +
                  std::to_string(host_mibps) +
                  " --json '" + (dir / "sim.json").string() + "'",
              dir / "sim.json", dir / "sim.log");
  r.logs = "real:\n" + slurp(dir / "real.log") + "\nsimulated:\n" + slurp(dir / "sim.log");
  return r;
}

// Issue 7's calibration target: the model within 15% of the real harness, p50 and p99. With
// 1 MiB pieces (48 here) the real run is 1.04-1.07 / 1.09 and the model 1.04 / 1.04-1.06; with
// 4 MiB pieces (12) it was 1.32-1.55 real against 2.02 simulated (bench/README.md, "Calibration").
// Also: both tools finish, and the origin reads the object store exactly once.
TEST(BenchCalibration, SimulatorWithin15PercentOfTheRealHarness) {
  TempDir dir("fanout-bench-cal-");
  Runs r = run_both(dir);
  ASSERT_FALSE(r.real.is_null()) << r.logs;
  ASSERT_FALSE(r.sim.is_null()) << r.logs;
  ASSERT_EQ(r.real["unfinished"].get<int>(), 0) << r.logs;
  EXPECT_NEAR(r.real["object_store_copies"].get<double>(), 1.0, 1e-9) << r.logs;
  EXPECT_LE(r.real["origin_egress_copies"].get<double>(), 3.0) << r.logs;
  for (const char* key : {"p50_ratio", "p99_ratio"}) {
    double real = r.real[key].get<double>(), sim = r.sim[key].get<double>();
    RecordProperty(std::string("real_") + key, std::to_string(real));
    RecordProperty(std::string("sim_") + key, std::to_string(sim));
    EXPECT_NEAR(sim, real, 0.15 * real) << key << "\n" << r.logs;
  }
}

// Every key the issue names, present and a number (null: not measured).
void expect_keys(const nlohmann::json& j, std::initializer_list<const char*> keys,
                 const std::string& logs) {
  for (const char* key : keys) {
    EXPECT_TRUE(j.contains(key) && j[key].is_number()) << key << "\n" << logs;
  }
}

// A PNG file (gnuplot-nox comes with the test dependencies).
void expect_png(const std::filesystem::path& png) {
  std::ifstream in(png, std::ios::binary);
  char magic[4] = {};
  in.read(magic, 4);
  EXPECT_EQ(std::string(magic + 1, 3), "PNG") << png;
}

// The harness's report, baselines included: 4 agents, 16 MiB at 8 MiB/s, with the direct pull.
// Times are physical: no node beats its own link (16 MiB at 8 MiB/s, less the rate limiter's
// 1 MiB burst, is 1.875 s; held to 1.8). Ratios are not held to it: they divide by a single-node
// time that includes an agent's start-up. The direct pull takes one copy per node from the
// origin, and all the fetches start within a second.
TEST(BenchHarness, ReportsEveryFigureOfTheFanOut) {
  TempDir dir("fanout-bench-report-");
  auto json = dir / "real.json";
  auto real = run(bin("fanout-bench") + " fanout --agents 4 --size-mib 16 --rate-mibps 8 " +
                      "--origins 1 --dir '" + (dir / "run").string() + "' --json '" +
                      json.string() + "'",
                  json, dir / "real.log");
  std::string logs = slurp(dir / "real.log");
  ASSERT_FALSE(real.is_null()) << logs;
  expect_keys(real, {"agents", "size_bytes", "single_node_seconds", "p50_ratio", "p99_ratio",
                     "max_ratio", "origin_egress_copies", "object_store_copies",
                     "direct_max_ratio", "direct_origin_egress_copies", "start_spread_seconds",
                     "direct_start_spread_seconds", "cpu_seconds_agents", "p50_seconds",
                     "direct_max_seconds"},
              logs);
  if (HasFailure()) return;
  EXPECT_EQ(real["agents"].get<int>(), 4);
  EXPECT_EQ(real["size_bytes"].get<uint64_t>(), 16u << 20);
  for (const char* key : {"single_node_seconds", "p50_seconds", "direct_max_seconds"}) {
    EXPECT_GE(real[key].get<double>(), 0.9 * 16 / 8) << key << ": the link cap\n" << logs;
  }
  EXPECT_LE(real["p50_ratio"].get<double>(), real["p99_ratio"].get<double>());
  EXPECT_LE(real["p99_ratio"].get<double>(), real["max_ratio"].get<double>());
  EXPECT_NEAR(real["direct_origin_egress_copies"].get<double>(), 4.0, 0.05) << logs;
  EXPECT_GE(real["origin_egress_copies"].get<double>(), 0.99) << "the first copy is the origin's";
  EXPECT_LE(real["origin_egress_copies"].get<double>(), 3.0) << "the swarm shares the rest";
  EXPECT_NEAR(real["object_store_copies"].get<double>(), 1.0, 1e-9) << logs;
  for (const char* key : {"start_spread_seconds", "direct_start_spread_seconds"}) {
    EXPECT_LT(real[key].get<double>(), 1.0) << key << "\n" << logs;
  }
  EXPECT_EQ(real["copies_verified"].get<int>(), 4) << logs;
  ASSERT_EQ(real["completion_seconds"].size(), 4u);
  for (const auto& t : real["completion_seconds"]) EXPECT_GT(t.get<double>(), 0);
  expect_png(dir / "real.png");
}

// The simulator's report: the same keys (nodes for agents), the analytic direct pull (20 nodes
// sharing one origin at node speed: each gets a twentieth, 20 download times) and its PNG.
TEST(BenchHarness, SimulatorReportsTheSameFigures) {
  TempDir dir("fanout-sim-report-");
  auto json = dir / "sim.json";
  auto sim = run(bin("fanout-sim") + " --nodes 20 --size-mib 16 --node-mibps 8 --origins 1 " +
                     "--json '" + json.string() + "'",
                 json, dir / "sim.log");
  std::string logs = slurp(dir / "sim.log");
  ASSERT_FALSE(sim.is_null()) << logs;
  expect_keys(sim, {"nodes", "size_bytes", "single_node_seconds", "p50_ratio", "p99_ratio",
                    "max_ratio", "origin_egress_copies", "object_store_copies",
                    "direct_max_ratio"},
              logs);
  if (HasFailure()) return;
  EXPECT_EQ(sim["nodes"].get<int>(), 20);
  EXPECT_NEAR(sim["direct_max_ratio"].get<double>(), 20.0, 0.5) << logs;
  EXPECT_GE(sim["p50_ratio"].get<double>(), 0.99) << logs;
  EXPECT_LE(sim["p99_ratio"].get<double>(), sim["max_ratio"].get<double>());
  expect_png(dir / "sim.png");
}

}  // namespace
}  // namespace fanout::test
