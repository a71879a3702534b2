#include "proto/metainfo.h"

#include <gtest/gtest.h>

#include <random>

namespace fanout::proto {
namespace {

std::string random_bytes(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng());
  return s;
}

Metainfo build(const std::string& bytes) {
  MetainfoBuilder b(bytes.size());
  // Odd-sized updates cross piece boundaries.
  for (size_t off = 0; off < bytes.size(); off += 777777) {
    b.update(bytes.data() + off, std::min<size_t>(777777, bytes.size() - off));
  }
  return b.finish();
}

TEST(MetainfoTest, PieceLengthIsAPureFunctionOfSize) {
  EXPECT_EQ(Metainfo::piece_length_for(0), 1u << 20);
  EXPECT_EQ(Metainfo::piece_length_for(1), 1u << 20);
  EXPECT_EQ(Metainfo::piece_length_for(256ull << 20), 1u << 20);  // the benchmark's blob
  EXPECT_EQ(Metainfo::piece_length_for(16ull << 30), 1u << 20);   // exactly 16384 pieces
  EXPECT_EQ(Metainfo::piece_length_for((16ull << 30) + 1), 2u << 20);
  EXPECT_EQ(Metainfo::piece_length_for(64ull << 30), 4u << 20);
  uint64_t size = 200ull << 30;  // a 200 GiB layer
  uint32_t pl = Metainfo::piece_length_for(size);
  EXPECT_EQ(pl, 16u << 20);
  EXPECT_LE(Metainfo::piece_count_for(size, pl), Metainfo::kTargetMaxPieces);
}

TEST(MetainfoTest, BuilderHashesWholeBlobAndEveryPiece) {
  std::string bytes = random_bytes((2 << 20) + (1 << 18) + 3, 1);
  Metainfo m = build(bytes);
  EXPECT_EQ(m.digest, Sha256::of(bytes));
  ASSERT_EQ(m.piece_count(), 3u);
  EXPECT_EQ(m.piece_size(2), (1u << 18) + 3);
  for (uint32_t i = 0; i < 3; ++i) {
    EXPECT_EQ(m.pieces[i], Sha256::of(bytes.data() + m.piece_offset(i), m.piece_size(i)).bytes());
  }
}

TEST(MetainfoTest, EncodingIsCanonicalAndRoundTrips) {
  std::string bytes = random_bytes(5 << 20, 2);
  Metainfo a = build(bytes), b = build(bytes);
  EXPECT_EQ(a.encode(), b.encode());
  EXPECT_EQ(Metainfo::decode(a.encode()), a);
  EXPECT_EQ(a.encode().substr(0, 9), "d6:digest");  // sorted keys
}

TEST(MetainfoTest, DecodeRejectsEveryMalformedField) {
  Metainfo m = build(random_bytes(5 << 20, 3));
  std::string good = m.encode();
  EXPECT_THROW(Metainfo::decode("not bencode"), ProtoError);
  EXPECT_THROW(Metainfo::decode("li1ee"), ProtoError);
  EXPECT_THROW(Metainfo::decode(good.substr(0, good.size() - 1)), ProtoError);

  Metainfo wrong_length = m;
  wrong_length.piece_length = 8u << 20;
  EXPECT_THROW(Metainfo::decode(wrong_length.encode()), ProtoError);
  Metainfo short_table = m;
  short_table.pieces.pop_back();
  EXPECT_THROW(Metainfo::decode(short_table.encode()), ProtoError);
  Metainfo huge = m;
  huge.size = Metainfo::kMaxSize + 1;
  EXPECT_THROW(Metainfo::decode(huge.encode()), ProtoError);
  std::string bad_digest = good;
  bad_digest.replace(bad_digest.find("sha256:"), 7, "sha512:");
  EXPECT_THROW(Metainfo::decode(bad_digest), ProtoError);
}

TEST(MetainfoTest, BuilderRejectsSizeMismatch) {
  MetainfoBuilder b(10);
  b.update("12345", 5);
  EXPECT_THROW(b.finish(), ProtoError);
  EXPECT_THROW(b.update("1234567", 7), ProtoError);
}

TEST(MetainfoTest, EmptyBlobHasNoPieces) {
  Metainfo m = build("");
  EXPECT_EQ(m.piece_count(), 0u);
  EXPECT_EQ(m.digest, Sha256::of(""));
  EXPECT_EQ(Metainfo::decode(m.encode()), m);
}

}  // namespace
}  // namespace fanout::proto
