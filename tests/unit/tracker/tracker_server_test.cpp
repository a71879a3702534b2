// The tracker's HTTP API end to end: a real TrackerServer on loopback, spoken to over sockets.
#include "tracker/tracker_server.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>

#include <cmath>
#include <memory>
#include <set>

#include "proto/announce.h"
#include "proto/error_body.h"
#include "tests/support/http.h"
#include "tests/support/prometheus.h"
#include "tests/unit/tracker/fakes.h"

namespace fanout::tracker {
namespace {

using testing::FakeClock;
using testing::FakeOrigin;
using ::testing::HasSubstr;
using testing::make_metainfo;

const Digest kBlob = Digest::parse("sha256:" + std::string(64, 'e'));

std::string peer_id(int n) {
  std::string id = "-FO0001-" + std::to_string(n);
  id.resize(20, 'x');
  return id;
}

class TrackerServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    config_.listen = {"127.0.0.1", 0};
    config_.origins = {origin_.url()};
    config_.announce_interval = std::chrono::seconds(6);
    config_.peer_ttl = std::chrono::seconds(30);
    config_.default_num_want = 3;
    config_.max_num_want = 5;
    server_ = std::make_unique<TrackerServer>(config_, registry_, clock_.as_function());
    port_ = server_->start();
  }

  // GET exactly `target`: no client-side re-encoding, so tests can send broken escapes.
  httplib::Result get(const std::string& target) {
    httplib::Client client("127.0.0.1", port_);
    client.set_url_encode(false);
    client.set_read_timeout(std::chrono::seconds(10));
    return client.Get(target.c_str());
  }

  proto::AnnounceRequest request_for(int n, uint64_t left) {
    proto::AnnounceRequest r;
    r.info_hash = kBlob.info_hash();
    r.digest = kBlob;
    r.peer_id = peer_id(n);
    r.port = static_cast<uint16_t>(7000 + n);
    r.left = left;
    return r;
  }

  // Announces with this raw query; expects HTTP 200 and a bencoded answer.
  proto::AnnounceResponse announce_raw(const std::string& query) {
    httplib::Result res = get("/announce?" + query);
    EXPECT_TRUE(res && res->status == 200) << test::describe(res);
    if (!res) return {};
    return proto::decode_announce_response(res->body);
  }
  proto::AnnounceResponse announce(const proto::AnnounceRequest& r) {
    return announce_raw(proto::encode_announce_query(r));
  }

  double metric(const std::string& name) {
    httplib::Result res = get("/metrics");
    return res ? test::metric(res->body, name) : NAN;
  }

  FakeOrigin origin_;
  FakeClock clock_;
  metrics::Registry registry_;
  TrackerConfig config_;
  std::unique_ptr<TrackerServer> server_;
  uint16_t port_ = 0;
};

TEST_F(TrackerServerTest, PeersOfOneBlobFindEachOther) {
  proto::AnnounceRequest a = request_for(1, 1000);
  a.event = proto::AnnounceEvent::kStarted;
  proto::AnnounceResponse r = announce(a);
  EXPECT_EQ(r.failure_reason, "");
  EXPECT_TRUE(r.peers.empty());
  EXPECT_EQ(r.incomplete, 1u);
  EXPECT_EQ(r.complete, 0u);
  EXPECT_EQ(r.interval, std::chrono::seconds(6));
  EXPECT_EQ(r.min_interval, std::chrono::seconds(3));

  // B gives an explicit address; A was seen at the connection's source address.
  proto::AnnounceRequest b = request_for(2, 0);
  b.ip = proto::IpAddress::parse("10.1.1.2");
  r = announce(b);
  ASSERT_EQ(r.peers.size(), 1u);
  EXPECT_EQ(r.peers[0].ip.str(), "127.0.0.1");
  EXPECT_EQ(r.peers[0].port, 7001);
  EXPECT_EQ(r.complete, 1u);
  EXPECT_EQ(r.incomplete, 1u);

  r = announce(a);
  ASSERT_EQ(r.peers.size(), 1u);
  EXPECT_EQ(r.peers[0].ip.str(), "10.1.1.2");
  EXPECT_EQ(r.peers[0].port, 7002);

  b.event = proto::AnnounceEvent::kStopped;
  r = announce(b);
  EXPECT_TRUE(r.peers.empty());
  EXPECT_EQ(r.complete, 0u);
  EXPECT_EQ(r.incomplete, 1u);

  EXPECT_EQ(server_->swarms().digest_of(kBlob.info_hash()), kBlob);
  EXPECT_EQ(metric("fanout_tracker_announces_total"), 4);
  EXPECT_EQ(metric("fanout_tracker_announce_failures_total"), 0);
  EXPECT_EQ(metric("fanout_tracker_swarms"), 1);
  EXPECT_EQ(metric("fanout_tracker_peers"), 1);
}

TEST_F(TrackerServerTest, Ipv6PeersComeBackInPeers6) {
  proto::AnnounceRequest a = request_for(1, 0);
  a.ip = proto::IpAddress::parse("2001:db8::5");
  announce(a);
  httplib::Result res = get("/announce?" + proto::encode_announce_query(request_for(2, 9)));
  ASSERT_TRUE(res && res->status == 200);
  EXPECT_THAT(res->body, HasSubstr("6:peers618:"));
  proto::AnnounceResponse r = proto::decode_announce_response(res->body);
  ASSERT_EQ(r.peers.size(), 1u);
  EXPECT_EQ(r.peers[0].ip.str(), "2001:db8::5");
  EXPECT_EQ(r.peers[0].port, 7001);
}

TEST_F(TrackerServerTest, NumwantIsCappedAndDefaulted) {
  for (int i = 0; i < 10; ++i) announce(request_for(i, 0));
  proto::AnnounceRequest me = request_for(100, 5);
  EXPECT_EQ(announce(me).peers.size(), 3u);  // default_num_want
  me.num_want = 100;
  EXPECT_EQ(announce(me).peers.size(), 5u);  // max_num_want
  me.num_want = 2;
  EXPECT_EQ(announce(me).peers.size(), 2u);
  me.num_want = 0;
  EXPECT_EQ(announce(me).peers.size(), 0u);
}

TEST_F(TrackerServerTest, NonCompactAnswersCarryPeerIdsUnlessRefused) {
  announce(request_for(1, 0));
  proto::AnnounceRequest me = request_for(2, 5);
  me.compact = false;
  proto::AnnounceResponse r = announce(me);
  ASSERT_EQ(r.peers.size(), 1u);
  EXPECT_EQ(r.peers[0].peer_id, peer_id(1));
  me.no_peer_id = true;
  r = announce(me);
  ASSERT_EQ(r.peers.size(), 1u);
  EXPECT_EQ(r.peers[0].peer_id, "");
  EXPECT_EQ(r.peers[0].port, 7001);
}

TEST_F(TrackerServerTest, MalformedAnnouncesGetAFailureReasonNeverAnHttpError) {
  const std::string hash = "info_hash=" + proto::percent_encode(kBlob.info_hash());
  const std::string peer = "&peer_id=" + peer_id(1);
  const std::string ok = hash + peer + "&port=7001&left=0";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", "missing \"info_hash\""},
      {peer + "&port=1&left=0", "missing \"info_hash\""},
      {hash + "&port=1&left=0", "missing \"peer_id\""},
      {hash + peer + "&left=0", "missing \"port\""},
      {hash + peer + "&port=1", "missing \"left\""},
      {"info_hash=" + std::string(19, 'h') + peer + "&port=1&left=0", "must be 20 or 32 bytes"},
      {"info_hash=" + std::string(21, 'h') + peer + "&port=1&left=0", "must be 20 or 32 bytes"},
      {hash + "&peer_id=short&port=1&left=0", "\"peer_id\" must be 20 bytes"},
      {hash + peer + "&port=0&left=0", "\"port\" must be"},
      {hash + peer + "&port=99999&left=0", "\"port\" must be"},
      {hash + peer + "&port=1&left=99999999999999999999999", "\"left\" must be"},
      {hash + peer + "&port=1&left=9223372036854775808", "\"left\" must be"},
      {ok + "&uploaded=-1", "\"uploaded\" must be"},
      {ok + "&numwant=99999999999", "\"numwant\" must be"},
      {"info_hash=%zz" + peer + "&port=1&left=0", "bad percent-encoding in \"info_hash\""},
      {hash + peer + "&port=1&left=0&key=%4", "bad percent-encoding in \"key\""},
      {ok + "&event=finished", "\"event\" must be"},
      {ok + "&ip=example.com", "\"ip\" must be an IPv4 or IPv6 address"},
      {ok + "&digest=sha256%3A" + std::string(64, 'f'), "\"digest\" does not match"},
      {ok + "&port=2", "\"port\" given more than once"},
  };
  for (const auto& [query, expected] : cases) {
    httplib::Result res = get("/announce" + (query.empty() ? "" : "?" + query));
    ASSERT_TRUE(res) << query;
    EXPECT_EQ(res->status, 200) << query;
    proto::AnnounceResponse r = proto::decode_announce_response(res->body);
    EXPECT_THAT(r.failure_reason, HasSubstr(expected)) << query;
  }
  EXPECT_EQ(metric("fanout_tracker_announces_total"), cases.size());
  EXPECT_EQ(metric("fanout_tracker_announce_failures_total"), cases.size());
  EXPECT_EQ(metric("fanout_tracker_peers"), 0);
  EXPECT_EQ(server_->swarms().swarm_count(), 0u);
}

TEST_F(TrackerServerTest, RawPlusInTheInfoHashIsTheByteNotASpace) {
  // Every byte of this digest is 0x2B ('+'): a form-style decoder would read 20 spaces.
  Digest plus = Digest::parse("sha256:" + [] {
    std::string hex;
    for (int i = 0; i < 32; ++i) hex += "2b";
    return hex;
  }());
  std::string query = "info_hash=" + std::string(20, '+') + "&peer_id=" + peer_id(1) +
                      "&port=7001&left=0&digest=" + proto::percent_encode(plus.str());
  proto::AnnounceResponse r = announce_raw(query);
  EXPECT_EQ(r.failure_reason, "");
  EXPECT_EQ(r.complete, 1u);
  EXPECT_EQ(server_->swarms().digest_of(std::string(20, '+')), plus);
}

TEST_F(TrackerServerTest, A32ByteInfoHashJoinsTheTruncatedSwarm) {
  proto::AnnounceRequest v2 = request_for(1, 0);
  v2.digest.reset();
  v2.info_hash = std::string(kBlob.bytes().begin(), kBlob.bytes().end());
  ASSERT_EQ(v2.info_hash.size(), 32u);
  announce(v2);
  proto::AnnounceResponse r = announce(request_for(2, 10));
  ASSERT_EQ(r.peers.size(), 1u);
  EXPECT_EQ(r.peers[0].port, 7001);
}

TEST_F(TrackerServerTest, SilentPeersExpire) {
  announce(request_for(1, 0));
  clock_.advance(std::chrono::seconds(20));
  announce(request_for(2, 0));
  clock_.advance(std::chrono::seconds(11));  // peer 1 silent for 31 s > 30 s TTL
  proto::AnnounceResponse r = announce(request_for(3, 10));
  std::set<uint16_t> ports;
  for (const auto& p : r.peers) ports.insert(p.port);
  EXPECT_EQ(ports, (std::set<uint16_t>{7002}));
  EXPECT_EQ(r.complete, 1u);
  EXPECT_EQ(r.incomplete, 1u);
  EXPECT_EQ(metric("fanout_tracker_peers"), 2);
}

TEST_F(TrackerServerTest, ServesMetainfoFromTheOriginThenFromItsCache) {
  proto::Metainfo m = make_metainfo(9'000, 1);
  origin_.serve(m);
  for (int i = 0; i < 3; ++i) {
    httplib::Result res = get("/v1/metainfo/" + m.digest.str());
    ASSERT_TRUE(res && res->status == 200) << test::describe(res);
    EXPECT_EQ(res->get_header_value("Content-Type"), "application/octet-stream");
    EXPECT_EQ(res->body, m.encode());
  }
  EXPECT_EQ(origin_.requests(), 1);
  EXPECT_EQ(metric("fanout_tracker_metainfo_fetches_total"), 1);
  EXPECT_EQ(metric("fanout_tracker_metainfo_cache_hits_total"), 2);
}

TEST_F(TrackerServerTest, MetainfoErrorsAreJson) {
  httplib::Result res = get("/v1/metainfo/sha256:XYZ");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 400);
  EXPECT_EQ(proto::decode_error_body(res->body).error, "invalid_digest");

  proto::Metainfo unknown = make_metainfo(100, 2);
  res = get("/v1/metainfo/" + unknown.digest.str());
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 404);
  EXPECT_EQ(proto::decode_error_body(res->body).error, "not_found");

  origin_.reply(unknown.digest, {500, proto::encode_error_body({"internal", "disk on fire"})});
  res = get("/v1/metainfo/" + unknown.digest.str());
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 502);
  proto::ErrorBody body = proto::decode_error_body(res->body);
  EXPECT_EQ(body.error, "origin_failed");
  EXPECT_THAT(body.detail, HasSubstr("disk on fire"));
}

TEST(TrackerServerLimits, TooManySwarmsIsAFailureReason) {
  FakeOrigin origin;
  metrics::Registry registry;
  TrackerConfig config;
  config.listen = {"127.0.0.1", 0};
  config.origins = {origin.url()};
  config.max_swarms = 1;
  TrackerServer server(config, registry);
  uint16_t port = server.start();
  httplib::Client client("127.0.0.1", port);
  auto query = [](char fill) {
    return "/announce?info_hash=" + std::string(20, fill) + "&peer_id=" + peer_id(1) +
           "&port=1&left=0";
  };
  auto first = client.Get(query('a').c_str());
  ASSERT_TRUE(first && first->status == 200);
  EXPECT_EQ(proto::decode_announce_response(first->body).failure_reason, "");
  auto second = client.Get(query('b').c_str());
  ASSERT_TRUE(second && second->status == 200);
  EXPECT_THAT(proto::decode_announce_response(second->body).failure_reason, HasSubstr("1 swarms"));
}

}  // namespace
}  // namespace fanout::tracker
