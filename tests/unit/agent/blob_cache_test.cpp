#include "agent/blob_cache.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "agent/model_dirs.h"
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
                          .free_bytes = {},
                          .release_links = {}};
};

// Bytes the cache directory really holds on disk: each inode once, however many links it has
// (what `du` counts), so bytes kept alive by a materialised directory's hard link show up.
uint64_t disk_bytes(const std::filesystem::path& root) {
  std::set<std::pair<dev_t, ino_t>> seen;
  uint64_t total = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(root)) {
    struct stat st {};
    if (::lstat(e.path().c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
    if (seen.insert({st.st_dev, st.st_ino}).second) total += static_cast<uint64_t>(st.st_size);
  }
  return total;
}

// What PullService::materialise makes: <models>/<model>/<version>/<file> hard links.
std::filesystem::path materialise(const std::filesystem::path& models, const BlobStore& cas,
                                  const std::string& version,
                                  const std::vector<std::pair<std::string, Digest>>& files) {
  auto dir = models / "llama" / version;
  for (const auto& [name, digest] : files) {
    std::filesystem::create_directories((dir / name).parent_path());
    std::filesystem::create_hard_link(cas.path_of(digest), dir / name);
  }
  return dir;
}

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

// Issue 5: a cache capped below two versions. Evicting the old version's own layer removes the
// old version's directory too, so its bytes leave the disk (a hard link would keep them, outside
// the cap); the pinned new version's directory, sharing the base layer, stays whole.
TEST_F(BlobCacheTest, EvictingAnOldVersionsLayerFreesItsBytesAndKeepsThePinnedVersionsDirectory) {
  auto models = dir_.path() / "models";
  hooks_.release_links = [&](const std::filesystem::path& blob) {
    remove_model_dirs_linking(models, blob);
  };
  BlobCache cache(
      cas_, {.max_bytes = 10 * kMiB, .high_watermark_percent = 100, .low_watermark_percent = 90},
      metrics_, hooks_);
  auto base = put('a', 4 * kMiB);
  auto adapter1 = put('b', 2 * kMiB);
  cache.admit(base.digest);
  cache.admit(adapter1.digest);
  auto v1 = materialise(models, cas_, "1",
                        {{"base.bin", base.digest}, {"lora/adapter.bin", adapter1.digest}});
  EXPECT_EQ(disk_bytes(dir_.path()), 6 * kMiB);

  // v2 is pulled (its layers pinned, as a watched alias's current version) and shares the base.
  auto pin_base = cache.pin(base.digest);
  auto adapter2 = put('c', 2 * kMiB);
  auto extra = put('d', 3 * kMiB);
  auto pin_adapter2 = cache.pin(adapter2.digest);
  auto pin_extra = cache.pin(extra.digest);
  cache.admit(adapter2.digest);
  cache.admit(extra.digest);  // 11 MiB > 10: adapter1, the only unpinned blob, goes
  auto v2 = materialise(
      models, cas_, "2",
      {{"base.bin", base.digest}, {"lora/adapter.bin", adapter2.digest}, {"x.bin", extra.digest}});

  EXPECT_FALSE(cas_.contains(adapter1.digest));
  EXPECT_FALSE(std::filesystem::exists(v1)) << "the old version's directory kept a link";
  EXPECT_EQ(disk_bytes(dir_.path()), 9 * kMiB) << "evicted bytes are still on disk";
  EXPECT_EQ(cache.index().total_bytes(), 9 * kMiB);
  ASSERT_TRUE(std::filesystem::exists(v2 / "lora/adapter.bin"));
  EXPECT_EQ(Sha256::of_file(v2 / "base.bin"), base.digest);
  struct stat st {};
  ASSERT_EQ(::stat(cas_.path_of(base.digest).c_str(), &st), 0);
  EXPECT_EQ(st.st_nlink, 2u);  // the CAS and v2's directory; v1's link went with v1

  // Once v2 is no longer pinned it can go the same way, directory included.
  pin_base.reset();
  pin_adapter2.reset();
  pin_extra.reset();
  auto big = put('e', 8 * kMiB);
  cache.admit(big.digest);
  EXPECT_FALSE(std::filesystem::exists(v2));
  EXPECT_EQ(disk_bytes(dir_.path()), cache.index().total_bytes());
}

TEST(ModelDirs, ABlobWithoutOtherLinksRemovesNothing) {
  test::TempDir dir;
  std::filesystem::create_directories(dir / "models" / "m" / "1");
  std::ofstream(dir / "models" / "m" / "1" / "f") << "x";
  std::ofstream(dir / "blob") << "x";
  EXPECT_EQ(remove_model_dirs_linking(dir / "models", dir / "blob"), 0u);
  EXPECT_TRUE(std::filesystem::exists(dir / "models" / "m" / "1" / "f"));
  EXPECT_EQ(remove_model_dirs_linking(dir / "missing", dir / "blob"), 0u);
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

// A resumed fetch is checked against metainfo_public_keys like a new one, so the signature is
// kept beside the metainfo (and goes with it on eviction); an inventory scan ignores it.
TEST_F(BlobCacheTest, KeepsTheMetainfoSignatureForResumedFetches) {
  proto::Metainfo a;
  {
    BlobCache cache(cas_, {}, metrics_, hooks_);
    a = put('a', 1 * kMiB);
    cache.save_metainfo(a);  // unsigned first, as by an agent without keys
    EXPECT_EQ(cache.metainfo_signature(a.digest), "");
    cache.save_metainfo(a, "c2lnbmF0dXJl");
  }
  BlobCache cache(cas_, {}, metrics_, hooks_);
  auto inventory = cache.load();
  ASSERT_EQ(inventory.complete.size(), 1u);
  EXPECT_TRUE(inventory.incomplete.empty()) << "the .sig file is not a blob's metainfo";
  EXPECT_EQ(cache.metainfo_signature(a.digest), "c2lnbmF0dXJl");
  EXPECT_EQ(*cache.metainfo(a.digest), a);
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
