#include "common/swarm/piece_picker.h"

#include <gtest/gtest.h>

#include <set>

namespace fanout::swarm {
namespace {

auto all = [](uint32_t) { return true; };

TEST(PiecePickerTest, PicksTheRarestPieceThePeerHas) {
  PiecePicker picker(4, 1);
  for (uint32_t i : {0u, 1u, 3u}) picker.peer_has(i);
  picker.peer_has(0);
  // Piece 2 is held by nobody else, piece 1 and 3 by one peer, piece 0 by two.
  EXPECT_EQ(picker.pick(all, false), 2u);
  auto has_0_1 = [](uint32_t i) { return i <= 1; };
  EXPECT_EQ(picker.pick(has_0_1, false), 1u);
}

TEST(PiecePickerTest, BreaksTiesAtRandom) {
  std::set<uint32_t> seen;
  for (uint64_t seed = 0; seed < 50; ++seed) {
    PiecePicker picker(8, seed);
    seen.insert(*picker.pick(all, false));
  }
  EXPECT_GT(seen.size(), 4u);
}

TEST(PiecePickerTest, SkipsPiecesWeHaveOrAreFetching) {
  PiecePicker picker(3, 7);
  picker.set_have(0);
  picker.started(1);
  EXPECT_EQ(picker.pick(all, false), 2u);
  picker.started(2);
  EXPECT_FALSE(picker.pick(all, false).has_value());
  EXPECT_EQ(picker.missing(), 2u);
}

TEST(PiecePickerTest, NeverTakesFromAnOriginWhatAnAgentPeerHolds) {
  PiecePicker picker(2, 3);
  picker.peer_has(0);
  EXPECT_EQ(picker.pick(all, /*from_origin=*/true), 1u);
  picker.started(1);
  EXPECT_FALSE(picker.pick(all, true).has_value());
  EXPECT_EQ(picker.pick(all, false), 0u);
}

TEST(PiecePickerTest, EndgameDuplicatesInFlightPiecesUpToTheCap) {
  PiecePicker picker(2, 5);
  picker.set_have(0);
  picker.started(1);
  auto not_fetching = [](uint32_t) { return false; };
  EXPECT_FALSE(picker.pick(all, false).has_value());
  EXPECT_EQ(picker.pick_endgame(all, not_fetching, false), 1u);
  picker.started(1);
  EXPECT_FALSE(picker.pick_endgame(all, not_fetching, false).has_value()) << "cap of 2 copies";
  auto fetching_1 = [](uint32_t i) { return i == 1; };
  picker.stopped(1);
  EXPECT_FALSE(picker.pick_endgame(all, fetching_1, false).has_value());
}

TEST(PiecePickerTest, CompleteWhenEveryPieceIsHad) {
  PiecePicker picker(2, 0);
  picker.set_have(1);
  picker.set_have(1);
  EXPECT_FALSE(picker.complete());
  picker.set_have(0);
  EXPECT_TRUE(picker.complete());
}

}  // namespace
}  // namespace fanout::swarm
