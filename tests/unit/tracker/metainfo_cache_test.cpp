#include "tracker/metainfo_cache.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "common/placement/ring.h"
#include "proto/error_body.h"
#include "tests/support/ports.h"
#include "tests/unit/tracker/fakes.h"

namespace fanout::tracker {
namespace {

using testing::FakeOrigin;
using ::testing::HasSubstr;
using testing::make_metainfo;

class MetainfoCacheTest : public ::testing::Test {
 protected:
  MetainfoCache make(std::vector<std::string> origins) {
    return MetainfoCache({std::move(origins), std::chrono::seconds(2)}, fetches_, hits_);
  }
  // The error get() throws, or a failed expectation.
  MetainfoError error_of(MetainfoCache& cache, const Digest& digest) {
    try {
      cache.get(digest);
    } catch (const MetainfoError& e) {
      return e;
    }
    ADD_FAILURE() << "get(" << digest.str() << ") did not throw";
    return MetainfoError(MetainfoError::Kind::kNotFound, "");
  }

  metrics::Counter fetches_;
  metrics::Counter hits_;
};

TEST_F(MetainfoCacheTest, FetchesOnceThenServesFromMemory) {
  FakeOrigin origin;
  proto::Metainfo m = make_metainfo(10'000, 1);
  origin.serve(m);
  MetainfoCache cache = make({origin.url()});

  auto first = cache.get(m.digest);
  EXPECT_EQ(first->metainfo, m);
  EXPECT_EQ(first->encoded, m.encode());
  auto second = cache.get(m.digest);
  EXPECT_EQ(second, first);
  EXPECT_EQ(origin.requests(), 1);
  EXPECT_EQ(fetches_.value(), 1u);
  EXPECT_EQ(hits_.value(), 1u);
  EXPECT_EQ(cache.size(), 1u);
}

// Origins that start signing are heard without restarting the tracker: an unsigned entry is asked
// for again once it is old; a signed one never is.
TEST_F(MetainfoCacheTest, UnsignedEntriesAreAskedForAgainOnceOld) {
  FakeOrigin origin;
  proto::Metainfo m = make_metainfo(10'000, 1);
  origin.serve(m);
  MetainfoCache cache({{origin.url()}, std::chrono::seconds(2), std::chrono::milliseconds(50)},
                      fetches_, hits_);
  EXPECT_EQ(cache.get(m.digest)->signature, "");
  EXPECT_EQ(cache.get(m.digest)->signature, "") << "young: from memory";
  EXPECT_EQ(origin.requests(), 1);
  origin.serve(m, "c2lnbmVk");
  std::this_thread::sleep_for(std::chrono::milliseconds(80));
  EXPECT_EQ(cache.get(m.digest)->signature, "c2lnbmVk");
  EXPECT_EQ(origin.requests(), 2);
  std::this_thread::sleep_for(std::chrono::milliseconds(80));
  EXPECT_EQ(cache.get(m.digest)->signature, "c2lnbmVk");
  EXPECT_EQ(origin.requests(), 2) << "signed entries are kept for good";
}

TEST_F(MetainfoCacheTest, AnUnsignedEntryIsStillServedWhenTheOriginsAreGone) {
  auto origin = std::make_unique<FakeOrigin>();
  proto::Metainfo m = make_metainfo(10'000, 1);
  origin->serve(m);
  MetainfoCache cache({{origin->url()}, std::chrono::seconds(1), std::chrono::milliseconds(10)},
                      fetches_, hits_);
  ASSERT_EQ(cache.get(m.digest)->metainfo, m);
  origin.reset();
  std::this_thread::sleep_for(std::chrono::milliseconds(30));
  EXPECT_EQ(cache.get(m.digest)->metainfo, m);
  EXPECT_EQ(cache.size(), 1u);
}

TEST_F(MetainfoCacheTest, ConcurrentMissesShareOneOriginRequest) {
  FakeOrigin origin;
  origin.set_delay(std::chrono::milliseconds(300));
  proto::Metainfo m = make_metainfo(5'000, 2);
  origin.serve(m);
  MetainfoCache cache = make({origin.url()});

  constexpr int kCallers = 16;
  std::vector<std::shared_ptr<const CachedMetainfo>> results(kCallers);
  std::vector<std::thread> threads;
  for (int i = 0; i < kCallers; ++i) {
    threads.emplace_back([&, i] { results[i] = cache.get(m.digest); });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(origin.requests(), 1);
  EXPECT_EQ(fetches_.value(), 1u);
  for (const auto& r : results) {
    ASSERT_NE(r, nullptr);
    EXPECT_EQ(r, results[0]);  // the very same entry
  }
  EXPECT_EQ(results[0]->metainfo, m);
}

TEST_F(MetainfoCacheTest, ConcurrentMissesShareOneFailureToo) {
  FakeOrigin origin;
  origin.set_delay(std::chrono::milliseconds(300));
  MetainfoCache cache = make({origin.url()});
  Digest unknown = make_metainfo(100, 3).digest;
  std::atomic<int> not_found{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&] {
      try {
        cache.get(unknown);
      } catch (const MetainfoError& e) {
        if (e.kind() == MetainfoError::Kind::kNotFound) ++not_found;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(not_found.load(), 8);
  EXPECT_EQ(origin.requests(), 1);
}

TEST_F(MetainfoCacheTest, Origin404IsNotFoundAndNotCached) {
  FakeOrigin origin;
  MetainfoCache cache = make({origin.url()});
  proto::Metainfo m = make_metainfo(100, 4);
  MetainfoError e = error_of(cache, m.digest);
  EXPECT_EQ(e.kind(), MetainfoError::Kind::kNotFound);
  EXPECT_THAT(e.what(), HasSubstr(m.digest.str()));
  // The blob reaches the origin later: the next lookup finds it.
  origin.serve(m);
  EXPECT_EQ(cache.get(m.digest)->metainfo, m);
  EXPECT_EQ(origin.requests(), 2);
}

TEST_F(MetainfoCacheTest, OriginErrorsBecomeOriginFailedWithTheirDetail) {
  FakeOrigin origin;
  MetainfoCache cache = make({origin.url()});
  proto::Metainfo m = make_metainfo(100, 5);

  origin.reply(m.digest, {500, proto::encode_error_body({"internal", "disk on fire"})});
  MetainfoError e = error_of(cache, m.digest);
  EXPECT_EQ(e.kind(), MetainfoError::Kind::kOriginFailed);
  EXPECT_THAT(e.what(), HasSubstr("HTTP 500"));
  EXPECT_THAT(e.what(), HasSubstr("disk on fire"));

  origin.reply(m.digest, {409, "plain text reason"});
  e = error_of(cache, m.digest);
  EXPECT_EQ(e.kind(), MetainfoError::Kind::kOriginFailed);
  EXPECT_THAT(e.what(), HasSubstr("HTTP 409: plain text reason"));
}

TEST_F(MetainfoCacheTest, InvalidOrForeignMetainfoIsRefused) {
  FakeOrigin origin;
  MetainfoCache cache = make({origin.url()});
  proto::Metainfo m = make_metainfo(100, 6);
  proto::Metainfo other = make_metainfo(100, 7);

  origin.reply(m.digest, {200, "not bencode"});
  MetainfoError e = error_of(cache, m.digest);
  EXPECT_EQ(e.kind(), MetainfoError::Kind::kOriginFailed);
  EXPECT_THAT(e.what(), HasSubstr("invalid metainfo"));

  origin.reply(m.digest, {200, other.encode()});
  e = error_of(cache, m.digest);
  EXPECT_EQ(e.kind(), MetainfoError::Kind::kOriginFailed);
  EXPECT_THAT(e.what(), HasSubstr("sent the metainfo of " + other.digest.str()));
  EXPECT_EQ(cache.size(), 0u);
}

TEST_F(MetainfoCacheTest, UnreachableOriginIsOriginFailed) {
  MetainfoCache cache = make({"http://127.0.0.1:" + std::to_string(test::free_port())});
  MetainfoError e = error_of(cache, make_metainfo(100, 8).digest);
  EXPECT_EQ(e.kind(), MetainfoError::Kind::kOriginFailed);
  EXPECT_THAT(e.what(), HasSubstr("unreachable"));
}

// Origins are asked in ring order for the digest (rendezvous on their URLs, as agents order
// them), so an owner comes first; the ports are random, so the test computes that order.
TEST_F(MetainfoCacheTest, TriesOriginsInRingOrderUntilOneHasIt) {
  FakeOrigin empty;
  FakeOrigin broken;
  FakeOrigin holder;
  proto::Metainfo m = make_metainfo(100, 9);
  broken.reply(m.digest, {503, proto::encode_error_body({"unavailable", "starting"})});
  holder.serve(m);

  std::vector<std::string> urls{empty.url(), broken.url(), holder.url()};
  MetainfoCache cache = make(urls);
  EXPECT_EQ(cache.get(m.digest)->metainfo, m);
  std::map<std::string, FakeOrigin*> by_url{
      {empty.url(), &empty}, {broken.url(), &broken}, {holder.url(), &holder}};
  std::vector<std::string> order = placement::Ring(urls).owners(m.digest, urls.size());
  size_t holder_at = std::find(order.begin(), order.end(), holder.url()) - order.begin();
  for (size_t i = 0; i < order.size(); ++i) {
    EXPECT_EQ(by_url[order[i]]->requests(), i <= holder_at ? 1 : 0)
        << order[i] << " is number " << i << " in ring order; the holder is " << holder_at;
  }
  EXPECT_EQ(fetches_.value(), holder_at + 1);

  // When none has it: all 404 is a 404; any other failure makes it a 502 naming that origin.
  Digest unknown = make_metainfo(100, 10).digest;
  MetainfoCache all_empty = make({empty.url(), holder.url()});
  EXPECT_EQ(error_of(all_empty, unknown).kind(), MetainfoError::Kind::kNotFound);
  broken.reply(unknown, {503, proto::encode_error_body({"unavailable", "starting"})});
  MetainfoError e = error_of(cache, unknown);
  EXPECT_EQ(e.kind(), MetainfoError::Kind::kOriginFailed);
  EXPECT_THAT(e.what(), HasSubstr(broken.url() + " answered HTTP 503: unavailable: starting"));
}

}  // namespace
}  // namespace fanout::tracker
