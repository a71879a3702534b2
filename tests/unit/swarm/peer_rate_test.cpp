#include "common/swarm/peer_rate.h"

#include <gtest/gtest.h>

#include <cmath>
#include <set>

namespace fanout::swarm {
namespace {

constexpr double kTrust = 10;

TEST(PieceRateTest, AnUntriedPeerRanksAboveEveryMeasuredOne) {
  PieceRate r;
  EXPECT_TRUE(std::isinf(r.rank(0, kTrust)));
  r.sample(4 << 20, 2.0, 5.0, kTrust);  // 4 MiB in 2 s
  EXPECT_DOUBLE_EQ(r.rank(5.0, kTrust), 2.0 * (1 << 20));
}

TEST(PieceRateTest, BytesOverSecondsWithTheOlderRecordWeighingHalf) {
  PieceRate r;
  r.sample(1000, 1.0, 1.0, kTrust);  // 1000 B/s
  r.sample(3000, 1.0, 2.0, kTrust);  // 3000 B/s
  EXPECT_DOUBLE_EQ(r.rank(2.0, kTrust), 3500 / 1.5);
}

// A peer's first piece may come at once out of its token bucket's burst; that must not rank a
// slow peer above a fast one once its next piece came at its real speed.
TEST(PieceRateTest, APieceOutOfABurstDoesNotMakeASlowPeerFast) {
  PieceRate slow;
  slow.sample(1 << 20, 0.001, 1.0, kTrust);
  slow.sample(1 << 20, 1.0, 2.0, kTrust);  // 1 MiB/s from now on
  PieceRate fast;
  fast.sample(1 << 20, 1.0 / 64, 2.0, kTrust);  // 64 MiB/s
  EXPECT_LT(slow.rank(2.0, kTrust), 2.0 * (1 << 20));
  EXPECT_GT(fast.rank(2.0, kTrust), 30 * slow.rank(2.0, kTrust));
}

TEST(PieceRateTest, AStaleMeasurementCountsAsUntriedAndIsNotAveragedIn) {
  PieceRate r;
  r.sample(1000, 1.0, 1.0, kTrust);
  EXPECT_DOUBLE_EQ(r.rank(10.9, kTrust), 1000);
  EXPECT_TRUE(std::isinf(r.rank(11.0, kTrust))) << "a slow peer gets another turn";
  r.sample(5000, 1.0, 20.0, kTrust);
  EXPECT_DOUBLE_EQ(r.rank(20.0, kTrust), 5000) << "the old figure no longer counts";
}

// A piece slower than the window (a slow link, a large piece) is still trusted for four of its
// own times, so slow peers are not all "untried" again by the time their next piece lands.
TEST(PieceRateTest, TheWindowStretchesToFourPieceTimes) {
  PieceRate r;
  r.sample(1000, 20.0, 20.0, kTrust);  // 50 B/s, a 20 s piece
  EXPECT_DOUBLE_EQ(r.rank(79.0, kTrust), 50);
  EXPECT_TRUE(std::isinf(r.rank(100.0, kTrust)));
  r.sample(3000, 20.0, 40.0, kTrust);  // 150 B/s, weighed in
  EXPECT_DOUBLE_EQ(r.rank(40.0, kTrust), 3500 / 30.0);
}

TEST(PieceRateTest, AnInstantPieceDoesNotDivideByZero) {
  PieceRate r;
  r.sample(1000, 0.0, 1.0, kTrust);
  EXPECT_TRUE(std::isfinite(r.rank(1.0, kTrust)));
  EXPECT_GT(r.rank(1.0, kTrust), 1e6);
}

TEST(FastestFirstTest, OrdersByRankWithTiesInRandomOrder) {
  double inf = std::numeric_limits<double>::infinity();
  std::vector<double> ranks{5, inf, 1, 9, inf};
  std::mt19937_64 rng(7);
  std::set<std::vector<size_t>> seen;
  for (int i = 0; i < 50; ++i) {
    auto order = fastest_first(ranks, rng);
    ASSERT_EQ(order.size(), ranks.size());
    std::set<size_t> untried{order[0], order[1]};
    EXPECT_EQ(untried, (std::set<size_t>{1, 4})) << "untried peers come first";
    EXPECT_EQ(order[2], 3u);
    EXPECT_EQ(order[3], 0u);
    EXPECT_EQ(order[4], 2u);
    seen.insert(order);
  }
  EXPECT_EQ(seen.size(), 2u) << "both untried peers should sometimes be first";
  EXPECT_TRUE(fastest_first({}, rng).empty());
}

}  // namespace
}  // namespace fanout::swarm
