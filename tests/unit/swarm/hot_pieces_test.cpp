#include "common/swarm/hot_pieces.h"

#include <gtest/gtest.h>

namespace fanout::swarm {
namespace {

BufferPtr piece_of(size_t size) {
  return acquire_buffer(size);
}

TEST(HotPiecesTest, KeepsTheNewestPiecesUpToItsCapacity) {
  HotPieces hot(10);
  auto a = piece_of(4), b = piece_of(4), c = piece_of(4);
  hot.put(1, a);
  hot.put(2, b);
  EXPECT_EQ(hot.bytes(), 8u);
  hot.put(3, c);  // 12 > 10: the oldest goes
  EXPECT_EQ(hot.get(1), nullptr);
  EXPECT_EQ(hot.get(2), b) << "the same buffer, not a copy";
  EXPECT_EQ(hot.get(3), c);
  EXPECT_EQ(hot.bytes(), 8u);
  EXPECT_EQ(hot.count(), 2u);
}

TEST(HotPiecesTest, AHitIsKeptOverAnOlderMiss) {
  HotPieces hot(8);
  hot.put(1, piece_of(4));
  hot.put(2, piece_of(4));
  ASSERT_NE(hot.get(1), nullptr);  // 1 is now the most recently used
  hot.put(3, piece_of(4));
  EXPECT_NE(hot.get(1), nullptr);
  EXPECT_EQ(hot.get(2), nullptr);
  EXPECT_NE(hot.get(3), nullptr);
}

TEST(HotPiecesTest, ZeroCapacityOrAnOversizedPieceKeepsNothing) {
  HotPieces none(0);
  none.put(1, piece_of(4));
  EXPECT_EQ(none.get(1), nullptr);
  EXPECT_EQ(none.bytes(), 0u);

  HotPieces small(4);
  small.put(1, piece_of(4));
  small.put(2, piece_of(5));
  EXPECT_NE(small.get(1), nullptr) << "a piece that can never fit evicts nothing";
  EXPECT_EQ(small.get(2), nullptr);
}

TEST(HotPiecesTest, PuttingAPieceAgainReplacesItAndClearDropsAll) {
  HotPieces hot(8);
  auto first = piece_of(4), second = piece_of(4);
  hot.put(1, first);
  hot.put(1, second);
  EXPECT_EQ(hot.get(1), second);
  EXPECT_EQ(hot.bytes(), 4u);
  hot.clear();
  EXPECT_EQ(hot.get(1), nullptr);
  EXPECT_EQ(hot.bytes(), 0u);
}

}  // namespace
}  // namespace fanout::swarm
