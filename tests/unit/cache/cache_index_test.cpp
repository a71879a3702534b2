#include "common/cache/cache_index.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "common/digest/sha256.h"

namespace fanout::cache {
namespace {

Digest name(int i) {
  std::string s = "blob-" + std::to_string(i);
  return Sha256::of(s);
}

constexpr uint64_t kMiB = 1u << 20;

TEST(CacheIndex, NothingIsEvictedWithoutACap) {
  CacheIndex index({});
  index.add(name(1), 100 * kMiB);
  index.add(name(2), 100 * kMiB);
  EXPECT_TRUE(index.victims(1000 * kMiB).empty());
  EXPECT_EQ(index.total_bytes(), 200 * kMiB);
}

TEST(CacheIndex, EvictsTheLeastRecentlyUsedDownToTheLowWatermark) {
  CacheIndex index(
      {.max_bytes = 100 * kMiB, .high_watermark_percent = 90, .low_watermark_percent = 50});
  index.add(name(1), 30 * kMiB);
  index.add(name(2), 30 * kMiB);
  index.add(name(3), 30 * kMiB);
  EXPECT_TRUE(index.victims().empty());  // 90 MiB: at the high watermark, not above it
  index.touch(name(1));                  // 2 is now the oldest, then 3, then 1
  auto v = index.victims(10 * kMiB);     // 100 > 90: evict down to 50
  ASSERT_EQ(v.size(), 2u);
  EXPECT_EQ(v[0], name(2));
  EXPECT_EQ(v[1], name(3));
}

TEST(CacheIndex, NeverChoosesAPinnedOrBusyBlob) {
  CacheIndex index(
      {.max_bytes = 100 * kMiB, .high_watermark_percent = 80, .low_watermark_percent = 10});
  index.add(name(1), 40 * kMiB);
  index.add(name(2), 40 * kMiB);
  index.add(name(3), 40 * kMiB);
  {
    CachePin pin(index, name(1));
    auto v = index.victims(0, [](const Digest& d) { return d == name(2); });
    ASSERT_EQ(v.size(), 1u);
    EXPECT_EQ(v[0], name(3));
  }
  EXPECT_FALSE(index.pinned(name(1)));
  auto v = index.victims();
  ASSERT_EQ(v.size(), 3u);
  EXPECT_EQ(v[0], name(1));
}

TEST(CacheIndex, PinsAreCountedAndReAddingReplacesTheSize) {
  CacheIndex index({.max_bytes = 10 * kMiB});
  index.pin(name(1));
  index.pin(name(1));
  index.unpin(name(1));
  EXPECT_TRUE(index.pinned(name(1)));
  index.unpin(name(1));
  EXPECT_FALSE(index.pinned(name(1)));
  index.add(name(1), 5 * kMiB);
  index.add(name(1), 3 * kMiB);
  EXPECT_EQ(index.total_bytes(), 3 * kMiB);
  index.erase(name(1));
  EXPECT_EQ(index.total_bytes(), 0u);
  EXPECT_EQ(index.count(), 0u);
}

TEST(CacheIndex, SnapshotListsWhatIsHeldWithSizes) {
  CacheIndex index({});
  EXPECT_TRUE(index.snapshot().empty());
  index.add(name(1), 5);
  index.add(name(2), 7);
  index.pin(name(3));  // pinned before it lands: not held yet
  auto held = index.snapshot();
  std::sort(held.begin(), held.end(),
            [](const auto& a, const auto& b) { return a.second < b.second; });
  ASSERT_EQ(held.size(), 2u);
  EXPECT_EQ(held[0], std::make_pair(name(1), uint64_t{5}));
  EXPECT_EQ(held[1], std::make_pair(name(2), uint64_t{7}));
  index.erase(name(1));
  EXPECT_EQ(index.snapshot().size(), 1u);
}

}  // namespace
}  // namespace fanout::cache
