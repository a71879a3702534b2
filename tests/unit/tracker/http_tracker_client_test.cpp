// HttpTrackerClient (common/tracker_client/) against the real TrackerServer on loopback, and
// against a misbehaving fake tracker for the error paths.
#include "common/tracker_client/http_tracker_client.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>

#include <memory>
#include <mutex>
#include <thread>

#include "proto/announce.h"
#include "proto/error_body.h"
#include "tests/support/ports.h"
#include "tests/unit/tracker/fakes.h"
#include "tracker/tracker_server.h"

namespace fanout::tracker_client {
namespace {

using ::testing::HasSubstr;
using tracker::testing::FakeOrigin;
using tracker::testing::make_metainfo;
using Kind = TrackerClientError::Kind;

std::string peer_id(int n) {
  std::string id = "-FO0001-" + std::to_string(n);
  id.resize(20, 'c');
  return id;
}

// The error `f` throws, or a failed expectation.
template <typename F>
TrackerClientError error_of(F f) {
  try {
    f();
  } catch (const TrackerClientError& e) {
    return e;
  }
  ADD_FAILURE() << "no TrackerClientError thrown";
  return TrackerClientError(Kind::kBadResponse, 0, "");
}

class HttpTrackerClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    tracker::TrackerConfig config;
    config.listen = {"127.0.0.1", 0};
    config.origins = {origin_.url()};
    config.announce_interval = std::chrono::seconds(7);
    server_ = std::make_unique<tracker::TrackerServer>(config, registry_);
    url_ = "http://127.0.0.1:" + std::to_string(server_->start());
  }

  swarm::AnnounceRequest request_for(const Digest& digest, int n, uint64_t left) {
    swarm::AnnounceRequest r;
    r.digest = digest;
    r.peer_id = peer_id(n);
    r.port = static_cast<uint16_t>(9000 + n);
    r.left = left;
    return r;
  }

  FakeOrigin origin_;
  metrics::Registry registry_;
  std::unique_ptr<tracker::TrackerServer> server_;
  std::string url_;
};

TEST_F(HttpTrackerClientTest, AnnouncesFindPeersOfTheSameBlob) {
  Digest blob = make_metainfo(100, 1).digest;
  HttpTrackerClient seeder(url_);
  HttpTrackerClient leecher(url_ + "/");  // a trailing slash is fine

  swarm::AnnounceRequest s = request_for(blob, 1, 0);
  s.event = "started";
  s.ip = "10.9.8.7";
  swarm::AnnounceResponse r = seeder.announce(s);
  EXPECT_TRUE(r.peers.empty());
  EXPECT_EQ(r.interval, std::chrono::seconds(7));

  r = leecher.announce(request_for(blob, 2, 100));
  ASSERT_EQ(r.peers.size(), 1u);
  EXPECT_EQ(r.peers[0], (swarm::PeerAddress{"10.9.8.7", 9001}));

  r = seeder.announce(s);
  ASSERT_EQ(r.peers.size(), 1u);
  EXPECT_EQ(r.peers[0], (swarm::PeerAddress{"127.0.0.1", 9002}));

  // The client told the tracker which blob this swarm is.
  EXPECT_EQ(server_->swarms().digest_of(blob.info_hash()), blob);

  s.event = "stopped";
  seeder.announce(s);
  EXPECT_TRUE(leecher.announce(request_for(blob, 2, 100)).peers.empty());
}

TEST_F(HttpTrackerClientTest, ARefusedAnnounceSaysWhy) {
  HttpTrackerClient client(url_);
  swarm::AnnounceRequest r = request_for(make_metainfo(100, 2).digest, 1, 0);
  r.peer_id = "too-short";
  TrackerClientError e = error_of([&] { client.announce(r); });
  EXPECT_EQ(e.kind(), Kind::kRefused);
  EXPECT_THAT(e.what(), HasSubstr("\"peer_id\" must be 20 bytes"));
}

TEST_F(HttpTrackerClientTest, BadRequestFieldsAreCallerErrors) {
  HttpTrackerClient client(url_);
  swarm::AnnounceRequest r = request_for(make_metainfo(100, 3).digest, 1, 0);
  r.ip = "agent-7.example.com";
  EXPECT_THROW(client.announce(r), std::invalid_argument);
  r.ip.clear();
  r.event = "finished";
  EXPECT_THROW(client.announce(r), std::invalid_argument);
}

TEST_F(HttpTrackerClientTest, FetchesMetainfoAndTellsNotFoundFromOtherErrors) {
  HttpTrackerClient client(url_);
  proto::Metainfo m = make_metainfo(20'000, 4);
  origin_.serve(m);
  proto::MetainfoWithSignature got = client.fetch_metainfo(m.digest);
  EXPECT_EQ(got.metainfo, m);
  EXPECT_EQ(got.signature, "");  // the origin did not sign

  Digest unknown = make_metainfo(100, 5).digest;
  TrackerClientError e = error_of([&] { client.fetch_metainfo(unknown); });
  EXPECT_EQ(e.kind(), Kind::kNotFound);
  EXPECT_EQ(e.status(), 404);
  EXPECT_THAT(e.what(), HasSubstr(unknown.str()));

  origin_.reply(unknown, {500, proto::encode_error_body({"internal", "disk on fire"})});
  e = error_of([&] { client.fetch_metainfo(unknown); });
  EXPECT_EQ(e.kind(), Kind::kHttpStatus);
  EXPECT_EQ(e.status(), 502);
  EXPECT_THAT(e.what(), HasSubstr("disk on fire"));
}

TEST(HttpTrackerClient, RefusesUrlsItCannotUse) {
  for (const char* url : {"", "localhost:7000", "ftp://host:21", "http://"}) {
    EXPECT_THROW(HttpTrackerClient{url}, std::invalid_argument) << url;
  }
}

TEST(HttpTrackerClient, UnreachableTracker) {
  HttpTrackerClient client("http://127.0.0.1:" + std::to_string(test::free_port()),
                           {std::chrono::seconds(2)});
  Digest blob = make_metainfo(100, 6).digest;
  EXPECT_EQ(error_of([&] { client.fetch_metainfo(blob); }).kind(), Kind::kUnreachable);
  swarm::AnnounceRequest r;
  r.digest = blob;
  r.peer_id = peer_id(1);
  r.port = 1;
  EXPECT_EQ(error_of([&] { client.announce(r); }).kind(), Kind::kUnreachable);
}

// A tracker that answers whatever the test says, under a path prefix.
class FakeTracker {
 public:
  FakeTracker() {
    server_.Get(R"(/prefix/.*)", [this](const httplib::Request& req, httplib::Response& res) {
      std::lock_guard lock(mu_);
      last_target_ = req.target;
      res.status = status_;
      res.set_content(body_, "text/plain");
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~FakeTracker() {
    server_.stop();
    thread_.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/prefix"; }
  void answer(int status, std::string body) {
    std::lock_guard lock(mu_);
    status_ = status;
    body_ = std::move(body);
  }
  std::string last_target() const {
    std::lock_guard lock(mu_);
    return last_target_;
  }

 private:
  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
  mutable std::mutex mu_;
  int status_ = 200;
  std::string body_;
  std::string last_target_;
};

// The tracker needs no key: it keeps the origin's signature beside the cached bytes and hands it
// on unchanged, on the miss that asked the origin and on every hit after it.
TEST_F(HttpTrackerClientTest, PassesTheOriginsSignatureThrough) {
  HttpTrackerClient client(url_);
  proto::MetainfoSigner signer = proto::MetainfoSigner::generate();
  proto::Metainfo m = make_metainfo(20'000, 6);
  origin_.serve(m, signer.sign(m));
  for (int i = 0; i < 2; ++i) {
    proto::MetainfoWithSignature got = client.fetch_metainfo(m.digest);
    EXPECT_EQ(got.metainfo, m);
    EXPECT_EQ(got.signature, signer.sign(m));
    EXPECT_EQ(proto::MetainfoVerifier::of(signer).check(got),
              proto::MetainfoVerifier::Verdict::kValid);
  }
  EXPECT_EQ(origin_.requests(), 1);  // the second answer came from the cache, signature too
}

TEST(HttpTrackerClient, RejectsAnswersItCannotTrust) {
  FakeTracker tracker;
  HttpTrackerClient client(tracker.url());
  proto::Metainfo m = make_metainfo(100, 7);
  proto::Metainfo other = make_metainfo(100, 8);

  tracker.answer(200, other.encode());
  TrackerClientError e = error_of([&] { client.fetch_metainfo(m.digest); });
  EXPECT_EQ(e.kind(), Kind::kBadResponse);
  EXPECT_THAT(e.what(), HasSubstr("got that of " + other.digest.str()));
  EXPECT_EQ(tracker.last_target(), "/prefix/v1/metainfo/" + m.digest.str());

  tracker.answer(200, "garbage");
  EXPECT_EQ(error_of([&] { client.fetch_metainfo(m.digest); }).kind(), Kind::kBadResponse);

  tracker.answer(200, std::string(proto::Metainfo::kMaxEncodedSize + 1, 'x'));
  e = error_of([&] { client.fetch_metainfo(m.digest); });
  EXPECT_EQ(e.kind(), Kind::kBadResponse);
  EXPECT_THAT(e.what(), HasSubstr("larger than"));

  swarm::AnnounceRequest r;
  r.digest = m.digest;
  r.peer_id = peer_id(1);
  r.port = 1;
  tracker.answer(200, "d8:intervali5e5:peers5:abcdee");
  e = error_of([&] { client.announce(r); });
  EXPECT_EQ(e.kind(), Kind::kBadResponse);
  EXPECT_THAT(e.what(), HasSubstr("\"peers\" length"));
  EXPECT_THAT(tracker.last_target(), HasSubstr("/prefix/announce?info_hash="));
  EXPECT_THAT(tracker.last_target(), HasSubstr("&digest=sha256%3A" + m.digest.hex()));

  tracker.answer(503, proto::encode_error_body({"unavailable", "warming up"}));
  e = error_of([&] { client.announce(r); });
  EXPECT_EQ(e.kind(), Kind::kHttpStatus);
  EXPECT_EQ(e.status(), 503);
  EXPECT_THAT(e.what(), HasSubstr("warming up"));

  // An interval of 0 would make the engine re-announce in a tight loop: at least 1 s.
  tracker.answer(200, "d8:intervali0e5:peers6:" + std::string("\x7f\x00\x00\x01\x00\x50", 6) + "e");
  swarm::AnnounceResponse ok = client.announce(r);
  EXPECT_EQ(ok.interval, std::chrono::seconds(1));
  ASSERT_EQ(ok.peers.size(), 1u);
  EXPECT_EQ(ok.peers[0], (swarm::PeerAddress{"127.0.0.1", 80}));
}

}  // namespace
}  // namespace fanout::tracker_client
