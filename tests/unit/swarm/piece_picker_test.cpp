#include "common/swarm/piece_picker.h"

#include <gtest/gtest.h>

#include <random>
#include <set>
#include <vector>

namespace fanout::swarm {
namespace {

auto all = [](uint32_t) { return true; };

TEST(PiecePickerTest, PicksTheRarestPieceThePeerHas) {
  PiecePicker picker(4, 1);
  for (uint32_t i : {0u, 1u, 3u}) picker.peer_has(i);
  picker.peer_has(0);
  for (uint32_t i = 0; i < 4; ++i) picker.peer_has(i);  // the peer asked, which has all
  // Piece 2 is held by that peer alone, pieces 1 and 3 by two, piece 0 by three.
  EXPECT_EQ(picker.pick(all, false), 2u);
  auto has_0_1 = [](uint32_t i) { return i <= 1; };
  EXPECT_EQ(picker.pick(has_0_1, false), 1u);
}

TEST(PiecePickerTest, BreaksTiesAtRandom) {
  std::set<uint32_t> seen;
  for (uint64_t seed = 0; seed < 50; ++seed) {
    PiecePicker picker(8, seed);
    for (uint32_t i = 0; i < 8; ++i) picker.peer_has(i);
    seen.insert(*picker.pick(all, false));
  }
  EXPECT_GT(seen.size(), 4u);
}

TEST(PiecePickerTest, SkipsPiecesWeHaveOrAreFetching) {
  PiecePicker picker(3, 7);
  for (uint32_t i = 0; i < 3; ++i) picker.peer_has(i);
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
  for (uint32_t i = 0; i < 2; ++i) picker.peer_has(i);
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

TEST(PiecePickerTest, NoEndgameWhileSomeMissingPieceIsUnclaimed) {
  PiecePicker picker(3, 5);
  picker.peer_has(0);
  picker.started(0);
  auto has_0 = [](uint32_t i) { return i == 0; };
  auto not_fetching = [](uint32_t) { return false; };
  EXPECT_FALSE(picker.pick(has_0, false).has_value());
  EXPECT_FALSE(picker.pick_endgame(has_0, not_fetching, false).has_value())
      << "pieces 1 and 2 are still unclaimed";
  picker.started(1);
  picker.started(2);
  EXPECT_EQ(picker.pick_endgame(has_0, not_fetching, false), 0u);
}

TEST(PiecePickerTest, PickAnyTakesTheRarestPieceWhoeverHoldsIt) {
  PiecePicker picker(3, 9);
  picker.peer_has(0);
  picker.peer_has(2);
  EXPECT_EQ(picker.pick_any(), 1u) << "nobody holds piece 1: the fallback fetches it first";
  picker.set_priority(2);
  EXPECT_EQ(picker.pick_any(), 2u) << "a waited-for piece beats rarity";
  picker.set_have(2);
  picker.started(1);
  EXPECT_EQ(picker.pick_any(), 0u);
  picker.set_have(0);
  EXPECT_FALSE(picker.pick_any().has_value());
}

// The availability index must give the answer of a full scan after any sequence of events.
TEST(PiecePickerTest, IndexAgreesWithAFullScanUnderRandomEvents) {
  constexpr uint32_t kPieces = 64;
  PiecePicker picker(kPieces, 11);
  std::mt19937 rng(42);
  std::vector<uint32_t> avail(kPieces, 0), flight(kPieces, 0);
  std::vector<uint8_t> have(kPieces, 0), verifying(kPieces, 0);
  for (int step = 0; step < 20000; ++step) {
    uint32_t i = rng() % kPieces;
    switch (rng() % 6) {
      case 0:
        picker.peer_has(i), ++avail[i];
        break;
      case 1:
        if (avail[i]) picker.peer_lost(i), --avail[i];
        break;
      case 2:
        picker.started(i), ++flight[i];
        break;
      case 3:
        if (flight[i]) picker.stopped(i), --flight[i];
        break;
      case 4:
        verifying[i] = !verifying[i], picker.set_verifying(i, verifying[i]);
        break;
      case 5:
        if (rng() % 8 == 0) picker.set_have(i), have[i] = 1;
        break;
    }
    // A peer holding a random half of the pieces (counted, as the engine counts every peer).
    std::vector<uint8_t> peer(kPieces, 0);
    for (uint32_t k = 0; k < kPieces; ++k) peer[k] = rng() % 2 && avail[k] > 0;
    auto peer_has = [&](uint32_t k) { return peer[k] != 0; };
    uint32_t best = UINT32_MAX;
    for (uint32_t k = 0; k < kPieces; ++k) {
      if (!have[k] && !flight[k] && !verifying[k] && peer[k]) best = std::min(best, avail[k]);
    }
    auto got = picker.pick(peer_has, false);
    if (best == UINT32_MAX) {
      ASSERT_FALSE(got.has_value()) << "step " << step;
    } else {
      ASSERT_TRUE(got.has_value()) << "step " << step;
      ASSERT_TRUE(peer[*got] && !have[*got] && !flight[*got] && !verifying[*got]);
      ASSERT_EQ(avail[*got], best) << "step " << step << ": not the rarest";
    }
  }
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
