#include "origin/config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "tests/support/temp_dir.h"

namespace fanout::origin {
namespace {

OriginConfig read_yaml(const std::string& text) {
  return OriginConfig::read(YAML::Load(text));
}

std::string error_of(const std::string& text) {
  try {
    read_yaml(text);
  } catch (const config::ConfigError& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(OriginConfig, Defaults) {
  OriginConfig c = read_yaml("{}");
  EXPECT_EQ(c.listen, (config::HostPort{"127.0.0.1", 7100}));
  EXPECT_EQ(c.peer_listen, (config::HostPort{"0.0.0.0", 7101}));
  EXPECT_EQ(c.advertise_host, "");
  EXPECT_EQ(c.tracker, "http://127.0.0.1:7000");
  EXPECT_EQ(c.object_store.type, "directory");
  EXPECT_EQ(c.object_store.path, "objects");
  EXPECT_EQ(c.cache_dir, "origin-cache");
  EXPECT_EQ(c.log_level, "info");
  EXPECT_EQ(OriginConfig::read(YAML::Node()).listen, c.listen);  // an empty file
}

TEST(OriginConfig, ReadsEveryKey) {
  OriginConfig c = read_yaml(R"(
listen: 0.0.0.0:8100
peer_listen: "[::]:0"
advertise_host: 10.1.2.3
tracker: https://tracker.example:7443
object_store: {type: directory, path: /srv/objects}
cache_dir: /var/cache/fanout
log_level: debug
)");
  EXPECT_EQ(c.listen, (config::HostPort{"0.0.0.0", 8100}));
  EXPECT_EQ(c.peer_listen, (config::HostPort{"::", 0}));
  EXPECT_EQ(c.advertise_host, "10.1.2.3");
  EXPECT_EQ(c.tracker, "https://tracker.example:7443");
  EXPECT_EQ(c.object_store.path, "/srv/objects");
  EXPECT_EQ(c.cache_dir, "/var/cache/fanout");
  EXPECT_EQ(c.log_level, "debug");
}

TEST(OriginConfig, OverridesApply) {
  YAML::Node root = YAML::Load("{}");
  config::apply_override(root, "object_store.path=/data");
  config::apply_override(root, "listen=127.0.0.1:0");
  OriginConfig c = OriginConfig::read(root);
  EXPECT_EQ(c.object_store.path, "/data");
  EXPECT_EQ(c.listen.port, 0);
}

TEST(OriginConfig, UnknownKeysAreNamed) {
  EXPECT_NE(error_of("lisen: 1.2.3.4:5").find("lisen"), std::string::npos);
  EXPECT_NE(error_of("object_store: {bukket: x}").find("object_store.bukket"), std::string::npos);
  EXPECT_NE(error_of("cluster: {origins: [{id: a, url: 'http://a', weight: 2}], self: a}")
                .find("cluster.origins[0].weight"),
            std::string::npos);
}

TEST(OriginConfig, S3AndClusterKeys) {
  auto c = OriginConfig::read(YAML::Load(
      "object_store: {type: s3, endpoint: 'http://127.0.0.1:9000', bucket: b, prefix: p/,"
      " addressing: virtual, timeout: 2s, multipart_threshold: 32MiB, put_max_attempts: 7,"
      " put_retry_base_delay: 20ms, put_retry_max_delay: 1s}\n"
      "pull: {part_size: 4MiB, concurrency: 3, max_attempts: 2}\n"
      "cluster: {self: o2, replicas: 1, origins: [{id: o1, url: 'http://h1:7100/'},"
      " {id: o2, url: 'http://h2:7100'}]}\n"
      "cache_max_size: 10GiB\nreveal_slots: 3\nreveal_pieces: 2"));
  EXPECT_EQ(c.object_store.type, "s3");
  EXPECT_EQ(c.object_store.addressing, "virtual");
  EXPECT_EQ(c.object_store.timeout, std::chrono::seconds(2));
  EXPECT_EQ(c.object_store.multipart_threshold, 32ull << 20);
  EXPECT_EQ(c.object_store.put_max_attempts, 7u);
  EXPECT_EQ(c.object_store.put_retry_base_delay, std::chrono::milliseconds(20));
  EXPECT_EQ(c.object_store.put_retry_max_delay, std::chrono::seconds(1));
  EXPECT_EQ(c.pull.part_size, 4ull << 20);
  EXPECT_EQ(c.pull.concurrency, 3u);
  ASSERT_EQ(c.cluster.origins.size(), 2u);
  EXPECT_EQ(c.cluster.origins[0].url, "http://h1:7100");
  EXPECT_EQ(c.cluster.replicas, 1u);
  EXPECT_EQ(c.cache_max_size, 10ull << 30);
  EXPECT_EQ(c.reveal_slots, 3u);
  EXPECT_EQ(c.reveal_pieces, 2u);
  EXPECT_NE(error_of("reveal_pieces: 0").find("reveal_pieces"), std::string::npos);
  EXPECT_NE(error_of("reveal_slots: 0").find("reveal_slots"), std::string::npos);
  EXPECT_NE(error_of("object_store: {type: s3, endpoint: 'http://x'}").find("object_store.bucket"),
            std::string::npos);
  EXPECT_NE(error_of("object_store: {type: s3, endpoint: 'http://x', bucket: b, addressing: vhost}")
                .find("object_store.addressing"),
            std::string::npos);
  EXPECT_NE(
      error_of("cluster: {self: z, origins: [{id: a, url: 'http://a'}]}").find("cluster.self"),
      std::string::npos);
}

TEST(OriginConfig, BadValuesAreNamed) {
  EXPECT_NE(error_of("listen: nope").find("listen"), std::string::npos);
  EXPECT_NE(error_of("peer_listen: 1.2.3.4:99999").find("peer_listen"), std::string::npos);
  EXPECT_NE(error_of("object_store: {type: s4}").find("object_store.type"), std::string::npos);
  EXPECT_NE(error_of("object_store: {path: ''}").find("object_store.path"), std::string::npos);
  EXPECT_NE(error_of("tracker: localhost:7000").find("tracker"), std::string::npos);
  EXPECT_NE(error_of("log_level: loud").find("log_level"), std::string::npos);
  EXPECT_NE(error_of("advertise_host: my-host").find("advertise_host"), std::string::npos);
  EXPECT_NE(error_of("cache_dir: [a, b]").find("cache_dir"), std::string::npos);
  EXPECT_NE(error_of("object_store: 3").find("object_store"), std::string::npos);
  EXPECT_NE(error_of("object_store: {put_max_attempts: 0}").find("object_store.put_max_attempts"),
            std::string::npos);
}

// Unsigned by default; a signing key is loaded at config time, so a bad one stops the origin
// at start-up with the key's name and the file's problem.
TEST(OriginConfig, MetainfoSigningKey) {
  using ::testing::HasSubstr;
  OriginConfig unsigned_config = read_yaml("{}");
  EXPECT_EQ(unsigned_config.metainfo_signing_key, "");
  EXPECT_FALSE(unsigned_config.metainfo_signer);

  test::TempDir dir("fanout-origin-key-");
  proto::write_metainfo_key_pair(dir / "origin.key", dir / "origin.pub");
  OriginConfig c = read_yaml("metainfo_signing_key: " + (dir / "origin.key").string());
  ASSERT_TRUE(c.metainfo_signer);
  proto::Metainfo info;
  info.size = 0;
  info.digest = Sha256::of("");
  EXPECT_EQ(proto::MetainfoVerifier::load({dir / "origin.pub"})
                .check({info, c.metainfo_signer->sign(info)}),
            proto::MetainfoVerifier::Verdict::kValid);

  EXPECT_THAT(error_of("metainfo_signing_key: " + (dir / "nope.key").string()),
              HasSubstr("metainfo_signing_key: " + (dir / "nope.key").string() +
                        ": cannot read: No such file or directory"));
  EXPECT_THAT(
      error_of("metainfo_signing_key: " + (dir / "origin.pub").string()),
      HasSubstr("metainfo_signing_key: " + (dir / "origin.pub").string() + ": a public key"));
  std::ofstream(dir / "junk.key") << "junk\n";
  EXPECT_THAT(error_of("metainfo_signing_key: " + (dir / "junk.key").string()),
              HasSubstr("junk.key: not a PEM private key"));
}

}  // namespace
}  // namespace fanout::origin
