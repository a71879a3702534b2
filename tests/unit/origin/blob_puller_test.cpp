#include "origin/blob_puller.h"

#include <gtest/gtest.h>

#include <fstream>
#include <mutex>
#include <thread>
#include <vector>

#include "common/digest/sha256.h"
#include "common/objectstore/directory_store.h"
#include "tests/support/random_blob.h"
#include "tests/support/temp_dir.h"
#include "tests/unit/origin/counting_object_store.h"

namespace fanout::origin {
namespace {

class BlobPullerTest : public ::testing::Test {
 protected:
  BlobPullerTest() : objects_(dir_ / "objects"), counting_(objects_), cas_(dir_ / "cache") {}

  std::unique_ptr<BlobPuller> make_puller() {
    return std::make_unique<BlobPuller>(
        counting_, cas_, dir_ / "cache" / "metainfo",
        [this](const proto::Metainfo& info, const std::filesystem::path& path) {
          std::lock_guard lock(mu_);
          seeded_.emplace_back(info, path);
        },
        metrics_);
  }

  Digest put_random(uint64_t size, uint64_t seed) {
    auto tmp = dir_ / "src";
    Digest d = test::write_random_file(tmp, size, seed);
    objects_.put(blob_key(d), tmp);
    return d;
  }

  size_t seeded_count() {
    std::lock_guard lock(mu_);
    return seeded_.size();
  }

  test::TempDir dir_;
  DirectoryStore objects_;
  test::CountingObjectStore counting_;
  BlobStore cas_;
  metrics::Registry registry_;
  OriginMetrics metrics_{registry_};
  std::mutex mu_;
  std::vector<std::pair<proto::Metainfo, std::filesystem::path>> seeded_;
};

TEST_F(BlobPullerTest, PullsVerifiesStoresAndSeeds) {
  const uint64_t size = (9u << 20) + 5;  // three pieces, the last one short
  Digest d = put_random(size, 1);
  auto puller = make_puller();
  auto blob = puller->pull(d);
  EXPECT_EQ(blob->metainfo.digest, d);
  EXPECT_EQ(blob->metainfo.size, size);
  EXPECT_EQ(blob->metainfo.piece_count(), 3u);
  EXPECT_EQ(blob->path, cas_.path_of(d));
  EXPECT_EQ(Sha256::of_file(blob->path), d);
  ASSERT_EQ(seeded_count(), 1u);
  EXPECT_EQ(seeded_[0].first, blob->metainfo);
  EXPECT_EQ(metrics_.pulls.value(), 1u);
  EXPECT_EQ(metrics_.objectstore_bytes_read.value(), size);
  EXPECT_TRUE(std::filesystem::exists(dir_ / "cache" / "metainfo" / d.hex()));

  // Already held: no second read, no second seed.
  EXPECT_EQ(puller->pull(d), blob);
  EXPECT_EQ(counting_.opens, 1);
  EXPECT_EQ(seeded_count(), 1u);
}

TEST_F(BlobPullerTest, ConcurrentRequestsShareOnePull) {
  Digest d = put_random(6u << 20, 2);
  counting_.read_delay = std::chrono::milliseconds(20);
  auto puller = make_puller();
  constexpr int kThreads = 16;
  std::vector<std::shared_ptr<const PulledBlob>> results(kThreads);
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] { results[i] = puller->pull(d); });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(counting_.opens, 1);
  EXPECT_EQ(counting_.bytes_read, 6u << 20);
  EXPECT_EQ(metrics_.pulls.value(), 1u);
  EXPECT_EQ(seeded_count(), 1u);
  for (const auto& r : results) EXPECT_EQ(r, results[0]);
}

TEST_F(BlobPullerTest, ConcurrentRequestsShareOneFailure) {
  Digest d = put_random(3u << 20, 3);
  // Corrupt the object in place: its name no longer matches its bytes.
  {
    std::fstream f(objects_.path_of(blob_key(d)), std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(12345);
    f.put('\x42');
  }
  counting_.read_delay = std::chrono::milliseconds(20);
  auto puller = make_puller();
  constexpr int kThreads = 8;
  std::atomic<int> corrupt{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&] {
      try {
        puller->pull(d);
      } catch (const CorruptObjectError& e) {
        if (std::string(e.what()).find(d.str()) != std::string::npos) ++corrupt;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(corrupt, kThreads);
  EXPECT_EQ(counting_.opens, 1);
  EXPECT_EQ(metrics_.pull_failures.value(), 1u);
}

TEST_F(BlobPullerTest, CorruptObjectIsRefusedAndNothingStored) {
  // An object stored under the wrong name.
  auto tmp = dir_ / "src";
  test::write_random_file(tmp, 5u << 20, 4);
  Digest wrong = Sha256::of("something else");
  objects_.put(blob_key(wrong), tmp);

  auto puller = make_puller();
  try {
    puller->pull(wrong);
    FAIL() << "a corrupt object was accepted";
  } catch (const CorruptObjectError& e) {
    EXPECT_NE(std::string(e.what()).find(wrong.str()), std::string::npos) << e.what();
  }
  EXPECT_FALSE(cas_.contains(wrong));
  EXPECT_EQ(seeded_count(), 0u);
  EXPECT_FALSE(std::filesystem::exists(dir_ / "cache" / "metainfo" / wrong.hex()));
  // No temp file is left behind either.
  if (std::filesystem::exists(cas_.tmp_dir())) {
    EXPECT_TRUE(std::filesystem::is_empty(cas_.tmp_dir()));
  }
  // A failure is not remembered: the next request reads the object again.
  EXPECT_THROW(puller->pull(wrong), CorruptObjectError);
  EXPECT_EQ(counting_.opens, 2);
  EXPECT_EQ(metrics_.pull_failures.value(), 2u);
}

TEST_F(BlobPullerTest, AbsentObjectIsNotFound) {
  auto puller = make_puller();
  Digest d = Sha256::of("never pushed");
  try {
    puller->pull(d);
    FAIL();
  } catch (const BlobNotFoundError& e) {
    EXPECT_NE(std::string(e.what()).find(blob_key(d)), std::string::npos);
  }
  EXPECT_EQ(metrics_.pull_failures.value(), 1u);
}

TEST_F(BlobPullerTest, EmptyBlob) {
  Digest d = put_random(0, 5);
  auto blob = make_puller()->pull(d);
  EXPECT_EQ(blob->metainfo.size, 0u);
  EXPECT_EQ(blob->metainfo.piece_count(), 0u);
  EXPECT_EQ(std::filesystem::file_size(blob->path), 0u);
}

TEST_F(BlobPullerTest, RestartUsesTheCacheWithoutReadingOrHashingAgain) {
  Digest d = put_random(5u << 20, 6);
  proto::Metainfo first = make_puller()->pull(d)->metainfo;
  EXPECT_EQ(counting_.opens, 1);

  // A new puller (a restarted origin) seeds what the cache holds at start.
  auto restarted = make_puller();
  EXPECT_EQ(restarted->reseed_cached(), 1u);
  EXPECT_EQ(seeded_count(), 2u);
  EXPECT_EQ(restarted->pull(d)->metainfo, first);
  EXPECT_EQ(counting_.opens, 1);
  EXPECT_EQ(seeded_count(), 2u);
}

TEST_F(BlobPullerTest, LostMetainfoIsRebuiltFromTheCacheNotTheObjectStore) {
  Digest d = put_random(5u << 20, 7);
  proto::Metainfo first = make_puller()->pull(d)->metainfo;
  std::filesystem::remove(dir_ / "cache" / "metainfo" / d.hex());
  auto restarted = make_puller();
  EXPECT_EQ(restarted->reseed_cached(), 0u);
  EXPECT_EQ(restarted->pull(d)->metainfo, first);
  EXPECT_EQ(counting_.opens, 1);
  EXPECT_TRUE(std::filesystem::exists(dir_ / "cache" / "metainfo" / d.hex()));
}

}  // namespace
}  // namespace fanout::origin
