// Origin-signed metainfo end to end: an origin with metainfo_signing_key signs, the tracker
// passes the signature on, an agent holding the origin's public key publishes the blob on its
// verified pieces alone, and an agent holding some other key refuses the metainfo and stores
// nothing.
#include <gtest/gtest.h>
#include <httplib.h>
#include <sys/wait.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "common/digest/sha256.h"
#include "proto/metainfo_signature.h"
#include "tests/integration/cluster.h"
#include "tests/support/bin_dir.h"
#include "tests/support/child_process.h"
#include "tests/support/http.h"
#include "tests/support/ports.h"
#include "tests/support/prometheus.h"
#include "tests/support/temp_dir.h"

namespace fanout::test {
namespace {

namespace fs = std::filesystem;

constexpr uint64_t kBlobSize = (9ull << 20) + 5;  // ten pieces, the last one short

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buf;
  buf << in.rdbuf();
  return buf.str();
}

size_t files_under(const fs::path& dir) {
  size_t n = 0;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec);
       it != fs::recursive_directory_iterator(); it.increment(ec)) {
    n += it->is_regular_file(ec);
  }
  return n;
}

double agent_metric(const std::string& agent_url, const std::string& name) {
  return metric(get_body(agent_url, "/metrics"), name);
}

TEST(SignedMetainfo, AnAgentWithTheOriginsKeySkipsTheWholeHashAndAnotherKeyIsRefused) {
  TempDir dir("fanout-signed-");
  proto::write_metainfo_key_pair(dir / "origin.key", dir / "origin.pub");
  proto::write_metainfo_key_pair(dir / "other.key", dir / "other.pub");
  Cluster cluster(dir / "cluster");
  cluster.set_origin_args({"--set", "metainfo_signing_key=" + (dir / "origin.key").string()});
  ASSERT_TRUE(cluster.start_tracker_and_origin()) << cluster.logs();
  Digest digest = cluster.put_random_object(kBlobSize);

  // The origin signs; the tracker, which holds no key, hands the same signature on.
  const std::string path = "/v1/blobs/" + digest.str() + "/metainfo";
  httplib::Client origin(cluster.origin_url());
  origin.set_read_timeout(std::chrono::seconds(30));
  auto from_origin = origin.Get(path);
  ASSERT_TRUE(from_origin && from_origin->status == 200) << describe(from_origin);
  const std::string signature = from_origin->get_header_value(proto::kMetainfoSignatureHeader);
  proto::MetainfoVerifier origin_key = proto::MetainfoVerifier::load({dir / "origin.pub"});
  EXPECT_EQ(origin_key.check(from_origin->body, signature),
            proto::MetainfoVerifier::Verdict::kValid);
  httplib::Client tracker(cluster.tracker_url());
  tracker.set_read_timeout(std::chrono::seconds(30));
  auto from_tracker = tracker.Get("/v1/metainfo/" + digest.str());
  ASSERT_TRUE(from_tracker && from_tracker->status == 200) << describe(from_tracker);
  EXPECT_EQ(from_tracker->get_header_value(proto::kMetainfoSignatureHeader), signature);
  EXPECT_EQ(from_tracker->body, from_origin->body);

  // Agent 0 holds the origin's public key (and, as during a rotation, another one); agent 1
  // only a key the origin never used. Both keep the default whole_blob_hash: true.
  ASSERT_TRUE(
      cluster.start_agents(1, {"--set", "metainfo_public_keys=[" + (dir / "other.pub").string() +
                                            ", " + (dir / "origin.pub").string() + "]"}))
      << cluster.logs();
  ASSERT_TRUE(cluster.start_agents(
      1, {"--set", "metainfo_public_keys=[" + (dir / "other.pub").string() + "]"}))
      << cluster.logs();

  httplib::Client trusted(cluster.agent_url(0));
  trusted.set_read_timeout(std::chrono::seconds(120));
  auto blob = trusted.Get("/v1/blobs/" + digest.str());
  ASSERT_TRUE(blob && blob->status == 200) << describe(blob) << cluster.logs();
  EXPECT_EQ(blob->body.size(), kBlobSize);
  EXPECT_EQ(Sha256::of(blob->body), digest);
  EXPECT_EQ(agent_metric(cluster.agent_url(0), "fanout_agent_fetches_total"), 1);
  EXPECT_EQ(
      agent_metric(cluster.agent_url(0), "fanout_agent_blobs_published_on_signed_metainfo_total"),
      1)
      << "published without the whole-blob pass";
  EXPECT_EQ(agent_metric(cluster.agent_url(0), "fanout_agent_metainfo_signature_failures_total"),
            0);
  EXPECT_NE(read_file(dir / "cluster" / "logs" / "agent-0.log")
                .find("signed metainfo, published on its verified pieces"),
            std::string::npos)
      << cluster.logs();
  // The signature is kept beside the metainfo, for a fetch resumed after a restart.
  EXPECT_EQ(read_file(cluster.agent_cache_dir(0) / "metainfo" / (digest.hex() + ".sig")),
            signature);

  httplib::Client foreign(cluster.agent_url(1));
  foreign.set_read_timeout(std::chrono::seconds(60));
  auto refused = foreign.Get("/v1/blobs/" + digest.str());
  ASSERT_TRUE(refused) << describe(refused);
  EXPECT_EQ(refused->status, 502);
  EXPECT_NE(refused->body.find("metainfo_not_signed"), std::string::npos) << refused->body;
  EXPECT_NE(refused->body.find("metainfo of " + digest.str() + " refused"), std::string::npos)
      << refused->body;
  EXPECT_NE(refused->body.find("invalid"), std::string::npos) << refused->body;
  EXPECT_EQ(agent_metric(cluster.agent_url(1), "fanout_agent_metainfo_signature_failures_total"),
            1);
  EXPECT_EQ(agent_metric(cluster.agent_url(1), "fanout_agent_fetches_total"), 0);
  for (const char* sub : {"blobs", "partial", "tmp", "metainfo"}) {
    EXPECT_EQ(files_under(cluster.agent_cache_dir(1) / sub), 0u)
        << sub << ": no blob, no partial file, no metainfo kept";
  }
  EXPECT_NE(
      read_file(dir / "cluster" / "logs" / "agent-1.log")
          .find("fetch of " + digest.str() + " failed: metainfo of " + digest.str() + " refused"),
      std::string::npos)
      << cluster.logs();
}

// Signing turned on while a tracker holds the unsigned copy: an agent that requires signatures
// takes the metainfo from an owning origin instead of failing.
TEST(SignedMetainfo, AnAgentPassesOverTheTrackersUnsignedCopyForTheOrigins) {
  TempDir dir("fanout-signed-");
  proto::write_metainfo_key_pair(dir / "origin.key", dir / "origin.pub");
  Cluster cluster(dir / "cluster");
  ASSERT_TRUE(cluster.start_tracker_and_origin()) << cluster.logs();
  Digest digest = cluster.put_random_object(kBlobSize);
  httplib::Client tracker(cluster.tracker_url());
  tracker.set_read_timeout(std::chrono::seconds(30));
  auto cached = tracker.Get("/v1/metainfo/" + digest.str());
  ASSERT_TRUE(cached && cached->status == 200) << describe(cached);
  ASSERT_EQ(cached->get_header_value(proto::kMetainfoSignatureHeader), "") << "unsigned at first";

  ASSERT_TRUE(cluster.restart_origin(
      {"--set", "metainfo_signing_key=" + (dir / "origin.key").string()}))
      << cluster.logs();
  auto still = tracker.Get("/v1/metainfo/" + digest.str());
  ASSERT_TRUE(still && still->status == 200) << describe(still);
  ASSERT_EQ(still->get_header_value(proto::kMetainfoSignatureHeader), "")
      << "the tracker still serves its cached copy";

  ASSERT_TRUE(cluster.start_agents(
      1, {"--set", "metainfo_public_keys=[" + (dir / "origin.pub").string() + "]"}))
      << cluster.logs();
  httplib::Client agent(cluster.agent_url(0));
  agent.set_read_timeout(std::chrono::seconds(60));
  auto blob = agent.Get("/v1/blobs/" + digest.str());
  ASSERT_TRUE(blob && blob->status == 200) << describe(blob) << cluster.logs();
  EXPECT_EQ(Sha256::of(blob->body), digest);
  EXPECT_EQ(
      agent_metric(cluster.agent_url(0), "fanout_agent_blobs_published_on_signed_metainfo_total"),
      1);
  EXPECT_EQ(agent_metric(cluster.agent_url(0), "fanout_agent_metainfo_signature_failures_total"),
            0);
  EXPECT_NE(read_file(dir / "cluster" / "logs" / "agent-0.log").find("took the origin's"),
            std::string::npos)
      << cluster.logs();
}

// A key file an agent cannot use stops it at start-up, naming the key and the problem.
TEST(SignedMetainfo, AnAgentWithAnUnreadableKeyDoesNotStart) {
  TempDir dir("fanout-signed-");
  const std::string missing = (dir / "missing.pub").string();
  uint16_t port = free_port();
  ChildProcess agent("fanout-agent", bin("fanout-agent"),
                     {"--listen", "127.0.0.1:" + std::to_string(port), "--peer-listen",
                      "127.0.0.1:" + std::to_string(free_port()), "--cache-dir",
                      (dir / "cache").string(), "--set", "metainfo_public_keys=[" + missing + "]"},
                     dir / "agent.log");
  for (int i = 0; i < 200 && agent.running(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_FALSE(agent.running());
  ASSERT_TRUE(agent.wait_status());
  const int status = *agent.wait_status();
  ASSERT_TRUE(WIFEXITED(status)) << agent.describe();
  EXPECT_EQ(WEXITSTATUS(status), 2) << agent.describe();
  EXPECT_NE(read_file(dir / "agent.log")
                .find("bad config: metainfo_public_keys: " + missing + ": cannot read"),
            std::string::npos)
      << read_file(dir / "agent.log");
}

// Runs `fanoutctl args...` to the end; its exit code (-1 when it did not exit) and output.
std::pair<int, std::string> run_fanoutctl(const fs::path& dir, std::vector<std::string> args) {
  static int runs = 0;
  fs::path log = dir / ("fanoutctl-" + std::to_string(++runs) + ".log");
  ChildProcess ctl("fanoutctl", bin("fanoutctl"), args, log);
  for (int i = 0; i < 200 && ctl.running(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  auto status = ctl.wait_status();
  int code = status && WIFEXITED(*status) ? WEXITSTATUS(*status) : -1;
  return {code, read_file(log)};
}

TEST(SignedMetainfo, FanoutctlKeygenWritesAPairOnceAndNeverOverwrites) {
  TempDir dir("fanout-keygen-");
  const std::string key = (dir / "origin.key").string(), pub = (dir / "origin.pub").string();
  auto [code, out] =
      run_fanoutctl(dir.path(), {"keygen", "--out-private", key, "--out-public", pub});
  ASSERT_EQ(code, 0) << out;
  auto signer = proto::MetainfoSigner::load(key);
  proto::Metainfo info;
  info.digest = Sha256::of("");
  EXPECT_EQ(proto::MetainfoVerifier::load({pub}).check({info, signer.sign(info)}),
            proto::MetainfoVerifier::Verdict::kValid);

  const std::string before = read_file(key);
  auto [again, message] = run_fanoutctl(
      dir.path(), {"keygen", "--out-private", key, "--out-public", (dir / "new.pub").string()});
  EXPECT_EQ(again, 1);
  EXPECT_NE(message.find(key + ": already exists"), std::string::npos) << message;
  EXPECT_EQ(read_file(key), before);
  EXPECT_FALSE(fs::exists(dir / "new.pub"));
}

}  // namespace
}  // namespace fanout::test
