// The peer engine end to end inside one process: real sockets on loopback, real files.
#include "common/swarm/engine.h"

#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <thread>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>

#include "common/digest/sha256.h"
#include "proto/metainfo.h"
#include "proto/peer_wire.h"
#include "tests/support/eventually.h"
#include "tests/support/random_blob.h"
#include "tests/support/temp_dir.h"

namespace fanout::swarm {
namespace {

using namespace std::chrono_literals;

proto::Metainfo metainfo_of(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  proto::MetainfoBuilder builder(std::filesystem::file_size(file));
  std::vector<char> buf(1 << 20);
  while (in.read(buf.data(), buf.size()) || in.gcount() > 0) builder.update(buf.data(), in.gcount());
  return builder.finish();
}

// One node: an engine, its metrics, and (for leechers) its own CAS.
struct Node {
  explicit Node(const std::filesystem::path& dir, bool origin = false)
      : store(dir), engine(settings(origin), nullptr, engine_metrics) {
    engine.start();
  }
  static Settings settings(bool origin) {
    Settings s;
    s.listen_host = "127.0.0.1";
    s.threads = 2;
    s.is_origin = origin;
    s.peer_timeout = 5s;
    return s;
  }
  PeerAddress address() const { return {"127.0.0.1", engine.listen_port()}; }

  metrics::Registry registry;
  EngineMetrics engine_metrics{registry, "test"};
  BlobStore store;
  Engine engine;
};

using test::eventually;

TEST(EngineTest, LeecherFetchesFromOneSeedAndVerifiesEveryByte) {
  test::TempDir dir;
  Digest digest = test::write_random_file(dir / "blob", 10 * (1 << 20) + 12345);
  auto info = metainfo_of(dir / "blob");
  ASSERT_EQ(info.digest, digest);

  Node seed(dir / "seed");
  seed.engine.seed(info, dir / "blob");
  Node leecher(dir / "leecher");
  auto result = leecher.engine.fetch(info, leecher.store);
  leecher.engine.add_peers(digest, {seed.address()});

  ASSERT_EQ(result.wait_for(30s), std::future_status::ready);
  FetchResult r = result.get();
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.path, leecher.store.path_of(digest));
  EXPECT_EQ(Sha256::of_file(r.path), digest);
  EXPECT_EQ(r.stats.bytes_from_peers, info.size);
  EXPECT_EQ(seed.engine_metrics.bytes_to_peers.value(), info.size);
}

TEST(EngineTest, BadPieceIsRefusedPeerBannedAndBlobCompletesFromAnotherPeer) {
  test::TempDir dir;
  Digest digest = test::write_random_file(dir / "blob", 6 * (4 << 20));
  auto info = metainfo_of(dir / "blob");
  // The liar serves the same metainfo but every piece has one flipped byte.
  std::filesystem::copy_file(dir / "blob", dir / "bad");
  {
    std::fstream f(dir / "bad", std::ios::in | std::ios::out | std::ios::binary);
    for (uint32_t i = 0; i < info.piece_count(); ++i) {
      f.seekg(info.piece_offset(i) + 100);
      char c = static_cast<char>(f.get());
      f.seekp(info.piece_offset(i) + 100);
      f.put(static_cast<char>(c ^ 0x5a));
    }
  }

  Node liar(dir / "liar");
  liar.engine.seed(info, dir / "bad");
  Node honest(dir / "honest");
  honest.engine.seed(info, dir / "blob");
  Node leecher(dir / "leecher");
  auto result = leecher.engine.fetch(info, leecher.store);

  // Only the liar at first, so it is certainly asked for pieces.
  leecher.engine.add_peers(digest, {liar.address()});
  ASSERT_TRUE(eventually([&] { return leecher.engine.stats(digest)->peers_banned == 1; }));
  auto stats = *leecher.engine.stats(digest);
  EXPECT_GE(stats.pieces_failed, 1u);
  EXPECT_EQ(stats.pieces_done, 0u) << "a corrupt piece was accepted";
  EXPECT_EQ(leecher.engine_metrics.peers_banned.value(), 1u);

  leecher.engine.add_peers(digest, {honest.address(), liar.address()});
  ASSERT_EQ(result.wait_for(30s), std::future_status::ready);
  FetchResult r = result.get();
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(Sha256::of_file(leecher.store.path_of(digest)), digest);
  EXPECT_EQ(r.stats.peers_banned, 1u);
  // The banned liar was never asked again: everything came from the honest seed.
  EXPECT_EQ(honest.engine_metrics.bytes_to_peers.value(), info.size);
}

TEST(EngineTest, FourLeechersShareSoTheOriginUploadsAboutOneCopy) {
  test::TempDir dir;
  Digest digest = test::write_random_file(dir / "blob", 16 * (4 << 20));
  auto info = metainfo_of(dir / "blob");

  Node origin(dir / "origin", /*origin=*/true);
  origin.engine.seed(info, dir / "blob");
  std::vector<std::unique_ptr<Node>> leechers;
  std::vector<PeerAddress> everyone{origin.address()};
  for (int i = 0; i < 4; ++i) {
    leechers.push_back(std::make_unique<Node>(dir / ("leecher" + std::to_string(i))));
    everyone.push_back(leechers.back()->address());
  }
  std::vector<std::shared_future<FetchResult>> results;
  for (auto& n : leechers) results.push_back(n->engine.fetch(info, n->store));
  for (auto& n : leechers) n->engine.add_peers(digest, everyone);

  uint64_t shared = 0;
  for (size_t i = 0; i < results.size(); ++i) {
    ASSERT_EQ(results[i].wait_for(60s), std::future_status::ready);
    FetchResult r = results[i].get();
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_EQ(Sha256::of_file(r.path), digest);
    EXPECT_EQ(r.stats.bytes_from_peers + r.stats.bytes_from_origins, info.size);
    shared += r.stats.bytes_from_peers;
  }
  double origin_copies = double(origin.engine_metrics.bytes_to_peers.value()) / info.size;
  EXPECT_LT(origin_copies, 2.0);
  EXPECT_GE(origin_copies, 1.0);
  EXPECT_GT(shared, 0u) << "leechers never traded pieces with each other";
}

}  // namespace
}  // namespace fanout::swarm

namespace fanout::swarm {
namespace {

// A hand-written client that speaks the wire protocol badly.
struct RawClient {
  boost::asio::io_context io;
  boost::asio::ip::tcp::socket socket{io};
  explicit RawClient(uint16_t port) {
    socket.connect({boost::asio::ip::make_address("127.0.0.1"), port});
  }
  void send(const std::string& bytes) { boost::asio::write(socket, boost::asio::buffer(bytes)); }
  // Reads until the engine closes the connection; returns everything it sent.
  std::string read_until_closed() {
    std::string all;
    boost::system::error_code ec;
    char buf[4096];
    for (;;) {
      size_t n = socket.read_some(boost::asio::buffer(buf), ec);
      if (ec) break;
      all.append(buf, n);
    }
    return all;
  }
};

proto::wire::Hello hello_for(const proto::Metainfo& info) {
  proto::wire::Hello h;
  h.peer_id.fill(9);
  h.digest = info.digest;
  h.bitfield.assign(proto::wire::bitfield_bytes(info.piece_count()), 0);
  return h;
}

TEST(EngineAbuseTest, OversizedFramesAndBadRequestsCloseTheConnectionOnly) {
  test::TempDir dir;
  Digest digest = test::write_random_file(dir / "blob", 5 << 20);
  auto info = metainfo_of(dir / "blob");
  Node seed(dir / "seed");
  seed.engine.seed(info, dir / "blob");
  uint16_t port = seed.engine.listen_port();

  {  // A 4 GiB frame length: refused from the header alone.
    RawClient c(port);
    c.send(proto::wire::encode(hello_for(info)));
    c.send(std::string("\xff\xff\xff\xff\x01\x04", 6));
    std::string got = c.read_until_closed();
    EXPECT_NE(got.find("exceeds the bound"), std::string::npos);
  }
  {  // A REQUEST past the end of the blob.
    RawClient c(port);
    c.send(proto::wire::encode(hello_for(info)));
    c.send(proto::wire::encode_request({7, 0, 1024}));
    EXPECT_NE(c.read_until_closed().find("out of range"), std::string::npos);
  }
  {  // HELLO for a blob this node does not have.
    RawClient c(port);
    auto h = hello_for(info);
    h.digest = Sha256::of("something else");
    c.send(proto::wire::encode(h));
    EXPECT_NE(c.read_until_closed().find("no such blob"), std::string::npos);
  }
  // The engine still serves honest peers.
  Node leecher(dir / "leecher");
  auto result = leecher.engine.fetch(info, leecher.store);
  leecher.engine.add_peers(digest, {seed.address()});
  ASSERT_EQ(result.wait_for(30s), std::future_status::ready);
  EXPECT_TRUE(result.get().ok);
}

}  // namespace
}  // namespace fanout::swarm
