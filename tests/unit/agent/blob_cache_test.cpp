#include "agent/blob_cache.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "agent/pull_service.h"
#include "common/digest/sha256.h"
#include "tests/support/temp_dir.h"

namespace fanout::agent {
namespace {

constexpr uint64_t kMiB = 1u << 20;

class BlobCacheTest : public ::testing::Test {
 protected:
  proto::Metainfo put(char fill, uint64_t size) {
    std::string bytes(size, fill);
    proto::MetainfoBuilder b(size);
    b.update(bytes.data(), bytes.size());
    proto::Metainfo info = b.finish();
    auto w = cas_.begin(info.digest);
    w->write(bytes.data(), bytes.size());
    w->commit();
    return info;
  }

  test::TempDir dir_;
  BlobStore cas_{dir_.path()};
  metrics::Registry registry_;
  AgentMetrics metrics_{registry_};
  std::vector<Digest> evicted_;
  BlobCache::Hooks hooks_{.before_evict = [this](const Digest& d) { evicted_.push_back(d); },
                          .bytes_uploaded = {},
                          .free_bytes = {}};
};

TEST_F(BlobCacheTest, CapBelowTwoBlobsEvictsTheOlderUnpinnedOne) {
  BlobCache cache(
      cas_, {.max_bytes = 10 * kMiB, .high_watermark_percent = 100, .low_watermark_percent = 90},
      metrics_, hooks_);
  auto a = put('a', 6 * kMiB);
  cache.save_metainfo(a);
  cache.admit(a.digest);
  auto b = put('b', 6 * kMiB);
  cache.make_room(b);  // before the fetch: room for b
  cache.admit(b.digest);
  EXPECT_FALSE(cas_.contains(a.digest));
  EXPECT_FALSE(cache.metainfo(a.digest));
  EXPECT_TRUE(cas_.contains(b.digest));
  ASSERT_EQ(evicted_.size(), 1u);  // the engine was told first
  EXPECT_EQ(evicted_[0], a.digest);
  EXPECT_EQ(metrics_.evictions.value(), 1u);
  EXPECT_EQ(metrics_.cache_bytes.value(), static_cast<int64_t>(6 * kMiB));
}

TEST_F(BlobCacheTest, NeverEvictsAPinnedBlob) {
  BlobCache cache(
      cas_, {.max_bytes = 10 * kMiB, .high_watermark_percent = 100, .low_watermark_percent = 90},
      metrics_, hooks_);
  auto a = put('a', 6 * kMiB);
  cache.admit(a.digest);
  auto pin = cache.pin(a.digest);
  auto b = put('b', 6 * kMiB);
  cache.admit(b.digest);  // over the cap, but a is pinned and b is the most recent
  EXPECT_TRUE(cas_.contains(a.digest));
  pin.reset();
  cache.trim();
  EXPECT_FALSE(cas_.contains(a.digest));  // unpinned and older: now it goes
  EXPECT_TRUE(cas_.contains(b.digest));
}

TEST_F(BlobCacheTest, ABlobUploadingToPeersIsNotEvicted) {
  uint64_t uploaded = 0;
  hooks_.bytes_uploaded = [&](const Digest&) { return uploaded; };
  BlobCache cache(
      cas_, {.max_bytes = 10 * kMiB, .high_watermark_percent = 100, .low_watermark_percent = 90},
      metrics_, hooks_);
  auto a = put('a', 6 * kMiB);
  cache.admit(a.digest);
  uploaded = 4 * kMiB;
  auto b = put('b', 6 * kMiB);
  cache.admit(b.digest);
  EXPECT_TRUE(cas_.contains(a.digest));
}

TEST_F(BlobCacheTest, LargerThanTheCacheOrTheDiskIsACacheFullError) {
  hooks_.free_bytes = [] { return 1 * kMiB; };
  BlobCache cache(cas_, {.max_bytes = 4 * kMiB}, metrics_, hooks_);
  proto::Metainfo big;
  big.digest = Sha256::of("big");
  big.size = 100 * kMiB;
  EXPECT_THROW(cache.make_room(big), CacheFullError);
  proto::Metainfo small = big;
  small.size = 2 * kMiB;  // fits the cap, not the disk
  try {
    cache.make_room(small);
    FAIL() << "no error";
  } catch (const CacheFullError& e) {
    EXPECT_NE(std::string(e.what()).find("disk full"), std::string::npos) << e.what();
  }
}

TEST_F(BlobCacheTest, InventorySplitsCompleteFromInterruptedAndKeepsTheOrder) {
  proto::Metainfo a, b;
  {
    BlobCache cache(cas_, {}, metrics_, hooks_);
    a = put('a', 1 * kMiB);
    cache.save_metainfo(a);
    std::string bytes(2 * kMiB, 'b');
    proto::MetainfoBuilder builder(bytes.size());
    builder.update(bytes.data(), bytes.size());
    b = builder.finish();  // metainfo saved, blob never arrived: an interrupted fetch
    cache.save_metainfo(b);
  }
  BlobCache cache(cas_, {}, metrics_, hooks_);
  auto inventory = cache.load();
  ASSERT_EQ(inventory.complete.size(), 1u);
  EXPECT_EQ(inventory.complete[0], a);
  ASSERT_EQ(inventory.incomplete.size(), 1u);
  EXPECT_EQ(inventory.incomplete[0], b);
  EXPECT_EQ(cache.index().total_bytes(), 1 * kMiB);
}

TEST(Manifest, ParsesLayersAndRefusesEscapingNames) {
  std::string d = Sha256::of("x").str();
  auto layers = parse_manifest(R"({"layers":[{"digest":")" + d +
                               R"(","size":1,"file_name":"weights/model.bin"}]})");
  ASSERT_EQ(layers.size(), 1u);
  EXPECT_EQ(layers[0].file_name, "weights/model.bin");
  EXPECT_EQ(layers[0].digest.str(), d);
  EXPECT_THROW(parse_manifest(R"({"layers":[{"digest":")" + d + R"(","file_name":"../x"}]})"),
               std::invalid_argument);
  EXPECT_THROW(parse_manifest(R"({"layers":[{"digest":")" + d + R"(","file_name":"/etc/x"}]})"),
               std::invalid_argument);
  EXPECT_THROW(parse_manifest("[]"), std::invalid_argument);
}

}  // namespace
}  // namespace fanout::agent
