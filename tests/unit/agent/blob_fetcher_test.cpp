// BlobFetcher with a fake tracker and a fake swarm, so the single-flight and error paths are
// tested without sockets.
#include "agent/blob_fetcher.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "common/digest/sha256.h"
#include "common/tracker_client/http_tracker_client.h"
#include "tests/support/temp_dir.h"

namespace fanout::agent {
namespace {

using tracker_client::TrackerClientError;

proto::Metainfo metainfo_of(const std::string& bytes) {
  proto::MetainfoBuilder builder(bytes.size());
  builder.update(bytes.data(), bytes.size());
  return builder.finish();
}

class BlobFetcherTest : public ::testing::Test {
 protected:
  BlobFetcherTest() : cas_(dir_.path()) {}

  // A fake swarm: after `delay`, writes `swarm_bytes_` into the CAS (the CAS verifies them)
  // and reports the outcome.
  std::unique_ptr<BlobFetcher> make_fetcher(
      std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    return std::make_unique<BlobFetcher>(
        cas_,
        [this](const Digest& d) {
          ++metainfo_calls_;
          std::this_thread::sleep_for(delay_);
          if (!known_)
            throw TrackerClientError(TrackerClientError::Kind::kNotFound, 404, "HTTP 404");
          if (tracker_down_) {
            throw TrackerClientError(TrackerClientError::Kind::kUnreachable, 0, "refused");
          }
          return proto::MetainfoWithSignature{metainfo_of(content_), signature_};
        },
        [this](const proto::Metainfo& info, bool pieces_bound_to_digest) {
          ++fetch_calls_;
          bound_fetches_ += pieces_bound_to_digest;
          auto promise = std::make_shared<std::promise<swarm::FetchResult>>();
          // Copies only: the thread may outlive the test fixture.
          std::thread([cas = cas_, bytes = swarm_bytes_, delay = delay_, info, promise] {
            std::this_thread::sleep_for(delay);
            swarm::FetchResult r;
            try {
              auto writer = cas.begin(info.digest);
              writer->write(bytes.data(), bytes.size());
              r.path = writer->commit();
              r.ok = true;
            } catch (const std::exception& e) {
              r.error = e.what();
            }
            promise->set_value(r);
          }).detach();
          return promise->get_future().share();
        },
        metrics_, timeout, BlobFetcher::Hooks{}, verifier_);
  }

  test::TempDir dir_;
  BlobStore cas_;
  metrics::Registry registry_;
  AgentMetrics metrics_{registry_};
  std::string content_ = std::string(100000, 'x') + "tail";
  std::string swarm_bytes_ = content_;
  Digest digest_ = Sha256::of(content_);
  bool known_ = true;
  bool tracker_down_ = false;
  std::chrono::milliseconds delay_{0};
  std::atomic<int> metainfo_calls_{0};
  std::atomic<int> fetch_calls_{0};
  std::atomic<int> bound_fetches_{0};
  std::string signature_;             // what the fake tracker sends with the metainfo
  proto::MetainfoVerifier verifier_;  // metainfo_public_keys
};

TEST_F(BlobFetcherTest, FetchesOnceThenServesFromCache) {
  auto fetcher = make_fetcher();
  auto path = fetcher->get(digest_);
  EXPECT_EQ(path, cas_.path_of(digest_));
  EXPECT_EQ(Sha256::of_file(path), digest_);
  EXPECT_EQ(metrics_.fetches.value(), 1u);
  EXPECT_EQ(fetcher->get(digest_), path);
  EXPECT_EQ(metainfo_calls_, 1);
  EXPECT_EQ(metrics_.cache_hits.value(), 1u);
}

TEST_F(BlobFetcherTest, ConcurrentRequestsShareOneFetch) {
  delay_ = std::chrono::milliseconds(100);
  auto fetcher = make_fetcher();
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int i = 0; i < 12; ++i) {
    threads.emplace_back([&] {
      if (fetcher->get(digest_) == cas_.path_of(digest_)) ++ok;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok, 12);
  EXPECT_EQ(metainfo_calls_, 1);
  EXPECT_EQ(fetch_calls_, 1);
  EXPECT_EQ(metrics_.fetches.value(), 1u);
}

TEST_F(BlobFetcherTest, UnknownDigestIsNotFound) {
  known_ = false;
  auto fetcher = make_fetcher();
  try {
    fetcher->get(digest_);
    FAIL();
  } catch (const FetchError& e) {
    EXPECT_EQ(e.kind(), FetchError::Kind::kNotFound);
  }
  EXPECT_EQ(fetch_calls_, 0);
  EXPECT_EQ(metrics_.fetch_failures.value(), 1u);
}

// No metainfo_public_keys: today's behaviour, whatever the tracker sends; the store's
// whole_blob_hash default decides.
TEST_F(BlobFetcherTest, WithoutKeysSignaturesAreNotRequiredNorTrusted) {
  signature_ = proto::MetainfoSigner::generate().sign(metainfo_of(content_));
  auto fetcher = make_fetcher();
  EXPECT_EQ(fetcher->get(digest_), cas_.path_of(digest_));
  EXPECT_EQ(bound_fetches_, 0);
  EXPECT_EQ(metrics_.signed_metainfo_fetches.value(), 0u);
}

TEST_F(BlobFetcherTest, WithKeysAValidSignatureBindsThePiecesToTheDigest) {
  auto signer = proto::MetainfoSigner::generate();
  verifier_ = proto::MetainfoVerifier::of(signer);
  signature_ = signer.sign(metainfo_of(content_));
  auto fetcher = make_fetcher();
  EXPECT_EQ(fetcher->get(digest_), cas_.path_of(digest_));
  EXPECT_EQ(fetch_calls_, 1);
  EXPECT_EQ(bound_fetches_, 1) << "the swarm fetch was told to skip the whole-blob hash";
  EXPECT_EQ(metrics_.signed_metainfo_fetches.value(), 1u);
  EXPECT_EQ(metrics_.metainfo_signature_failures.value(), 0u);
}

// An agent told to require signatures refuses unsigned metainfo and metainfo signed by a key it
// does not hold, before anything is fetched or stored.
TEST_F(BlobFetcherTest, WithKeysMissingOrForeignSignaturesAreRefused) {
  verifier_ = proto::MetainfoVerifier::of(proto::MetainfoSigner::generate());
  auto expect_refused = [&](const std::string& why) {
    auto fetcher = make_fetcher();
    try {
      fetcher->get(digest_);
      ADD_FAILURE() << "fetched with a signature that is " << why;
    } catch (const FetchError& e) {
      EXPECT_EQ(e.kind(), FetchError::Kind::kUnsigned);
      EXPECT_THAT(e.what(), ::testing::HasSubstr("metainfo of " + digest_.str() + " refused"));
      EXPECT_THAT(e.what(), ::testing::HasSubstr(why));
      EXPECT_THAT(e.what(), ::testing::HasSubstr("metainfo_public_keys"));
    }
  };
  signature_ = "";
  expect_refused("missing");
  signature_ = proto::MetainfoSigner::generate().sign(metainfo_of(content_));
  expect_refused("invalid");
  signature_ = "not a signature";
  expect_refused("malformed");
  EXPECT_EQ(fetch_calls_, 0);
  EXPECT_FALSE(cas_.contains(digest_));
  EXPECT_EQ(metrics_.metainfo_signature_failures.value(), 3u);
  EXPECT_EQ(metrics_.fetch_failures.value(), 3u);
}

TEST_F(BlobFetcherTest, TrackerDownIsATrackerError) {
  tracker_down_ = true;
  auto fetcher = make_fetcher();
  try {
    fetcher->get(digest_);
    FAIL();
  } catch (const FetchError& e) {
    EXPECT_EQ(e.kind(), FetchError::Kind::kTracker);
  }
}

TEST_F(BlobFetcherTest, WrongBytesFromTheSwarmAreNeverStoredOrServed) {
  swarm_bytes_[500] ^= 1;
  auto fetcher = make_fetcher();
  try {
    fetcher->get(digest_);
    FAIL();
  } catch (const FetchError& e) {
    EXPECT_EQ(e.kind(), FetchError::Kind::kSwarm);
    EXPECT_NE(std::string(e.what()).find(digest_.str()), std::string::npos) << e.what();
  }
  EXPECT_FALSE(cas_.contains(digest_));
  EXPECT_EQ(metrics_.fetch_failures.value(), 1u);
  // A failure is not remembered: the next request tries again, and succeeds once the swarm does.
  swarm_bytes_ = content_;
  EXPECT_EQ(fetcher->get(digest_), cas_.path_of(digest_));
  EXPECT_EQ(metainfo_calls_, 2);
}

TEST_F(BlobFetcherTest, SlowFetchTimesOutButGoesOn) {
  delay_ = std::chrono::milliseconds(300);
  auto fetcher = make_fetcher(std::chrono::milliseconds(150));
  try {
    fetcher->get(digest_);
    FAIL();
  } catch (const FetchError& e) {
    EXPECT_EQ(e.kind(), FetchError::Kind::kTimeout);
  }
  // The fetch finishes in the background; a later request finds the blob.
  for (int i = 0; i < 50 && !cas_.contains(digest_); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_TRUE(cas_.contains(digest_));
  EXPECT_EQ(fetch_calls_, 1);
}

TEST_F(BlobFetcherTest, ShutdownReleasesWaiters) {
  delay_ = std::chrono::milliseconds(2000);
  auto fetcher = make_fetcher();
  std::thread waiter([&] {
    try {
      fetcher->get(digest_);
      ADD_FAILURE() << "get() returned during shutdown";
    } catch (const FetchError& e) {
      EXPECT_EQ(e.kind(), FetchError::Kind::kShuttingDown);
    }
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  auto started = std::chrono::steady_clock::now();
  fetcher->shutdown();
  waiter.join();
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(1));
  EXPECT_THROW(fetcher->get(Sha256::of("other")), FetchError);
}

}  // namespace
}  // namespace fanout::agent
