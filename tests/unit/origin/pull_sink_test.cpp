#include "origin/pull_sink.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "tests/support/temp_dir.h"

namespace fanout::origin {
namespace {

std::string random_bytes(uint64_t size, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::string out(size, '\0');
  for (auto& c : out) c = static_cast<char>(rng());
  return out;
}

proto::Metainfo reference(const std::string& bytes) {
  proto::MetainfoBuilder builder(bytes.size());
  builder.update(bytes.data(), bytes.size());
  return builder.finish();
}

// Writes `bytes` through a sink in parts of `part` bytes, written in reverse (as parallel
// workers may finish them) and hashed in order.
proto::Metainfo through_sink(const BlobStore& cas, const std::string& bytes, uint64_t part) {
  PullSink sink(cas, reference(bytes).digest, bytes.size());
  std::vector<uint64_t> offsets;
  for (uint64_t off = 0; off < bytes.size(); off += part) offsets.push_back(off);
  std::reverse(offsets.begin(), offsets.end());
  for (uint64_t off : offsets) {
    sink.write_part(off, bytes.data() + off, std::min<uint64_t>(part, bytes.size() - off));
  }
  std::reverse(offsets.begin(), offsets.end());
  for (uint64_t off : offsets) {
    sink.hash_in_order(off, bytes.data() + off, std::min<uint64_t>(part, bytes.size() - off));
  }
  return sink.finish();
}

TEST(PullSink, MetainfoEqualsTheStreamingBuilderWhateverThePartSize) {
  test::TempDir dir;
  BlobStore cas(dir.path() / "cas");
  const uint64_t piece = proto::Metainfo::kMinPieceLength;
  for (uint64_t size : {uint64_t{0}, uint64_t{1}, piece - 1, piece, 3 * piece + 5}) {
    std::string bytes = random_bytes(size, size);
    proto::Metainfo expected = reference(bytes);
    // Aligned to pieces, several pieces a part, and parts that cut pieces anywhere.
    for (uint64_t part : {piece, 2 * piece, uint64_t{1} << 20, piece + 12345, uint64_t{999}}) {
      SCOPED_TRACE("size " + std::to_string(size) + ", part " + std::to_string(part));
      if (size / part > 20000) continue;  // keeps the tiny parts of the big blob out
      EXPECT_EQ(through_sink(cas, bytes, part), expected);
    }
  }
}

TEST(PullSink, PublishesOnlyTheExpectedDigestAndLeavesNothingOtherwise) {
  test::TempDir dir;
  BlobStore cas(dir.path() / "cas");
  std::string bytes = random_bytes(5u << 20, 7);
  Digest digest = reference(bytes).digest;
  {
    PullSink sink(cas, digest, bytes.size());
    sink.write_part(0, bytes.data(), bytes.size());
    sink.hash_in_order(0, bytes.data(), bytes.size());
    proto::Metainfo info = sink.finish();
    auto path = sink.publish(info.digest);
    sink.sync();
    EXPECT_EQ(path, cas.path_of(digest));
    EXPECT_EQ(Sha256::of_file(path), digest);
  }
  Digest other = reference("something else").digest;
  {
    PullSink sink(cas, other, bytes.size());
    sink.write_part(0, bytes.data(), bytes.size());
    sink.hash_in_order(0, bytes.data(), bytes.size());
    EXPECT_THROW(sink.publish(sink.finish().digest), CorruptBlobError);
  }
  {
    PullSink sink(cas, other, bytes.size());
    sink.write_part(0, bytes.data(), 100);
    sink.hash_in_order(0, bytes.data(), 100);
    EXPECT_THROW(sink.finish(), proto::ProtoError);  // short
  }
  EXPECT_FALSE(cas.contains(other));
  EXPECT_TRUE(std::filesystem::is_empty(cas.tmp_dir()));
}

}  // namespace
}  // namespace fanout::origin
