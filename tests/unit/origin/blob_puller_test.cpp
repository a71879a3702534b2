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
  const uint64_t size = (2u << 20) + 5;  // three pieces, the last one short
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
  // The metainfo file follows once the blob is durable (fsynced in the background).
  for (int i = 0; i < 200 && !std::filesystem::exists(dir_ / "cache" / "metainfo" / d.hex()); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_TRUE(std::filesystem::exists(dir_ / "cache" / "metainfo" / d.hex()));

  // Each part read once; already held: no second read, no second seed.
  const uint64_t part = PullOptions{}.part_size;
  const int parts = static_cast<int>((size + part - 1) / part);
  EXPECT_EQ(counting_.opens, parts);
  EXPECT_EQ(puller->pull(d), blob);
  EXPECT_EQ(counting_.opens, parts);
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

TEST_F(BlobPullerTest, ACachedBlobThatNoLongerHashesIsDroppedAndPulledAgain) {
  // A crash before the background fsync can leave a published file without its metainfo file
  // and with bytes that never reached the disk; such a file is hashed again, not trusted.
  Digest d = put_random(5u << 20, 17);
  make_puller()->pull(d);
  std::filesystem::remove(dir_ / "cache" / "metainfo" / d.hex());
  std::filesystem::permissions(cas_.path_of(d), std::filesystem::perms::owner_write,
                               std::filesystem::perm_options::add);
  {
    std::fstream f(cas_.path_of(d), std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(4096);
    f.write("\0\0\0\0", 4);
  }
  auto restarted = make_puller();
  EXPECT_EQ(restarted->reseed_cached(), 0u);
  auto blob = restarted->pull(d);
  EXPECT_EQ(blob->metainfo.digest, d);
  EXPECT_EQ(Sha256::of_file(blob->path), d);
  EXPECT_EQ(counting_.bytes_read, 2u * (5u << 20)) << "the object store was not read again";
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

// Fails the first `failures` range reads with a transient error, as a 5xx or a reset would.
class FlakyObjectStore : public test::CountingObjectStore {
 public:
  FlakyObjectStore(ObjectStore& inner, int failures)
      : CountingObjectStore(inner), failures_(failures) {}
  std::unique_ptr<ObjectReader> open_range(const std::string& key, uint64_t offset,
                                           uint64_t length) override {
    if (failures_-- > 0) throw TransientObjectStoreError("injected 503 SlowDown");
    return CountingObjectStore::open_range(key, offset, length);
  }

 private:
  std::atomic<int> failures_;
};

TEST_F(BlobPullerTest, TransientFailuresAreRetriedWithBackoff) {
  Digest d = put_random(10u << 20, 8);
  FlakyObjectStore flaky(objects_, 3);
  std::vector<std::chrono::milliseconds> sleeps;
  PullOptions options;
  options.part_size = 1u << 20;
  options.concurrency = 1;
  options.sleep = [&](std::chrono::milliseconds ms) { sleeps.push_back(ms); };
  BlobPuller puller(
      flaky, cas_, dir_ / "cache" / "metainfo",
      [](const proto::Metainfo&, const std::filesystem::path&) {}, metrics_, options);
  EXPECT_EQ(puller.pull(d)->metainfo.digest, d);
  EXPECT_EQ(metrics_.objectstore_retries.value(), 3u);
  ASSERT_EQ(sleeps.size(), 3u);
  // Full jitter under a doubling cap: 100, 200, 400 ms.
  EXPECT_LE(sleeps[0].count(), 100);
  EXPECT_LE(sleeps[1].count(), 200);
  EXPECT_LE(sleeps[2].count(), 400);
  EXPECT_EQ(flaky.bytes_read, 10u << 20);
}

TEST_F(BlobPullerTest, GivingUpLeavesNothingBehind) {
  Digest d = put_random(3u << 20, 9);
  FlakyObjectStore flaky(objects_, 100);
  PullOptions options;
  options.max_attempts = 3;
  options.sleep = [](std::chrono::milliseconds) {};
  BlobPuller puller(
      flaky, cas_, dir_ / "cache" / "metainfo",
      [](const proto::Metainfo&, const std::filesystem::path&) {}, metrics_, options);
  try {
    puller.pull(d);
    FAIL();
  } catch (const ObjectStoreError& e) {
    EXPECT_NE(std::string(e.what()).find("gave up after 3 attempts"), std::string::npos)
        << e.what();
  }
  EXPECT_FALSE(cas_.contains(d));
  EXPECT_TRUE(std::filesystem::is_empty(cas_.tmp_dir()));
  EXPECT_EQ(puller.status(d).state, PullStatus::State::kFailed);
}

TEST_F(BlobPullerTest, CacheCapEvictsTheLeastRecentlyUsedIdleBlobUnseedingItFirst) {
  Digest a = put_random(2u << 20, 10), b = put_random(2u << 20, 11), c = put_random(2u << 20, 12);
  auto puller = make_puller();
  std::vector<Digest> unseeded;
  puller->set_cache_cap(
      5u << 20,
      [&](const Digest& d) {
        EXPECT_TRUE(cas_.contains(d)) << "unseeded after the file was removed";
        unseeded.push_back(d);
      },
      [&](const Digest& d) { return d == b; });  // a swarm is fetching b
  puller->pull(a);
  puller->pull(b);
  puller->pull(a);  // a is now more recent than b, but b is busy
  puller->pull(c);
  ASSERT_EQ(unseeded.size(), 1u);
  EXPECT_EQ(unseeded[0], a);
  EXPECT_FALSE(cas_.contains(a));
  EXPECT_TRUE(cas_.contains(b));
  EXPECT_TRUE(cas_.contains(c));
  EXPECT_EQ(metrics_.evictions.value(), 1u);
  EXPECT_EQ(puller->status(a).state, PullStatus::State::kAbsent);
}

}  // namespace
}  // namespace fanout::origin
