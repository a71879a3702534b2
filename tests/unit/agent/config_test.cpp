#include "agent/config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "tests/support/temp_dir.h"

namespace fanout::agent {
namespace {

AgentConfig read_yaml(const std::string& text) {
  return AgentConfig::read(YAML::Load(text));
}

std::string error_of(const std::string& text) {
  try {
    read_yaml(text);
  } catch (const config::ConfigError& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(AgentConfig, Defaults) {
  AgentConfig c = read_yaml("{}");
  swarm::Settings engine_defaults;
  EXPECT_EQ(c.listen, (config::HostPort{"127.0.0.1", 7200}));
  EXPECT_EQ(c.peer_listen, (config::HostPort{"0.0.0.0", 7201}));
  EXPECT_EQ(c.advertise_host, "");
  EXPECT_EQ(c.tracker, "http://127.0.0.1:7000");
  EXPECT_EQ(c.cache_dir, "agent-cache");
  EXPECT_EQ(c.log_level, "info");
  EXPECT_EQ(c.fetch_timeout, std::chrono::minutes(30));
  EXPECT_TRUE(c.whole_blob_hash) << "a blob is published only if it hashes to its digest";
  EXPECT_TRUE(c.metainfo_public_keys.empty());
  EXPECT_TRUE(c.metainfo_verifier.empty()) << "signatures are not required by default";
  // The engine's own defaults stand unless configured; the peer address comes from peer_listen.
  EXPECT_EQ(c.swarm.block_size, engine_defaults.block_size);
  EXPECT_EQ(c.swarm.max_connections, engine_defaults.max_connections);
  EXPECT_EQ(c.swarm.peer_timeout, engine_defaults.peer_timeout);
  EXPECT_EQ(c.swarm.hot_piece_bytes, 0u) << "pieces are streamed to disk, not kept in memory";
  EXPECT_TRUE(c.swarm.zero_copy_uploads) << "uploads are spliced from disk";
  EXPECT_EQ(c.swarm.read_threads, 2u);
  EXPECT_EQ(c.swarm.receive_batch, 256u << 10) << "woken per quarter MiB of a block";
  EXPECT_EQ(c.swarm.disk_threads, 0u) << "four, or one per event-loop thread";
  EXPECT_EQ(c.swarm.listen_host, "0.0.0.0");
  EXPECT_EQ(c.swarm.listen_port, 7201);
  EXPECT_FALSE(c.swarm.is_origin);
}

TEST(AgentConfig, ReadsEveryKey) {
  AgentConfig c = read_yaml(R"(
listen: 127.0.0.1:0
peer_listen: 10.0.0.5:9000
advertise_host: "fd00::5"
tracker: http://tracker:7000/prefix
cache_dir: /var/cache/fanout
fetch_timeout: 90s
log_level: warn
whole_blob_hash: false
swarm:
  threads: 3
  disk_threads: 6
  read_threads: 3
  block_size: 256KiB
  receive_batch: 64KiB
  pipeline_pieces: 9
  max_peers_per_blob: 12
  max_connections: 100
  max_queued_requests: 64
  hot_pieces: 16MiB
  zero_copy_uploads: false
  announce_interval: 2s
  peer_timeout: 500ms
  peer_backoff: 1m
  peer_rate_trust: 3s
)");
  EXPECT_EQ(c.listen.port, 0);
  EXPECT_EQ(c.advertise_host, "fd00::5");
  EXPECT_EQ(c.tracker, "http://tracker:7000/prefix");
  EXPECT_EQ(c.fetch_timeout, std::chrono::seconds(90));
  EXPECT_EQ(c.log_level, "warn");
  EXPECT_EQ(c.swarm.threads, 3u);
  EXPECT_EQ(c.swarm.disk_threads, 6u);
  EXPECT_EQ(c.swarm.read_threads, 3u);
  EXPECT_EQ(c.swarm.block_size, 256u * 1024);
  EXPECT_EQ(c.swarm.receive_batch, 64u * 1024);
  EXPECT_EQ(c.swarm.pipeline_pieces, 9u);
  EXPECT_EQ(c.swarm.max_peers_per_blob, 12u);
  EXPECT_EQ(c.swarm.max_connections, 100u);
  EXPECT_EQ(c.swarm.max_queued_requests, 64u);
  EXPECT_EQ(c.swarm.hot_piece_bytes, 16u << 20);
  EXPECT_FALSE(c.swarm.zero_copy_uploads);
  EXPECT_EQ(c.swarm.announce_interval, std::chrono::seconds(2));
  EXPECT_EQ(c.swarm.peer_timeout, std::chrono::milliseconds(500));
  EXPECT_EQ(c.swarm.peer_backoff, std::chrono::minutes(1));
  EXPECT_EQ(c.swarm.peer_rate_trust, std::chrono::seconds(3));
  EXPECT_FALSE(c.whole_blob_hash);
  EXPECT_EQ(c.swarm.listen_host, "10.0.0.5");
  EXPECT_EQ(c.swarm.listen_port, 9000);
  EXPECT_EQ(c.swarm.advertise_host, "fd00::5");
}

TEST(AgentConfig, UnknownKeysAreNamed) {
  EXPECT_NE(error_of("cache: x").find("cache"), std::string::npos);
  EXPECT_NE(error_of("swarm: {thread: 2}").find("swarm.thread"), std::string::npos);
  // Keys of the engine that the agent sets itself are not configurable under swarm.
  EXPECT_NE(error_of("swarm: {is_origin: true}").find("swarm.is_origin"), std::string::npos);
}

TEST(AgentConfig, BadValuesAreNamed) {
  EXPECT_NE(error_of("listen: 127.0.0.1").find("listen"), std::string::npos);
  EXPECT_NE(error_of("swarm: {threads: -1}").find("swarm.threads"), std::string::npos);
  EXPECT_NE(error_of("swarm: {block_size: 4GiB}").find("swarm.block_size"), std::string::npos);
  EXPECT_NE(error_of("swarm: {block_size: 8MiB}").find("swarm.block_size"), std::string::npos);
  EXPECT_NE(error_of("swarm: {block_size: lots}").find("swarm.block_size"), std::string::npos);
  EXPECT_NE(error_of("swarm: {disk_threads: 4000}").find("swarm.disk_threads: must be at most"),
            std::string::npos);
  EXPECT_NE(error_of("swarm: {read_threads: 300}").find("swarm.read_threads: must be at most"),
            std::string::npos);
  EXPECT_NE(error_of("swarm: {receive_batch: 1GiB}").find("swarm.receive_batch: must be at most"),
            std::string::npos);
  EXPECT_NE(error_of("swarm: {receive_batch: some}").find("swarm.receive_batch"),
            std::string::npos);
  EXPECT_NE(error_of("swarm: {zero_copy_uploads: maybe}").find("swarm.zero_copy_uploads"),
            std::string::npos);
  EXPECT_NE(error_of("swarm: {threads: 257}").find("swarm.threads: must be at most"),
            std::string::npos);
  EXPECT_NE(error_of("swarm: {peer_timeout: soon}").find("swarm.peer_timeout"), std::string::npos);
  EXPECT_NE(error_of("swarm: {peer_rate_trust: 0s}").find("swarm.peer_rate_trust"),
            std::string::npos);
  EXPECT_NE(error_of("whole_blob_hash: maybe").find("whole_blob_hash"), std::string::npos);
  EXPECT_NE(error_of("swarm: {max_connections: 0}").find("swarm.max_connections"),
            std::string::npos);
  EXPECT_NE(error_of("swarm: 5").find("swarm"), std::string::npos);
  EXPECT_NE(error_of("fetch_timeout: 0s").find("fetch_timeout"), std::string::npos);
  EXPECT_NE(error_of("tracker: ftp://x").find("tracker"), std::string::npos);
  EXPECT_NE(error_of("advertise_host: node-1.local").find("advertise_host"), std::string::npos);
  EXPECT_NE(error_of("log_level: chatty").find("log_level"), std::string::npos);
}

TEST(AgentConfigIssue5, ReadsCacheRatesFallbackAndWatch) {
  AgentConfig c = read_yaml(R"(
origins: [http://o1:7100, http://o2:7100]
cache:
  max_size: 10GiB
  high_watermark: 90
  low_watermark: 70
watch: [llama@prod]
watch_interval: 10s
swarm:
  ingress_rate: 20MiB
  egress_rate: 1GiB
  fallback_after: 3s
)");
  EXPECT_EQ(c.origins.size(), 2u);
  EXPECT_EQ(c.cache.max_bytes, 10ull << 30);
  EXPECT_EQ(c.cache.high_watermark_percent, 90u);
  EXPECT_EQ(c.cache.low_watermark_percent, 70u);
  EXPECT_EQ(c.watch, std::vector<std::string>{"llama@prod"});
  EXPECT_EQ(c.swarm.ingress_bytes_per_sec, 20u << 20);
  EXPECT_EQ(c.swarm.egress_bytes_per_sec, 1ull << 30);
  EXPECT_EQ(c.swarm.fallback_after, std::chrono::seconds(3));
  AgentConfig d = read_yaml("{}");
  EXPECT_EQ(d.cache.max_bytes, 0u);
  EXPECT_EQ(d.swarm.ingress_bytes_per_sec, 0u);
}

TEST(AgentConfigIssue5, BadValuesAreNamed) {
  EXPECT_NE(error_of("cache: {high_watermark: 0}").find("cache.high_watermark"), std::string::npos);
  EXPECT_NE(error_of("cache: {high_watermark: 50, low_watermark: 60}").find("cache.low_watermark"),
            std::string::npos);
  EXPECT_NE(error_of("watch: [llama]").find("watch"), std::string::npos);
  EXPECT_NE(error_of("origins: [ftp://x]").find("origins"), std::string::npos);
  EXPECT_NE(error_of("swarm: {ingress_rate: fast}").find("swarm.ingress_rate"), std::string::npos);
}

}  // namespace
}  // namespace fanout::agent

namespace fanout::agent {
namespace {

TEST(AgentConfigLocality, ZoneAndRackReachTheEngineAndBadLabelsAreRefused) {
  AgentConfig c = AgentConfig::read(YAML::Load("zone: us-east-1a\nrack: r12\n"));
  EXPECT_EQ(c.swarm.zone, "us-east-1a");
  EXPECT_EQ(c.swarm.rack, "r12");
  try {
    AgentConfig::read(YAML::Load("rack: \"r 12\"\n"));
    FAIL() << "a rack with a space was accepted";
  } catch (const config::ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("rack"), std::string::npos) << e.what();
  }
}

// A list, for key rotation; each file is loaded at config time so a bad one stops the agent at
// start-up with the key's name, the file and its problem.
TEST(AgentConfig, MetainfoPublicKeys) {
  using ::testing::HasSubstr;
  test::TempDir dir("fanout-agent-keys-");
  proto::write_metainfo_key_pair(dir / "old.key", dir / "old.pub");
  proto::write_metainfo_key_pair(dir / "new.key", dir / "new.pub");
  const std::string old_pub = (dir / "old.pub").string(), new_pub = (dir / "new.pub").string();

  AgentConfig c = read_yaml("metainfo_public_keys: [" + old_pub + ", " + new_pub + "]");
  EXPECT_EQ(c.metainfo_public_keys, (std::vector<std::string>{old_pub, new_pub}));
  EXPECT_EQ(c.metainfo_verifier.key_count(), 2u);
  proto::Metainfo info;
  info.digest = Sha256::of("");
  auto signed_by = [&](const char* key) {
    return proto::MetainfoWithSignature{info, proto::MetainfoSigner::load(dir / key).sign(info)};
  };
  EXPECT_EQ(c.metainfo_verifier.check(signed_by("old.key")),
            proto::MetainfoVerifier::Verdict::kValid);
  EXPECT_EQ(c.metainfo_verifier.check(signed_by("new.key")),
            proto::MetainfoVerifier::Verdict::kValid);
  EXPECT_EQ(read_yaml("metainfo_public_keys: " + old_pub).metainfo_verifier.key_count(), 1u);

  const std::string missing = (dir / "missing.pub").string();
  EXPECT_THAT(error_of("metainfo_public_keys: [" + old_pub + ", " + missing + "]"),
              HasSubstr("metainfo_public_keys: " + missing + ": cannot read"));
  EXPECT_THAT(error_of("metainfo_public_keys: [" + (dir / "old.key").string() + "]"),
              HasSubstr("old.key: a private key; agents take only the public key"));
  std::ofstream(dir / "junk.pub") << "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n";
  EXPECT_THAT(error_of("metainfo_public_keys: [" + (dir / "junk.pub").string() + "]"),
              HasSubstr("junk.pub: not a PEM public key"));
  EXPECT_THAT(error_of("metainfo_public_keys: {a: b}"), HasSubstr("metainfo_public_keys"));
}

}  // namespace
}  // namespace fanout::agent
