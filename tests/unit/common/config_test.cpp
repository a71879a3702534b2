#include "common/config/config.h"

#include <gtest/gtest.h>

namespace fanout::config {
namespace {

TEST(ConfigTest, ParsesDurationsSizesAndAddresses) {
  EXPECT_EQ(parse_duration("500ms").count(), 500);
  EXPECT_EQ(parse_duration("5s").count(), 5000);
  EXPECT_EQ(parse_duration("2m").count(), 120000);
  EXPECT_EQ(parse_duration("3").count(), 3000);
  EXPECT_THROW(parse_duration("5 parsecs"), ConfigError);
  EXPECT_THROW(parse_duration("-1s"), ConfigError);
  EXPECT_EQ(parse_size("4MiB"), 4u << 20);
  EXPECT_EQ(parse_size("1GB"), 1000000000u);
  EXPECT_THROW(parse_size("4 lots"), ConfigError);
  EXPECT_THROW(parse_size("99999999999999999999TiB"), ConfigError);
  EXPECT_EQ(parse_host_port("127.0.0.1:7000"), (HostPort{"127.0.0.1", 7000}));
  EXPECT_EQ(parse_host_port("[::1]:80"), (HostPort{"::1", 80}));
  EXPECT_THROW(parse_host_port("localhost"), ConfigError);
  EXPECT_THROW(parse_host_port("host:99999"), ConfigError);
}

TEST(ConfigTest, ReaderKeepsDefaultsAndNamesTheBadKey) {
  YAML::Node root = YAML::Load("listen: 0.0.0.0:1\nswarm: {pipeline_pieces: lots}\n");
  Reader r(root);
  HostPort listen{"127.0.0.1", 7000};
  std::string level = "info";
  r.get_host_port("listen", listen);
  r.get("log_level", level);
  EXPECT_EQ(listen.port, 1);
  EXPECT_EQ(level, "info");
  Reader swarm = r.child("swarm");
  uint32_t pipeline = 4;
  try {
    swarm.get("pipeline_pieces", pipeline);
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("swarm.pipeline_pieces"), std::string::npos) << e.what();
  }
  EXPECT_EQ(pipeline, 4u);
}

TEST(ConfigTest, UnknownKeysAreErrors) {
  Reader r(YAML::Load("listen: 0.0.0.0:1\nlisten_typo: 3\n"));
  HostPort listen;
  r.get_host_port("listen", listen);
  try {
    r.finish();
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("listen_typo"), std::string::npos);
  }
}

TEST(ConfigTest, SetOverridesNestedKeys) {
  YAML::Node root = YAML::Load("swarm: {threads: 2}");
  apply_override(root, "swarm.threads=8");
  apply_override(root, "object_store.path=/data");
  apply_override(root, "origins=[http://a, http://b]");
  EXPECT_EQ(root["swarm"]["threads"].as<int>(), 8);
  EXPECT_EQ(root["object_store"]["path"].as<std::string>(), "/data");
  EXPECT_EQ(root["origins"].size(), 2u);
  EXPECT_THROW(apply_override(root, "novalue"), ConfigError);
}

}  // namespace
}  // namespace fanout::config
