#include "common/swarm/upload_slots.h"

#include <gtest/gtest.h>

namespace fanout::swarm {
namespace {

using Keys = std::vector<UploadSlots::Key>;

TEST(UploadSlotsTest, ServesUpToTheSlotsAndLinesUpTheRestInOrder) {
  UploadSlots slots(2);
  EXPECT_TRUE(slots.acquire(1));
  EXPECT_TRUE(slots.acquire(2));
  EXPECT_FALSE(slots.acquire(3));
  EXPECT_FALSE(slots.acquire(4));
  EXPECT_FALSE(slots.acquire(3)) << "asking again keeps its place, not a second one";
  EXPECT_EQ(slots.waiting(), 2u);
  EXPECT_TRUE(slots.acquire(1)) << "a holder keeps its slot";
  EXPECT_EQ(slots.release(2), Keys{3}) << "the first in line gets the freed slot";
  EXPECT_TRUE(slots.holds(3));
  EXPECT_FALSE(slots.holds(2));
  EXPECT_EQ(slots.waiting(), 1u);
}

TEST(UploadSlotsTest, APieceSentSendsTheHolderToTheBackOfTheLine) {
  UploadSlots slots(1);
  ASSERT_TRUE(slots.acquire(1));
  ASSERT_FALSE(slots.acquire(2));
  ASSERT_FALSE(slots.acquire(3));
  EXPECT_EQ(slots.rotate(1), Keys{2});
  EXPECT_FALSE(slots.holds(1));
  EXPECT_EQ(slots.rotate(2), Keys{3});
  EXPECT_EQ(slots.rotate(3), Keys{1}) << "the first holder's turn comes round again";
}

TEST(UploadSlotsTest, WithNobodyWaitingTheHolderKeepsItsSlot) {
  UploadSlots slots(1);
  ASSERT_TRUE(slots.acquire(7));
  EXPECT_TRUE(slots.rotate(7).empty());
  EXPECT_TRUE(slots.holds(7));
}

TEST(UploadSlotsTest, LeavingTheLineGivesUpThePlace) {
  UploadSlots slots(1);
  ASSERT_TRUE(slots.acquire(1));
  ASSERT_FALSE(slots.acquire(2));
  ASSERT_FALSE(slots.acquire(3));
  EXPECT_TRUE(slots.release(2).empty()) << "a waiter leaving frees no slot";
  EXPECT_EQ(slots.release(1), Keys{3});
  EXPECT_TRUE(slots.release(99).empty()) << "an unknown key is harmless";
}

TEST(UploadSlotsTest, ZeroSlotsServesEveryone) {
  UploadSlots slots(0);
  for (UploadSlots::Key k = 1; k <= 100; ++k) EXPECT_TRUE(slots.acquire(k));
  EXPECT_EQ(slots.waiting(), 0u);
}

}  // namespace
}  // namespace fanout::swarm
