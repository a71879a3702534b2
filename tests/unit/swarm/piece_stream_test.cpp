#include "common/swarm/piece_stream.h"

#include <gtest/gtest.h>

#include <boost/asio/thread_pool.hpp>
#include <cstring>
#include <future>

#include "common/store/blob_store.h"
#include "tests/support/temp_dir.h"

namespace fanout::swarm {
namespace {

// A 10-byte piece in blocks of 4: 4 + 4 + 2.
struct PieceStreamFixture : ::testing::Test {
  test::TempDir dir;
  BlobStore store{dir.path()};
  std::string bytes = "0123456789";
  std::unique_ptr<PartialBlob> owned =
      store.open_partial(Sha256::of(bytes), 10, 10, {Sha256::of(bytes).bytes()});
  std::shared_ptr<PartialBlob> partial{std::move(owned)};
  boost::asio::thread_pool disk{2};

  BufferPtr block(size_t offset, size_t n, char flip = 0) {
    auto b = acquire_buffer(n);
    std::memcpy(b->data(), bytes.data() + offset, n);
    if (flip) (*b)[0] = static_cast<uint8_t>(flip);
    return b;
  }
  PieceStream::Outcome finish(PieceStream& s) {
    std::promise<PieceStream::Outcome> done;
    s.finish([&](PieceStream::Outcome o) { done.set_value(o); });
    return done.get_future().get();
  }
};

TEST_F(PieceStreamFixture, BlocksArrivingOutOfOrderAreHashedInOrder) {
  auto s = std::make_shared<PieceStream>(disk, partial, 0, 4);
  s->add(2, block(8, 2));
  s->add(0, block(0, 4));
  s->add(1, block(4, 4));
  auto o = finish(*s);
  EXPECT_TRUE(o.ok) << o.error;
  EXPECT_TRUE(partial->has_piece(0));
  std::string back(10, '\0');
  partial->read(0, back.data(), 10);
  EXPECT_EQ(back, bytes);
}

TEST_F(PieceStreamFixture, AWrongByteFailsThePieceAsABadHash) {
  auto s = std::make_shared<PieceStream>(disk, partial, 0, 4);
  s->add(0, block(0, 4));
  s->add(1, block(4, 4, 'X'));
  s->add(2, block(8, 2));
  auto o = finish(*s);
  EXPECT_FALSE(o.ok);
  EXPECT_TRUE(o.bad_hash);
  EXPECT_TRUE(o.error.empty()) << o.error;
  EXPECT_FALSE(partial->has_piece(0));
}

TEST_F(PieceStreamFixture, AnAbandonedStreamWritesNothingMore) {
  auto s = std::make_shared<PieceStream>(disk, partial, 0, 4);
  s->abandon();
  s->add(0, block(0, 4, 'X'));
  disk.join();
  std::string back(4, '\0');
  partial->read(0, back.data(), 4);
  EXPECT_EQ(back, std::string(4, '\0'));
}

}  // namespace
}  // namespace fanout::swarm
