// Rate limits, streaming (prioritised) reads and the HTTP fallback of the peer engine.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <fstream>
#include <functional>
#include <mutex>
#include <set>
#include <thread>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>

#include "common/digest/sha256.h"
#include "common/store/file_io.h"
#include "common/swarm/engine.h"
#include "proto/peer_wire.h"
#include "common/swarm/token_bucket.h"
#include "proto/metainfo.h"
#include "tests/support/eventually.h"
#include "tests/support/random_blob.h"
#include "tests/support/temp_dir.h"

namespace fanout::swarm {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

proto::Metainfo metainfo_of(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  proto::MetainfoBuilder builder(std::filesystem::file_size(file));
  std::vector<char> buf(1 << 20);
  while (in.read(buf.data(), buf.size()) || in.gcount() > 0) builder.update(buf.data(), in.gcount());
  return builder.finish();
}

// Serves ranges of a local file, like an origin's HTTP endpoint; can be told to lie.
class FileRangeSource : public RangeSource {
 public:
  explicit FileRangeSource(std::filesystem::path file) : file_(std::move(file)) {}
  void read(const Digest&, uint64_t offset, uint32_t length, uint8_t* out) override {
    std::ifstream in(file_, std::ios::binary);
    in.seekg(static_cast<std::streamoff>(offset));
    in.read(reinterpret_cast<char*>(out), length);
    if (in.gcount() != length) throw std::runtime_error("short read");
    if (corrupt) out[0] ^= 1;
    calls++;
  }
  std::atomic<bool> corrupt{false};
  std::atomic<int> calls{0};

 private:
  std::filesystem::path file_;
};

struct Node {
  Node(const std::filesystem::path& dir, Settings s, std::shared_ptr<RangeSource> fallback = nullptr)
      : store(dir), engine(std::move(s), nullptr, em, std::move(fallback)) {
    engine.start();
  }
  PeerAddress address() const { return {"127.0.0.1", engine.listen_port()}; }
  metrics::Registry registry;
  EngineMetrics em{registry, "test"};
  BlobStore store;
  Engine engine;
};

Settings local() {
  Settings s;
  s.listen_host = "127.0.0.1";
  s.threads = 2;
  return s;
}

TEST(TokenBucketTest, UnlimitedNeverWaitsAndLimitedPacesToTheRate) {
  TokenBucket unlimited(0);
  EXPECT_EQ(unlimited.reserve(1ull << 40).count(), 0);
  TokenBucket bucket(10 << 20, 1 << 20);  // 10 MiB/s, burst 1 MiB
  EXPECT_EQ(bucket.reserve(1 << 20).count(), 0) << "the burst is free";
  auto wait = bucket.reserve(5 << 20);
  EXPECT_NEAR(std::chrono::duration<double>(wait).count(), 0.5, 0.05);
}

TEST(EngineFeaturesTest, EgressLimitPacesTheSeed) {
  test::TempDir dir;
  Digest digest = test::write_random_file(dir / "blob", 12 << 20);
  auto info = metainfo_of(dir / "blob");
  Settings seed_settings = local();
  seed_settings.egress_bytes_per_sec = 8 << 20;  // 12 MiB at 8 MiB/s: about 1.4 s after the burst
  Node seed(dir / "seed", seed_settings);
  seed.engine.seed(info, dir / "blob");
  Node leecher(dir / "leecher", local());
  auto start = Clock::now();
  auto result = leecher.engine.fetch(info, leecher.store);
  leecher.engine.add_peers(digest, {seed.address()});
  ASSERT_EQ(result.wait_for(30s), std::future_status::ready);
  ASSERT_TRUE(result.get().ok);
  double secs = std::chrono::duration<double>(Clock::now() - start).count();
  EXPECT_GT(secs, 1.0) << "the egress cap did not hold";
  EXPECT_LT(secs, 6.0);
}

// One upload slot: the seed serves its three leechers a piece at a time, handing the slot on
// after every piece (and when a connection goes away), and every leecher still gets every byte.
TEST(EngineFeaturesTest, OneUploadSlotStillServesEveryLeecher) {
  test::TempDir dir;
  Digest digest = test::write_random_file(dir / "blob", 24 << 20);
  auto info = metainfo_of(dir / "blob");
  Settings seed_settings = local();
  seed_settings.upload_slots = 1;
  seed_settings.egress_bytes_per_sec = 64 << 20;  // so requests really queue behind the slot
  Node seed(dir / "seed", seed_settings);
  seed.engine.seed(info, dir / "blob");
  std::vector<std::unique_ptr<Node>> leechers;
  std::vector<std::shared_future<FetchResult>> results;
  for (int i = 0; i < 3; ++i) {
    leechers.push_back(std::make_unique<Node>(dir / ("leecher" + std::to_string(i)), local()));
    results.push_back(leechers.back()->engine.fetch(info, leechers.back()->store));
  }
  for (auto& n : leechers) n->engine.add_peers(digest, {seed.address()});  // the seed alone
  for (auto& r : results) {
    ASSERT_EQ(r.wait_for(30s), std::future_status::ready);
    FetchResult got = r.get();
    ASSERT_TRUE(got.ok) << got.error;
    EXPECT_EQ(Sha256::of_file(got.path), digest);
  }
  EXPECT_EQ(seed.em.bytes_to_peers.value(), 3 * info.size);
}

// seed -> relay -> far leecher: the far leecher knows only the relay, which fetches from the seed.
// The seed's upload is capped so the far leecher follows the relay rather than waiting on it.
struct RelayChain {
  RelayChain(const std::filesystem::path& dir, uint64_t size, const Settings& settings,
             const Settings& relay_settings)
      : digest(test::write_random_file(dir / "blob", size)),
        info(metainfo_of(dir / "blob")),
        seed(dir / "seed", capped(settings)),
        relay(dir / "relay", relay_settings),
        far(dir / "far", settings) {
    seed.engine.seed(info, dir / "blob");
  }
  static Settings capped(Settings s) {
    s.egress_bytes_per_sec = 32 << 20;
    return s;
  }
  // Both fetches complete with every byte right.
  void run() {
    auto relayed = relay.engine.fetch(info, relay.store);
    auto result = far.engine.fetch(info, far.store);
    relay.engine.add_peers(digest, {seed.address()});
    far.engine.add_peers(digest, {relay.address()});
    for (auto* r : {&relayed, &result}) {
      ASSERT_EQ(r->wait_for(30s), std::future_status::ready);
      FetchResult got = r->get();
      ASSERT_TRUE(got.ok) << got.error;
      EXPECT_EQ(Sha256::of_file(got.path), digest);
    }
    EXPECT_GE(relay.em.bytes_to_peers.value(), info.size) << "the far leecher knows only the relay";
  }
  Digest digest;
  proto::Metainfo info;
  Node seed, relay, far;
};

// A relay node passes on what it fetched: with pieces kept in memory every block it serves
// comes from the verified buffer it received (no disk read), and without, all from disk. The far
// leecher gets the same bytes either way.
TEST(EngineFeaturesTest, ARelayServesVerifiedPiecesFromMemory) {
  for (uint64_t hot : {uint64_t{64} << 20, uint64_t{0}}) {
    SCOPED_TRACE("hot_piece_bytes " + std::to_string(hot));
    test::TempDir dir;
    Settings relay_settings = local();
    relay_settings.hot_piece_bytes = hot;
    RelayChain chain(dir.path(), 24 << 20, local(), relay_settings);
    ASSERT_NO_FATAL_FAILURE(chain.run());
    const EngineMetrics& relay = chain.relay.em;
    if (hot > 0) {
      EXPECT_EQ(relay.bytes_to_peers_from_memory.value(), relay.bytes_to_peers.value())
          << "the whole blob fits in memory: no block should have come from disk";
    } else {
      EXPECT_EQ(relay.bytes_to_peers_from_memory.value(), 0u);
    }
  }
}

// Blocks served from disk are spliced (zero-copy: read on the read pool or on the event loop) or
// copied through a buffer; either way a seed (its blob file) and a relay (its partial file,
// written around the page cache) deliver every byte, the blob's last block ending inside a page.
// The counter says which way they went.
TEST(EngineFeaturesTest, ZeroCopyAndCopiedUploadsDeliverTheSameBytes) {
  for (auto [zero_copy, read_threads] : {std::pair{true, 2u}, {true, 0u}, {false, 2u}}) {
    SCOPED_TRACE(zero_copy ? "zero-copy uploads, read threads " + std::to_string(read_threads)
                           : "copied uploads");
    test::TempDir dir;
    Settings settings = local();
    settings.zero_copy_uploads = zero_copy;
    settings.read_threads = read_threads;
    RelayChain chain(dir.path(), (12 << 20) + 12345, settings, settings);
    ASSERT_NO_FATAL_FAILURE(chain.run());
    for (Node* n : {&chain.seed, &chain.relay}) {
      EXPECT_EQ(n->em.bytes_to_peers_zero_copy.value(),
                zero_copy ? n->em.bytes_to_peers.value() : 0u);
    }
  }
}

// A peer that asks for blocks and stops reading leaves bytes in its pipe when it goes away. That
// pipe must be closed, not reused: the next peer gets every byte right.
TEST(EngineFeaturesTest, APeerGoneMidBlockLeavesNoBytesForTheNext) {
  test::TempDir dir;
  Digest digest = test::write_random_file(dir / "blob", 8 << 20);
  auto info = metainfo_of(dir / "blob");
  Node seed(dir / "seed", local());
  seed.engine.seed(info, dir / "blob");
  {
    boost::asio::io_context io;
    boost::asio::ip::tcp::socket socket(io);
    socket.open(boost::asio::ip::tcp::v4());
    socket.set_option(boost::asio::socket_base::receive_buffer_size(16 << 10));  // fills at once
    socket.connect({boost::asio::ip::make_address("127.0.0.1"), seed.engine.listen_port()});
    proto::wire::Hello hello;
    hello.peer_id.fill(7);
    hello.digest = info.digest;
    hello.bitfield.assign(proto::wire::bitfield_bytes(info.piece_count()), 0);
    std::string frames = proto::wire::encode(hello);
    for (uint32_t i = 0; i < info.piece_count(); ++i) {
      frames += proto::wire::encode_request({i, 0, static_cast<uint32_t>(info.piece_length)});
    }
    boost::asio::write(socket, boost::asio::buffer(frames));
    // Both blocks in flight are being spliced, and the socket is full: the pipe holds the rest.
    auto started = [&] { return seed.em.bytes_to_peers_zero_copy.value() >= 2u << 20; };
    ASSERT_TRUE(test::eventually(started, 10s, 10ms))
        << "the seed never started the blocks";
    std::this_thread::sleep_for(100ms);
  }  // closed with unread bytes: the seed's next splice or read fails
  Node leecher(dir / "leecher", local());
  auto result = leecher.engine.fetch(info, leecher.store);
  leecher.engine.add_peers(digest, {seed.address()});
  ASSERT_EQ(result.wait_for(30s), std::future_status::ready);
  FetchResult got = result.get();
  ASSERT_TRUE(got.ok) << got.error;
  EXPECT_EQ(Sha256::of_file(got.path), digest);
  EXPECT_EQ(leecher.em.pieces_failed.value(), 0u) << "a reused pipe handed over stale bytes";
}

// One piece in flight at a time, and the slow seed was asked first: once its pieces arrive
// the free place goes to the fast seed (untried ranks first, then measured speed), not back to
// the peer that just delivered (which would have fetched all twenty at 1 MiB/s).
// A hand-written peer that has the pieces `has` says (all by default) and sends each block it is
// asked for in fragments with pauses between them, so a receiver that waits for a batch of bytes
// (swarm.receive_batch) sees blocks whose rest is smaller than the batch, often already there
// when it starts waiting. It records the HAVEs and BYEs it gets.
class TricklingSeed {
 public:
  TricklingSeed(const proto::Metainfo& info, std::filesystem::path blob,
                std::function<bool(uint32_t)> has = [](uint32_t) { return true; })
      : info_(info), blob_(std::move(blob)), has_(std::move(has)) {
    acceptor_.open(boost::asio::ip::tcp::v4());
    acceptor_.bind({boost::asio::ip::make_address("127.0.0.1"), 0});
    acceptor_.listen();
    thread_ = std::thread([this] { serve(); });
  }
  ~TricklingSeed() {
    boost::system::error_code ec;
    acceptor_.close(ec);
    socket_.shutdown(boost::asio::ip::tcp::socket::shutdown_both, ec);
    thread_.join();
  }
  PeerAddress address() const { return {"127.0.0.1", acceptor_.local_endpoint().port()}; }
  std::set<uint32_t> haves() {
    std::lock_guard lock(mu_);
    return {order_.begin(), order_.end()};
  }
  std::vector<uint32_t> have_order() {
    std::lock_guard lock(mu_);
    return order_;
  }
  // Tells the node it now has these pieces too (from the test's thread; the peer's own thread
  // only reads meanwhile).
  void send_haves(const std::vector<uint32_t>& pieces) {
    std::string frames;
    for (uint32_t i : pieces) frames += proto::wire::encode(proto::wire::Have{i});
    send(frames.data(), frames.size());
  }
  std::atomic<int> blocks_sent{0};
  std::atomic<int> byes{0};

 private:
  // Returns false once the connection is gone.
  bool read_frame(proto::wire::FrameHeader& h, std::string& body) {
    boost::system::error_code ec;
    uint8_t header[proto::wire::kHeaderSize];
    boost::asio::read(socket_, boost::asio::buffer(header), ec);
    if (ec) return false;
    h = proto::wire::parse_header(header);
    body.resize(h.body_size);
    boost::asio::read(socket_, boost::asio::buffer(body), ec);
    return !ec;
  }
  void send(const void* data, size_t size) {
    boost::system::error_code ec;
    boost::asio::write(socket_, boost::asio::buffer(data, size), ec);
  }
  void serve() {
    boost::system::error_code ec;
    acceptor_.accept(socket_, ec);
    if (ec) return;
    proto::wire::FrameHeader h;
    std::string body;
    if (!read_frame(h, body) || h.type != proto::wire::FrameType::kHello) return;
    proto::wire::Hello hello;
    static std::atomic<uint8_t> next_id{1};
    hello.peer_id.fill(next_id++);  // each its own peer
    hello.digest = info_.digest;
    hello.bitfield.assign(proto::wire::bitfield_bytes(info_.piece_count()), 0);
    for (uint32_t i = 0; i < info_.piece_count(); ++i) {
      if (has_(i)) proto::wire::bit_set(hello.bitfield, i);
    }
    std::string frame = proto::wire::encode(hello);
    send(frame.data(), frame.size());
    std::ifstream in(blob_, std::ios::binary);
    while (read_frame(h, body)) {
      if (h.type == proto::wire::FrameType::kHave) {
        std::lock_guard lock(mu_);
        order_.push_back(proto::wire::decode_have(body).piece);
      }
      if (h.type == proto::wire::FrameType::kBye) ++byes;
      if (h.type != proto::wire::FrameType::kRequest) continue;
      auto r = proto::wire::decode_request(body);
      std::string data(r.length, '\0');
      in.seekg(static_cast<std::streamoff>(info_.piece_offset(r.piece) + r.offset));
      in.read(data.data(), r.length);
      frame = proto::wire::encode_data_prefix(r.piece, r.offset, r.length);
      send(frame.data(), frame.size());
      // 3 bytes, then 200 KiB at a time, and the last 777 bytes right behind the one before.
      size_t sent = 0, tail = std::min<size_t>(777, r.length), part = 3;
      while (sent < r.length - tail) {
        size_t n = std::min(part, r.length - tail - sent);
        send(data.data() + sent, n);
        sent += n;
        part = 200 << 10;
        if (sent < r.length - tail) std::this_thread::sleep_for(5ms);
      }
      send(data.data() + sent, r.length - sent);
      ++blocks_sent;
    }
  }

  proto::Metainfo info_;
  std::filesystem::path blob_;
  std::function<bool(uint32_t)> has_;
  std::mutex mu_;
  std::vector<uint32_t> order_;  // HAVEs received
  boost::asio::io_context io_;
  boost::asio::ip::tcp::acceptor acceptor_{io_};
  boost::asio::ip::tcp::socket socket_{io_};
  std::thread thread_;
};

// Blocks are read whole however they arrive: waiting for a batch of bytes (SO_RCVLOWAT), at the
// default batch and at one larger than a block, or woken for every segment (0).
TEST(EngineFeaturesTest, ABlockArrivingInFragmentsIsReadWholeWhateverTheReceiveBatch) {
  for (uint32_t batch : {Settings{}.receive_batch, uint32_t{4} << 20, uint32_t{0}}) {
    SCOPED_TRACE("receive_batch " + std::to_string(batch));
    test::TempDir dir;
    Digest digest = test::write_random_file(dir / "blob", (3 << 20) + 5000);
    auto info = metainfo_of(dir / "blob");
    TricklingSeed seed(info, dir / "blob");
    Settings s = local();
    s.receive_batch = batch;
    Node leecher(dir / "leecher", s);
    auto result = leecher.engine.fetch(info, leecher.store);
    leecher.engine.add_peers(digest, {seed.address()});
    ASSERT_EQ(result.wait_for(30s), std::future_status::ready) << "a block's rest was never read";
    FetchResult got = result.get();
    ASSERT_TRUE(got.ok) << got.error;
    EXPECT_EQ(Sha256::of_file(got.path), digest);
    EXPECT_EQ(got.stats.bytes_from_peers, info.size);
    EXPECT_EQ(seed.blocks_sent.load(), static_cast<int>(info.piece_count()));
  }
}

// A HAVE goes at once to a peer that lacks the piece; one that has it hears of it only when the
// fetch completes. So a complete peer gets no HAVE at all, only the BYE that closes the link; a
// peer with the even pieces hears of every odd one as it arrives, then of the even ones, and its
// link closes once it says it has every piece too.
TEST(EngineFeaturesTest, HavesForPiecesAPeerHasWaitForTheWholeBlob) {
  test::TempDir dir;
  Digest digest = test::write_random_file(dir / "blob", 8 << 20);
  auto info = metainfo_of(dir / "blob");
  TricklingSeed complete(info, dir / "blob");
  TricklingSeed even(info, dir / "blob", [](uint32_t i) { return i % 2 == 0; });
  Node leecher(dir / "leecher", local());
  auto result = leecher.engine.fetch(info, leecher.store);
  leecher.engine.add_peers(digest, {complete.address(), even.address()});
  ASSERT_EQ(result.wait_for(30s), std::future_status::ready);
  FetchResult got = result.get();
  ASSERT_TRUE(got.ok) << got.error;
  EXPECT_EQ(Sha256::of_file(got.path), digest);

  test::eventually(
      [&] { return complete.byes.load() > 0 && even.haves().size() >= info.piece_count(); }, 10s);
  EXPECT_EQ(complete.byes.load(), 1) << "both complete: the link closes";
  EXPECT_TRUE(complete.haves().empty()) << "a peer with every piece was sent HAVEs";
  std::vector<uint32_t> order = even.have_order();
  ASSERT_EQ(order.size(), info.piece_count()) << "the peer with half must learn of every piece";
  for (size_t i = 0; i < order.size(); ++i) {
    EXPECT_EQ(order[i] % 2, i < order.size() / 2 ? 1u : 0u)
        << "HAVE " << i << " was for piece " << order[i] << ": odd pieces first, as they arrive";
  }
  EXPECT_EQ(even.byes.load(), 0) << "the peer with half is not complete: the link stays";

  // It completes later (its HAVEs for the odd pieces): now both are, and the node closes.
  even.send_haves({1, 3, 5, 7});
  test::eventually([&] { return even.byes.load() > 0; }, 10s);
  EXPECT_EQ(even.byes.load(), 1) << "both complete: the link closes";
}

TEST(EngineFeaturesTest, TheFreePlaceGoesToTheFastestPeer) {
  test::TempDir dir;
  Digest digest = test::write_random_file(dir / "blob", 20 << 20);  // 20 pieces
  auto info = metainfo_of(dir / "blob");
  ASSERT_EQ(info.piece_count(), 20u);
  Settings slow_settings = local();
  slow_settings.egress_bytes_per_sec = 1 << 20;
  Node slow(dir / "slow", slow_settings);
  slow.engine.seed(info, dir / "blob");
  Settings fast_settings = local();
  fast_settings.egress_bytes_per_sec = 64 << 20;
  Node fast(dir / "fast", fast_settings);
  fast.engine.seed(info, dir / "blob");
  Settings leecher_settings = local();
  leecher_settings.max_pieces_in_flight = 1;
  Node leecher(dir / "leecher", leecher_settings);
  auto result = leecher.engine.fetch(info, leecher.store);
  leecher.engine.add_peers(digest, {slow.address()});
  // The slow seed's first piece is under way (its burst sent) before the fast one is known.
  ASSERT_TRUE(test::eventually([&] { return slow.em.bytes_to_peers.value() > 0; }, 5s, 10ms))
      << "the slow seed was never asked";
  leecher.engine.add_peers(digest, {fast.address()});
  ASSERT_EQ(result.wait_for(30s), std::future_status::ready);
  FetchResult got = result.get();
  ASSERT_TRUE(got.ok) << got.error;
  EXPECT_EQ(Sha256::of_file(got.path), digest);
  uint64_t piece = info.piece_length;
  // The slow seed may send three pieces: its first at once out of its token bucket's burst, one
  // more at its real speed (asked before the fast seed was known, or while the burst still ranked
  // it fast), and, its burst refilled, an endgame duplicate of the last piece.
  EXPECT_LE(slow.em.bytes_to_peers.value(), 3 * piece) << "the slow seed kept the place";
  EXPECT_GE(fast.em.bytes_to_peers.value(), 17 * piece);
}

TEST(EngineFeaturesTest, PrioritizedRangeIsReadableBeforeTheBlobCompletes) {
  test::TempDir dir;
  Digest digest = test::write_random_file(dir / "blob", 40 << 20);  // 40 pieces
  auto info = metainfo_of(dir / "blob");
  Settings seed_settings = local();
  seed_settings.egress_bytes_per_sec = 10 << 20;  // the whole blob needs about 4 s
  // An origin shows its pieces a few at a time; a waited-for piece must not wait for its turn.
  seed_settings.is_origin = true;
  Node seed(dir / "seed", seed_settings);
  seed.engine.seed(info, dir / "blob");
  Node leecher(dir / "leecher", local());
  auto result = leecher.engine.fetch(info, leecher.store);
  uint64_t last_mib = info.size - (1 << 20);
  auto ready = leecher.engine.prioritize(digest, last_mib, 1 << 20);
  leecher.engine.add_peers(digest, {seed.address()});

  ASSERT_EQ(ready.wait_for(20s), std::future_status::ready);
  ASSERT_TRUE(ready.get());
  EXPECT_EQ(result.wait_for(0s), std::future_status::timeout)
      << "the last MiB should arrive long before the whole blob";
  std::vector<uint8_t> got(1 << 20), want(1 << 20);
  ASSERT_TRUE(leecher.engine.read(digest, last_mib, got.data(), got.size()));
  int fd = fileio::open_or_throw(dir / "blob", O_RDONLY);
  fileio::pread_all(fd, want.data(), want.size(), static_cast<off_t>(last_mib), "blob");
  ::close(fd);
  EXPECT_EQ(got, want);
  EXPECT_FALSE(leecher.engine.read(digest, 0, got.data(), 1)) << "piece 0 is not here yet";
  ASSERT_EQ(result.wait_for(30s), std::future_status::ready);
  EXPECT_TRUE(result.get().ok);
  EXPECT_FALSE(leecher.engine.prioritize(digest, info.size, 1).get()) << "past the end";
}

TEST(EngineFeaturesTest, FallbackCompletesAFetchWithNoPeers) {
  test::TempDir dir;
  Digest digest = test::write_random_file(dir / "blob", 9 << 20);
  auto info = metainfo_of(dir / "blob");
  auto source = std::make_shared<FileRangeSource>(dir / "blob");
  Settings s = local();
  s.fallback_after = 300ms;
  Node leecher(dir / "leecher", s, source);
  auto result = leecher.engine.fetch(info, leecher.store);
  ASSERT_EQ(result.wait_for(20s), std::future_status::ready);
  FetchResult r = result.get();
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.stats.bytes_from_fallback, info.size);
  EXPECT_EQ(leecher.em.bytes_from_fallback.value(), info.size);
  EXPECT_EQ(Sha256::of_file(r.path), digest);
}

TEST(EngineFeaturesTest, CorruptFallbackBytesAreNeverStored) {
  test::TempDir dir;
  Digest digest = test::write_random_file(dir / "blob", 5 << 20);
  auto info = metainfo_of(dir / "blob");
  auto source = std::make_shared<FileRangeSource>(dir / "blob");
  source->corrupt = true;
  Settings s = local();
  s.fallback_after = 100ms;
  Node leecher(dir / "leecher", s, source);
  auto result = leecher.engine.fetch(info, leecher.store);
  std::this_thread::sleep_for(1500ms);
  EXPECT_GE(source->calls.load(), 1);
  EXPECT_GE(leecher.em.pieces_failed.value(), 1u);
  EXPECT_EQ(leecher.engine.stats(digest)->pieces_done, 0u);
  EXPECT_FALSE(leecher.store.contains(digest));
  source->corrupt = false;  // the origin recovers: the fetch completes
  ASSERT_EQ(result.wait_for(20s), std::future_status::ready);
  EXPECT_TRUE(result.get().ok);
}

}  // namespace
}  // namespace fanout::swarm
