#include <gtest/gtest.h>

#include <map>
#include <random>
#include <set>
#include <stdexcept>

#include "common/placement/ring.h"

namespace fanout::placement {
namespace {

Digest digest_number(uint64_t n) {
  std::mt19937_64 rng(n);
  Digest::Bytes bytes;
  for (auto& b : bytes) b = static_cast<uint8_t>(rng());
  return Digest::from_bytes(bytes);
}

std::vector<std::string> members(size_t n) {
  std::vector<std::string> out;
  for (size_t i = 0; i < n; ++i) out.push_back("origin-" + std::to_string(i) + ":7100");
  return out;
}

TEST(RingTest, OwnersAreOrderedByScoreAndDistinct) {
  Ring ring(members(5));
  Digest d = digest_number(1);
  auto owners = ring.owners(d, 5);
  ASSERT_EQ(owners.size(), 5u);
  EXPECT_EQ(std::set<std::string>(owners.begin(), owners.end()).size(), 5u);
  for (size_t i = 1; i < owners.size(); ++i) {
    EXPECT_GE(Ring::score(d, owners[i - 1]), Ring::score(d, owners[i]));
  }
  EXPECT_EQ(ring.owner(d), owners[0]);
  EXPECT_TRUE(ring.is_owner(owners[1], d, 2));
  EXPECT_FALSE(ring.is_owner(owners[2], d, 2));
}

TEST(RingTest, RIsCappedAtTheMemberCount) {
  Ring ring(members(3));
  EXPECT_EQ(ring.owners(digest_number(2), 10).size(), 3u);
  EXPECT_TRUE(ring.owners(digest_number(2), 0).empty());
}

TEST(RingTest, MemberOrderDoesNotMatter) {
  auto forward = members(7);
  auto backward = std::vector<std::string>(forward.rbegin(), forward.rend());
  Ring a(forward), b(backward);
  for (uint64_t n = 0; n < 200; ++n) {
    EXPECT_EQ(a.owners(digest_number(n), 3), b.owners(digest_number(n), 3));
  }
}

TEST(RingTest, ScoresAreStableAcrossReleases) {
  // Placement is shared by every process of a fleet running mixed versions: the score function
  // must never change. These values pin xxHash64 with the member id's hash as seed.
  Digest zero = Digest::from_bytes(Digest::Bytes{});
  EXPECT_EQ(Ring::score(zero, "a"), 7598155509722814320ull);
  EXPECT_EQ(Ring::score(zero, "b"), 9688188159851641789ull);
  EXPECT_EQ(Ring({"a", "b"}).owners(zero, 2), (std::vector<std::string>{"b", "a"}));
}

TEST(RingTest, SpreadsDigestsEvenly) {
  Ring ring(members(10));
  std::map<std::string, int> first;
  constexpr int kDigests = 20000;
  for (int n = 0; n < kDigests; ++n) ++first[ring.owner(digest_number(n))];
  ASSERT_EQ(first.size(), 10u);
  for (const auto& [member, count] : first) {
    EXPECT_NEAR(count, kDigests / 10, kDigests / 10 * 0.15) << member;
  }
}

TEST(RingTest, RemovingAMemberOnlyMovesItsDigests) {
  auto all = members(8);
  Ring before(all);
  auto fewer = all;
  std::string gone = fewer[3];
  fewer.erase(fewer.begin() + 3);
  Ring after(fewer);
  int moved = 0;
  for (int n = 0; n < 5000; ++n) {
    Digest d = digest_number(n);
    auto was = before.owners(d, 2);
    auto now = after.owners(d, 2);
    if (was[0] != gone && was[1] != gone) {
      EXPECT_EQ(was, now);
    } else {
      ++moved;
      // The surviving owner stays an owner; the next-best member fills the hole.
      for (const auto& m : was) {
        if (m != gone) {
          EXPECT_TRUE(after.is_owner(m, d, 2));
        }
      }
    }
  }
  EXPECT_NEAR(moved, 5000 * 2 / 8, 5000 * 2 / 8 * 0.2);
}

TEST(RingTest, RefusesEmptyAndDuplicateIds) {
  EXPECT_THROW(Ring({"a", ""}), std::invalid_argument);
  EXPECT_THROW(Ring({"a", "b", "a"}), std::invalid_argument);
  Ring empty({});
  EXPECT_TRUE(empty.owners(digest_number(1), 3).empty());
  EXPECT_THROW(empty.owner(digest_number(1)), std::logic_error);
}

}  // namespace
}  // namespace fanout::placement
