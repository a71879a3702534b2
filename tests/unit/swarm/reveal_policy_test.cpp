#include "common/swarm/reveal_policy.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

namespace fanout::swarm {
namespace {

auto nothing = [](uint32_t) { return false; };

TEST(RevealPolicyTest, RevealsATurnOfDistinctPiecesToEachSlotHolder) {
  RevealPolicy policy(8, /*slots=*/2, /*per_turn=*/3, 1);
  for (RevealPolicy::PeerKey k : {1, 2}) policy.add_peer(k);
  auto a = policy.next(1, nothing);
  auto b = policy.next(2, nothing);
  ASSERT_EQ(a.size(), 3u);
  ASSERT_EQ(b.size(), 3u);
  std::set<uint32_t> all(a.begin(), a.end());
  all.insert(b.begin(), b.end());
  EXPECT_EQ(all.size(), 6u) << "no piece is shown twice while others are unshown";
  EXPECT_EQ(policy.slots_in_use(), 2u);
}

TEST(RevealPolicyTest, AThirdAgentWaitsForASlotAndGetsItWhenATurnEnds) {
  RevealPolicy policy(16, /*slots=*/2, /*per_turn=*/2, 2);
  for (RevealPolicy::PeerKey k : {1, 2, 3}) policy.add_peer(k);
  auto a = policy.next(1, nothing);
  policy.next(2, nothing);
  EXPECT_TRUE(policy.next(3, nothing).empty());
  EXPECT_EQ(policy.waiting(), 1u);
  // Agent 1 gets its first piece: the turn is not over.
  EXPECT_TRUE(policy.holder_added(1, a[0]));
  EXPECT_TRUE(policy.take_granted().empty());
  // Its second: the turn ends, the slot goes to agent 3, agent 1 queues behind it.
  EXPECT_TRUE(policy.holder_added(1, a[1]));
  EXPECT_EQ(policy.take_granted(), std::vector<RevealPolicy::PeerKey>{3});
  EXPECT_EQ(policy.next(3, nothing).size(), 2u);
  std::set<uint32_t> had(a.begin(), a.end());
  EXPECT_TRUE(policy.next(1, [&](uint32_t i) { return had.count(i) > 0; }).empty());
  EXPECT_EQ(policy.waiting(), 1u);
}

TEST(RevealPolicyTest, WithNobodyWaitingTheTurnStartsAgain) {
  RevealPolicy policy(6, 1, 2, 3);
  policy.add_peer(1);
  auto a = policy.next(1, nothing);
  ASSERT_EQ(a.size(), 2u);
  std::set<uint32_t> had;
  for (uint32_t piece : a) {
    policy.holder_added(1, piece);
    had.insert(piece);
  }
  EXPECT_EQ(policy.take_granted(), std::vector<RevealPolicy::PeerKey>{1});
  auto more = policy.next(1, [&](uint32_t i) { return had.count(i) > 0; });
  EXPECT_EQ(more.size(), 2u);
  for (uint32_t piece : more) EXPECT_EQ(had.count(piece), 0u);
}

TEST(RevealPolicyTest, PrefersPiecesNoAgentHoldsAndShowsInFlightPiecesOnlyToAnIdleAgent) {
  RevealPolicy policy(3, 4, 1, 4);
  policy.holder_added(99, 0);  // a connected agent without reveals holds piece 0
  policy.add_peer(1);
  policy.add_peer(2);
  auto a = policy.next(1, nothing);
  ASSERT_EQ(a.size(), 1u);
  EXPECT_NE(a[0], 0u);
  // Agent 2 gets the other unheld piece, not the one on its way to agent 1.
  auto b = policy.next(2, nothing);
  ASSERT_EQ(b.size(), 1u);
  EXPECT_NE(b[0], 0u);
  EXPECT_NE(b[0], a[0]);
  // A third agent that has pieces 0 and b[0]: only a[0] (in flight to agent 1) is left, and
  // being idle it is shown it rather than stall.
  policy.add_peer(3);
  auto c = policy.next(3, [&](uint32_t i) { return i == 0 || i == b[0]; });
  EXPECT_EQ(c, std::vector<uint32_t>{a[0]});
}

TEST(RevealPolicyTest, AnAgentLeavingFreesItsSlotAndItsPendingReveals) {
  RevealPolicy policy(2, 1, 2, 5);
  policy.add_peer(1);
  policy.add_peer(2);
  auto a = policy.next(1, nothing);
  EXPECT_TRUE(policy.next(2, nothing).empty());
  policy.remove_peer(1);
  EXPECT_EQ(policy.take_granted(), std::vector<RevealPolicy::PeerKey>{2});
  auto b = policy.next(2, nothing);
  ASSERT_EQ(b.size(), 2u);
  // The pieces shown to the agent that left are not in flight any more: both are shown at once
  // (an in-flight piece would be shown only one at a time, to an idle agent).
  EXPECT_EQ(std::set<uint32_t>(b.begin(), b.end()), std::set<uint32_t>(a.begin(), a.end()));
  EXPECT_EQ(policy.pending(1), 0u);
}

TEST(RevealPolicyTest, AnAgentWithEverythingGivesItsSlotBack) {
  RevealPolicy policy(2, 1, 2, 6);
  policy.add_peer(1);
  policy.add_peer(2);
  EXPECT_TRUE(policy.next(1, [](uint32_t) { return true; }).empty());
  EXPECT_EQ(policy.slots_in_use(), 0u);
  EXPECT_EQ(policy.next(2, nothing).size(), 2u);
}

// Once a connected agent holds a piece the agents serve it: the origin does not show it again,
// even to an agent that lacks it and has nothing else to be shown (it gives the slot back and is
// parked). When the piece's last holder goes away, the parked agent gets a turn and sees it.
TEST(RevealPolicyTest, APieceAConnectedAgentHoldsIsNotShownAgain) {
  RevealPolicy policy(2, 2, 2, 7);
  policy.add_peer(1);
  auto a = policy.next(1, nothing);
  ASSERT_EQ(a.size(), 2u);
  policy.holder_added(1, a[0]);
  policy.holder_added(1, a[1]);  // turn over: both pieces are in the swarm
  EXPECT_EQ(policy.pending(1), 0u);
  policy.add_peer(2);
  EXPECT_TRUE(policy.next(2, nothing).empty());
  EXPECT_EQ(policy.pending(2), 0u);
  policy.take_granted();
  // The holder goes away: the piece is no longer in the swarm, and agent 2 is offered a turn.
  policy.holder_removed(a[0]);
  auto granted = policy.take_granted();
  EXPECT_NE(std::find(granted.begin(), granted.end(), 2u), granted.end());
  EXPECT_EQ(policy.next(2, nothing), std::vector<uint32_t>{a[0]});
}

}  // namespace
}  // namespace fanout::swarm
