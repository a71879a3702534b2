// Two real fanout-tracker processes sharing one Redis peer store (Debian redis-server, started
// here on a free loopback port), and a RingTrackerClient listing both: announces go to the
// blob's ring owner; with the owner killed they fail over to the other tracker, which knows the
// swarm from Redis. Skipped when redis-server is not installed.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <thread>

#include "common/placement/ring.h"
#include "common/tracker_client/ring_tracker_client.h"
#include "tests/support/bin_dir.h"
#include "tests/support/child_process.h"
#include "tests/support/http.h"
#include "tests/support/ports.h"
#include "tests/support/prometheus.h"
#include "tests/support/temp_dir.h"

namespace fanout::test {
namespace {

std::string find_redis_server() {
  for (const char* dir : {"/usr/bin", "/usr/sbin", "/usr/local/bin"}) {
    std::string path = std::string(dir) + "/redis-server";
    if (::access(path.c_str(), X_OK) == 0) return path;
  }
  return "";
}

bool accepts_connections(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  ::close(fd);
  return ok;
}

swarm::AnnounceRequest request_for(const Digest& digest, int n) {
  swarm::AnnounceRequest r;
  r.digest = digest;
  r.peer_id = "-FO0001-ring-" + std::to_string(n);
  r.peer_id.resize(20, 'x');
  r.port = static_cast<uint16_t>(9000 + n);
  r.ip = "10.0.0." + std::to_string(n);
  r.left = 100;
  return r;
}

double announces(const std::string& url) {
  return metric(get_body(url, "/metrics"), "fanout_tracker_announces_total");
}

TEST(TrackerRing, AnnouncesGoToTheOwnerAndFailOverToATrackerSharingRedis) {
  std::string redis_binary = find_redis_server();
  if (redis_binary.empty()) GTEST_SKIP() << "redis-server is not installed (Debian: redis-server)";

  TempDir dir("fanout-tracker-ring-");
  uint16_t redis_port = free_port();
  ChildProcess redis("redis-server", redis_binary,
                     {"--port", std::to_string(redis_port), "--bind", "127.0.0.1", "--save", "",
                      "--appendonly", "no", "--dir", dir.path().string()},
                     dir / "redis.log");
  for (int i = 0; i < 500 && !accepts_connections(redis_port); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_TRUE(accepts_connections(redis_port)) << redis.log_tail();

  std::vector<std::string> urls;
  std::vector<std::unique_ptr<ChildProcess>> trackers;
  for (int i = 0; i < 2; ++i) {
    uint16_t port = free_port();
    urls.push_back("http://127.0.0.1:" + std::to_string(port));
    trackers.push_back(std::make_unique<ChildProcess>(
        "fanout-tracker[" + std::to_string(i) + "]", bin("fanout-tracker"),
        std::vector<std::string>{"--listen", "127.0.0.1:" + std::to_string(port), "--set",
                                 "peer_store.type=redis", "--set",
                                 "peer_store.redis=127.0.0.1:" + std::to_string(redis_port)},
        dir / ("tracker" + std::to_string(i) + ".log")));
    ASSERT_TRUE(trackers.back()->wait_healthy(urls.back()));
  }

  tracker_client::RingTrackerClient::Options options;
  options.http.timeout = std::chrono::seconds(2);
  tracker_client::RingTrackerClient client(urls, options);
  Digest blob = Digest::parse("sha256:" + std::string(64, 'a'));
  placement::Ring ring(urls);
  size_t owner = ring.owner(blob) == urls[0] ? 0 : 1;
  size_t other = 1 - owner;

  EXPECT_TRUE(client.announce(request_for(blob, 1)).peers.empty());
  EXPECT_EQ(announces(urls[owner]), 1);
  EXPECT_EQ(announces(urls[other]), 0) << "the announce did not go to the ring owner";

  trackers[owner]->stop();
  swarm::AnnounceResponse answer = client.announce(request_for(blob, 2));
  ASSERT_EQ(answer.peers.size(), 1u) << "the other tracker does not see the swarm in Redis";
  EXPECT_EQ(answer.peers[0].port, 9001);
  EXPECT_EQ(announces(urls[other]), 1);
}

}  // namespace
}  // namespace fanout::test
