// RingTrackerClient (common/tracker_client/): announces routed to the ring-owning tracker of two
// real TrackerServers on loopback, and failover to the next owner when the owner is down.
#include "common/tracker_client/ring_tracker_client.h"

#include <gtest/gtest.h>

#include <memory>
#include <stdexcept>

#include "common/placement/ring.h"
#include "tests/unit/tracker/fakes.h"
#include "tracker/tracker_server.h"

namespace fanout::tracker_client {
namespace {

using tracker::testing::FakeClock;
using tracker::testing::make_metainfo;

std::string peer_id(int n) {
  std::string id = "-FO0001-" + std::to_string(n);
  id.resize(20, 'r');
  return id;
}

swarm::AnnounceRequest request_for(const Digest& digest, int n) {
  swarm::AnnounceRequest r;
  r.digest = digest;
  r.peer_id = peer_id(n);
  r.port = static_cast<uint16_t>(9000 + n);
  r.ip = "10.0.0." + std::to_string(n);
  r.left = 10;
  return r;
}

class RingTrackerClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (int i = 0; i < 2; ++i) {
      tracker::TrackerConfig config;
      config.listen = {"127.0.0.1", 0};
      servers_[i] = std::make_unique<tracker::TrackerServer>(config, registries_[i]);
      urls_[i] = "http://127.0.0.1:" + std::to_string(servers_[i]->start());
    }
  }
  // The server behind `url`.
  tracker::TrackerServer& server(const std::string& url) {
    return *servers_[url == urls_[0] ? 0 : 1];
  }
  RingTrackerClient::Options options() {
    RingTrackerClient::Options o;
    o.http.timeout = std::chrono::seconds(2);
    o.clock = clock_.as_function();
    return o;
  }

  FakeClock clock_;
  metrics::Registry registries_[2];
  std::unique_ptr<tracker::TrackerServer> servers_[2];
  std::string urls_[2];
};

TEST_F(RingTrackerClientTest, AnnouncesGoToTheRingOwnerWhateverTheListOrder) {
  RingTrackerClient a({urls_[0], urls_[1]}, options());
  RingTrackerClient b({urls_[1], urls_[0]}, options());
  placement::Ring ring({urls_[0], urls_[1]});
  int owned_by_first = 0;
  for (uint8_t seed = 1; seed <= 12; ++seed) {
    Digest blob = make_metainfo(64, seed).digest;
    const std::string& owner = ring.owner(blob);
    ASSERT_EQ(a.route(blob).front(), owner);
    ASSERT_EQ(b.route(blob), a.route(blob));
    owned_by_first += owner == urls_[0] ? 1 : 0;

    EXPECT_TRUE(a.announce(request_for(blob, 1)).peers.empty());
    // The second client lists the trackers the other way round and still meets the first peer.
    auto answer = b.announce(request_for(blob, 2));
    ASSERT_EQ(answer.peers.size(), 1u) << "seed " << int(seed);
    EXPECT_EQ(answer.peers[0].port, 9001);
    const std::string& other = owner == urls_[0] ? urls_[1] : urls_[0];
    EXPECT_EQ(server(owner).swarms().scrape(blob.info_hash()).peers.leechers, 2u);
    EXPECT_EQ(server(other).swarms().scrape(blob.info_hash()).peers.leechers, 0u)
        << "the non-owner saw an announce";
  }
  // Twelve digests over two trackers: both own some (a wrong ring would send all to one).
  EXPECT_GT(owned_by_first, 0);
  EXPECT_LT(owned_by_first, 12);
}

TEST_F(RingTrackerClientTest, ADownOwnerFailsOverToTheNextAndIsTriedLastForAWhile) {
  RingTrackerClient client({urls_[0], urls_[1]}, options());
  placement::Ring ring({urls_[0], urls_[1]});
  Digest blob = make_metainfo(64, 1).digest;
  const std::string owner = ring.owner(blob);
  const std::string next = ring.owners(blob, 2)[1];
  server(owner).stop();

  EXPECT_TRUE(client.announce(request_for(blob, 1)).peers.empty());
  EXPECT_EQ(server(next).swarms().scrape(blob.info_hash()).peers.leechers, 1u);
  EXPECT_EQ(client.route(blob), (std::vector<std::string>{next, owner}));
  // Within down_for the dead owner is not asked first: the next announce meets peer 1 at once.
  EXPECT_EQ(client.announce(request_for(blob, 2)).peers.size(), 1u);

  clock_.advance(std::chrono::seconds(11));
  EXPECT_EQ(client.route(blob), (std::vector<std::string>{owner, next}));
}

TEST_F(RingTrackerClientTest, AllTrackersDownIsTheLastTrackersError) {
  RingTrackerClient client({urls_[0], urls_[1]}, options());
  servers_[0]->stop();
  servers_[1]->stop();
  try {
    client.announce(request_for(make_metainfo(64, 1).digest, 1));
    FAIL() << "no error";
  } catch (const TrackerClientError& e) {
    EXPECT_EQ(e.kind(), TrackerClientError::Kind::kUnreachable);
  }
}

TEST_F(RingTrackerClientTest, RefusesABadTrackerList) {
  EXPECT_THROW(RingTrackerClient({}), std::invalid_argument);
  EXPECT_THROW(RingTrackerClient({urls_[0], urls_[0]}), std::invalid_argument);
  EXPECT_THROW(RingTrackerClient({urls_[0], "ftp://x"}), std::invalid_argument);
}

}  // namespace
}  // namespace fanout::tracker_client
