#include "tracker/config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace fanout::tracker {
namespace {

using ::testing::HasSubstr;

TrackerConfig read(const std::string& yaml) {
  return TrackerConfig::read(yaml.empty() ? YAML::Node(YAML::NodeType::Map) : YAML::Load(yaml));
}

std::string error_of(const std::string& yaml) {
  try {
    read(yaml);
    return "";
  } catch (const config::ConfigError& e) {
    return e.what();
  }
}

TEST(TrackerConfig, DefaultsWhenEmpty) {
  TrackerConfig c = read("");
  EXPECT_EQ(c.listen, (config::HostPort{"127.0.0.1", 7000}));
  EXPECT_EQ(c.origins, std::vector<std::string>{"http://127.0.0.1:7100"});
  EXPECT_EQ(c.announce_interval, std::chrono::seconds(5));
  EXPECT_EQ(c.peer_ttl, std::chrono::seconds(30));
  EXPECT_EQ(c.max_peers_per_swarm, 10000u);
  EXPECT_EQ(c.max_peers, 2000000u);
  EXPECT_EQ(c.log_level, "info");
}

TEST(TrackerConfig, ReadsEveryKey) {
  TrackerConfig c = read(R"(
listen: "[::1]:9000"
origins: [http://a:1, "https://b:2/"]
announce_interval: 10s
peer_ttl: 1m
max_peers_per_swarm: 5
max_swarms: 6
max_peers: 0
max_num_want: 7
default_num_want: 4
log_level: debug
)");
  EXPECT_EQ(c.listen, (config::HostPort{"::1", 9000}));
  EXPECT_EQ(c.origins, (std::vector<std::string>{"http://a:1", "https://b:2"}));
  EXPECT_EQ(c.announce_interval, std::chrono::seconds(10));
  EXPECT_EQ(c.peer_ttl, std::chrono::minutes(1));
  EXPECT_EQ(c.max_peers_per_swarm, 5u);
  EXPECT_EQ(c.max_swarms, 6u);
  EXPECT_EQ(c.max_peers, 0u);  // no cap
  EXPECT_EQ(c.max_num_want, 7u);
  EXPECT_EQ(c.default_num_want, 4u);
  EXPECT_EQ(c.log_level, "debug");
}

TEST(TrackerConfig, SetOverridesApply) {
  YAML::Node root(YAML::NodeType::Map);
  config::apply_override(root, "origins=[http://x:1, http://y:2]");
  config::apply_override(root, "peer_ttl=90s");
  TrackerConfig c = TrackerConfig::read(root);
  EXPECT_EQ(c.origins, (std::vector<std::string>{"http://x:1", "http://y:2"}));
  EXPECT_EQ(c.peer_ttl, std::chrono::seconds(90));
}

TEST(TrackerConfig, ErrorsNameTheKey) {
  EXPECT_THAT(error_of("listn: 1.2.3.4:5"), HasSubstr("listn: unknown key"));
  EXPECT_THAT(error_of("listen: nowhere"), HasSubstr("listen:"));
  EXPECT_THAT(error_of("peer_ttl: soon"), HasSubstr("peer_ttl:"));
  EXPECT_THAT(error_of("max_peers_per_swarm: -1"), HasSubstr("max_peers_per_swarm:"));
  EXPECT_THAT(error_of("max_peers: -1"), HasSubstr("max_peers:"));
  EXPECT_THAT(error_of("max_peers_per_swarm: 0"), HasSubstr("max_peers_per_swarm:"));
  EXPECT_THAT(error_of("origins: []"), HasSubstr("origins:"));
  EXPECT_THAT(error_of("origins: [ftp://a]"), HasSubstr("origins:"));
  EXPECT_THAT(error_of("origins: [http://a:1/v1]"), HasSubstr("origins:"));
  EXPECT_THAT(error_of("announce_interval: 500ms"), HasSubstr("announce_interval:"));
  EXPECT_THAT(error_of("announce_interval: 30s\npeer_ttl: 30s"), HasSubstr("peer_ttl:"));
  EXPECT_THAT(error_of("default_num_want: 500"), HasSubstr("default_num_want:"));
}

}  // namespace
}  // namespace fanout::tracker
