// The tracker's HTTP API for issue 4's additions: locality labels and origins in announces,
// selection metrics, and BEP 48 scrape (including its failure reasons).
#include <gtest/gtest.h>
#include <httplib.h>

#include <cmath>
#include <memory>

#include "proto/announce.h"
#include "tests/support/prometheus.h"
#include "tests/unit/tracker/fakes.h"
#include "tracker/tracker_server.h"

namespace fanout::tracker {
namespace {

const Digest kBlob = Digest::parse("sha256:" + std::string(64, 'a'));

std::string peer_id(int n) {
  std::string id = "-FO0001-" + std::to_string(n);
  id.resize(20, 'x');
  return id;
}

class TrackerLocalityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    config_.listen = {"127.0.0.1", 0};
    config_.origins = {origin_.url()};
    config_.max_num_want = 6;
    config_.default_num_want = 6;
    config_.selection.candidate_pool = 100;
    server_ = std::make_unique<TrackerServer>(config_, registry_, clock_.as_function());
    port_ = server_->start();
  }
  httplib::Result get(const std::string& target) {
    httplib::Client client("127.0.0.1", port_);
    client.set_url_encode(false);
    return client.Get(target.c_str());
  }
  proto::AnnounceRequest request_for(int n, uint64_t left, std::string zone, std::string rack) {
    proto::AnnounceRequest r;
    r.info_hash = kBlob.info_hash();
    r.digest = kBlob;
    r.peer_id = peer_id(n);
    r.port = static_cast<uint16_t>(7000 + n);
    r.left = left;
    r.zone = std::move(zone);
    r.rack = std::move(rack);
    return r;
  }
  proto::AnnounceResponse announce(const proto::AnnounceRequest& r) {
    auto res = get("/announce?" + proto::encode_announce_query(r));
    EXPECT_TRUE(res && res->status == 200);
    return res ? proto::decode_announce_response(res->body) : proto::AnnounceResponse{};
  }
  proto::ScrapeResponse scrape(const std::string& query) {
    auto res = get("/scrape?" + query);
    EXPECT_TRUE(res && res->status == 200);
    return res ? proto::decode_scrape_response(res->body) : proto::ScrapeResponse{};
  }
  double metric(const std::string& name) {
    auto res = get("/metrics");
    return res ? test::metric(res->body, name) : NAN;
  }

  testing::FakeOrigin origin_;
  testing::FakeClock clock_;
  metrics::Registry registry_;
  TrackerConfig config_;
  std::unique_ptr<TrackerServer> server_;
  uint16_t port_ = 0;
};

TEST_F(TrackerLocalityTest, SameRackPeersComeFirstAndOriginsWhileFewSeed) {
  // 4 peers in z1/r1 (ports 7001-7004), 4 in z1/r2, 4 in z2/r1, one origin.
  for (int n = 1; n <= 12; ++n) {
    announce(request_for(n, 100, n <= 8 ? "z1" : "z2", (n <= 4 || n > 8) ? "r1" : "r2"));
  }
  proto::AnnounceRequest o = request_for(50, 0, "z9", "r9");
  o.origin = true;
  announce(o);

  double origin0 = metric("fanout_tracker_selected_origin_total");
  double rack0 = metric("fanout_tracker_selected_same_rack_total");
  double rest0 = metric("fanout_tracker_selected_same_zone_total") +
                 metric("fanout_tracker_selected_other_total");
  proto::AnnounceResponse r = announce(request_for(99, 100, "z1", "r1"));
  ASSERT_EQ(r.failure_reason, "");
  ASSERT_EQ(r.peers.size(), 6u);
  // Order: origin, then the rack (6 - 1 origin = 5 slots, ceil(5/4) = 2 kept outside: 3 rack).
  EXPECT_EQ(r.peers[0].port, 7050);
  for (int i = 1; i <= 3; ++i) {
    EXPECT_GE(r.peers[static_cast<size_t>(i)].port, 7001);
    EXPECT_LE(r.peers[static_cast<size_t>(i)].port, 7004);
  }
  EXPECT_EQ(metric("fanout_tracker_selected_origin_total") - origin0, 1);
  EXPECT_EQ(metric("fanout_tracker_selected_same_rack_total") - rack0, 3);
  EXPECT_EQ(metric("fanout_tracker_selected_same_zone_total") +
                metric("fanout_tracker_selected_other_total") - rest0,
            2);

  // Three agents finish: the origin is no longer handed out.
  for (int n = 1; n <= 3; ++n) announce(request_for(n, 0, "z1", "r1"));
  r = announce(request_for(99, 100, "z1", "r1"));
  for (const auto& p : r.peers) EXPECT_NE(p.port, 7050);
}

TEST_F(TrackerLocalityTest, BadLabelsAndOriginFlagGetAFailureReason) {
  for (const char* bad : {"&zone=a%20b",
                          "&rack="
                          "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
                          "&origin=yes", "&zone=a&zone=b"}) {
    auto res = get("/announce?" + proto::encode_announce_query(request_for(1, 0, "", "")) + bad);
    ASSERT_TRUE(res && res->status == 200) << bad;
    auto decoded = proto::decode_announce_response(res->body);
    EXPECT_NE(decoded.failure_reason, "") << bad;
  }
}

TEST_F(TrackerLocalityTest, ScrapeCountsSeedersLeechersAndCompletions) {
  announce(request_for(1, 100, "", ""));
  auto done = request_for(2, 0, "", "");
  done.event = proto::AnnounceEvent::kCompleted;
  announce(done);
  std::string other(20, 'z');
  proto::ScrapeRequest q{{kBlob.info_hash(), other}};
  proto::ScrapeResponse r = scrape(proto::encode_scrape_query(q));
  ASSERT_EQ(r.failure_reason, "");
  ASSERT_EQ(r.files.size(), 2u);
  EXPECT_EQ(r.files[0].first.size(), 20u);
  for (const auto& [hash, file] : r.files) {
    if (hash == kBlob.info_hash()) {
      EXPECT_EQ(file, (proto::ScrapeFile{1, 1, 1}));
    } else {
      EXPECT_EQ(file, (proto::ScrapeFile{0, 0, 0}));
    }
  }
  // A 32-byte (v2) info-hash scrapes the swarm of its first 20 bytes.
  std::string v2 = std::string(reinterpret_cast<const char*>(kBlob.bytes().data()), 32);
  r = scrape(proto::encode_scrape_query({{v2}}));
  ASSERT_EQ(r.files.size(), 1u);
  EXPECT_EQ(r.files[0].second, (proto::ScrapeFile{1, 1, 1}));
  EXPECT_EQ(metric("fanout_tracker_scrapes_total"), 2);
}

TEST_F(TrackerLocalityTest, MalformedScrapesGetAFailureReason) {
  // (Raw bytes are refused too: see the proto tests; httplib will not send them.)
  for (const char* bad : {"", "info_hash=short", "info_hash=%ZZ", "info_hash=%4"}) {
    proto::ScrapeResponse r = scrape(bad);
    EXPECT_NE(r.failure_reason, "") << bad;
  }
  std::string many;
  for (int i = 0; i < 70; ++i) many += "info_hash=" + std::string(20, 'a' + i % 26) + "&";
  EXPECT_NE(scrape(many).failure_reason, "");
  EXPECT_EQ(metric("fanout_tracker_scrape_failures_total"), 5);
}

}  // namespace
}  // namespace fanout::tracker
