// Calibration (issue 7): the simulator's completion ratios against what the real harness
// measures with the same agents, blob and rates. Small and short (about 20 s), for CI.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
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

}  // namespace
}  // namespace fanout::test
