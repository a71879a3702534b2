// The example configs in deploy/ must stay loadable: every binary rejects unknown keys, so a
// renamed or removed key would otherwise leave a broken example behind.
#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "tests/support/bin_dir.h"
#include "tests/support/child_process.h"
#include "tests/support/ports.h"
#include "tests/support/temp_dir.h"

namespace fanout::test {
namespace {

// tests/integration/<this file> -> the repository's deploy/ folder.
std::filesystem::path deploy_dir() {
  return std::filesystem::path(__FILE__).parent_path().parent_path().parent_path() / "deploy";
}

std::string loopback(uint16_t port) {
  return "127.0.0.1:" + std::to_string(port);
}

// Starts `binary --config deploy/<config>` with the listen addresses and directories moved to
// free ports and into the test's temp dir (flags override the file); waits for /healthz.
void expect_starts_with(const char* binary, const std::string& config,
                        std::vector<std::string> overrides) {
  TempDir dir("fanout-deploy-");
  std::filesystem::create_directories(dir / "objects");
  uint16_t port = free_port();
  std::vector<std::string> args = {"--config", (deploy_dir() / config).string(), "--listen",
                                   loopback(port)};
  for (auto& o : overrides) {
    if (o.starts_with("{dir}")) o = dir.path().string() + o.substr(5);
    args.push_back(o);
  }
  ChildProcess process(binary, bin(binary), args, dir / "log");
  EXPECT_TRUE(process.wait_healthy("http://" + loopback(port)))
      << "deploy/" << config << " does not start " << binary;
}

TEST(DeployConfig, TrackerStartsWithDeployTrackerYaml) {
  expect_starts_with("fanout-tracker", "tracker.yaml", {});
}

TEST(DeployConfig, OriginStartsWithDeployOriginYaml) {
  expect_starts_with("fanout-origin", "origin.yaml",
                     {"--peer-listen", loopback(free_port()), "--object-store-dir", "{dir}/objects",
                      "--cache-dir", "{dir}/cache"});
}

TEST(DeployConfig, AgentStartsWithDeployAgentYaml) {
  expect_starts_with("fanout-agent", "agent.yaml",
                     {"--peer-listen", loopback(free_port()), "--cache-dir", "{dir}/cache"});
}

}  // namespace
}  // namespace fanout::test
