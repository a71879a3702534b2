// Pieces streamed into a partial blob block by block (PartialBlob::begin_stream / write_block /
// finish_stream): bytes land as they arrive, but a piece counts only once what was written hashed
// right, and a writer that was replaced or came too late cannot touch it.
#include <gtest/gtest.h>

#include "common/store/blob_store.h"
#include "common/store/partial_blob.h"
#include "tests/support/temp_dir.h"

namespace fanout {
namespace {

using Result = PartialBlob::StreamResult;

struct StreamFixture : ::testing::Test {
  test::TempDir dir;
  BlobStore store{dir.path()};
  std::string bytes = std::string(10, 'a') + std::string(10, 'b') + std::string(5, 'c');
  Digest digest = Sha256::of(bytes);
  std::vector<Digest::Bytes> hashes{Sha256::of(bytes.substr(0, 10)).bytes(),
                                    Sha256::of(bytes.substr(10, 10)).bytes(),
                                    Sha256::of(bytes.substr(20)).bytes()};
  std::unique_ptr<PartialBlob> p = store.open_partial(digest, 25, 10, hashes);
  const uint8_t* at(size_t off) { return reinterpret_cast<const uint8_t*>(bytes.data()) + off; }
  std::string on_disk(uint64_t offset, size_t n) {
    std::string out(n, '\0');
    p->read(offset, out.data(), n);
    return out;
  }
  // Streams piece `i` in two blocks, hashing what it wrote, and finishes it.
  Result stream_piece(uint32_t i, std::string_view content) {
    uint64_t token = p->begin_stream(i);
    size_t half = content.size() / 2;
    auto* data = reinterpret_cast<const uint8_t*>(content.data());
    EXPECT_TRUE(p->write_block(i, token, 0, data, half));
    EXPECT_TRUE(p->write_block(i, token, static_cast<uint32_t>(half), data + half,
                               content.size() - half));
    return p->finish_stream(i, token, Sha256::of(content));
  }
};

TEST_F(StreamFixture, StreamedPiecesCommitToTheStore) {
  EXPECT_EQ(stream_piece(2, bytes.substr(20)), Result::kVerified);
  EXPECT_EQ(stream_piece(0, bytes.substr(0, 10)), Result::kVerified);
  EXPECT_TRUE(p->write_piece(1, at(10), 10)) << "streamed and whole pieces mix";
  ASSERT_TRUE(p->complete());
  EXPECT_EQ(Sha256::of_file(p->commit()), digest) << "whole-blob hash read the pieces back";
}

TEST_F(StreamFixture, APieceWhoseBytesHashWrongIsNotDone) {
  EXPECT_EQ(stream_piece(1, std::string(10, 'z')), Result::kBadHash);
  EXPECT_FALSE(p->has_piece(1));
  EXPECT_EQ(p->pieces_done(), 0u);
  // The next writer replaces every byte and the piece verifies.
  EXPECT_EQ(stream_piece(1, bytes.substr(10, 10)), Result::kVerified);
  EXPECT_EQ(on_disk(10, 10), bytes.substr(10, 10));
}

// A peer that went away mid-piece may still have blocks queued for the disk: once another writer
// began the piece, they are dropped, so they cannot mix into bytes the new writer verifies.
TEST_F(StreamFixture, AReplacedWritersLateBlocksAreDropped) {
  std::string junk(10, 'z');
  auto* j = reinterpret_cast<const uint8_t*>(junk.data());
  uint64_t old_token = p->begin_stream(0);
  ASSERT_TRUE(p->write_block(0, old_token, 0, j, 5));
  uint64_t token = p->begin_stream(0);
  EXPECT_FALSE(p->write_block(0, old_token, 5, j + 5, 5)) << "stale token";
  ASSERT_TRUE(p->write_block(0, token, 0, at(0), 10));
  EXPECT_FALSE(p->write_block(0, old_token, 0, j, 5)) << "stale token";
  EXPECT_EQ(p->finish_stream(0, old_token, Sha256::of(bytes.substr(0, 10))), Result::kStale);
  EXPECT_FALSE(p->has_piece(0));
  EXPECT_EQ(p->finish_stream(0, token, Sha256::of(bytes.substr(0, 10))), Result::kVerified);
  EXPECT_EQ(on_disk(0, 10), bytes.substr(0, 10));
}

TEST_F(StreamFixture, NothingIsWrittenIntoAPieceThatIsDone) {
  uint64_t token = p->begin_stream(1);
  ASSERT_TRUE(p->write_piece(1, at(10), 10));
  std::string junk(10, 'z');
  EXPECT_FALSE(p->write_block(1, token, 0, reinterpret_cast<const uint8_t*>(junk.data()), 10));
  EXPECT_EQ(on_disk(10, 10), bytes.substr(10, 10));
  EXPECT_EQ(p->finish_stream(1, token, Sha256::of(junk)), Result::kBadHash)
      << "wrong bytes are reported even when the piece came whole meanwhile";
  EXPECT_TRUE(p->has_piece(1));
}

TEST_F(StreamFixture, BlocksOutsideTheirPieceAreRefused) {
  uint64_t token = p->begin_stream(2);
  EXPECT_FALSE(p->write_block(2, token, 3, at(0), 3)) << "past the piece's 5 bytes";
  EXPECT_FALSE(p->write_block(2, token, 6, at(0), 1));
  EXPECT_FALSE(p->write_block(9, token, 0, at(0), 1));
  EXPECT_THROW(p->begin_stream(9), StoreError);
  EXPECT_EQ(on_disk(20, 5), std::string(5, '\0'));
}

// The bitmap saved for resume lists streamed pieces like the others.
TEST_F(StreamFixture, StreamedPiecesSurviveARestart) {
  ASSERT_EQ(stream_piece(1, bytes.substr(10, 10)), Result::kVerified);
  p.reset();
  p = store.open_partial(digest, 25, 10, hashes);
  EXPECT_TRUE(p->has_piece(1));
  EXPECT_FALSE(p->has_piece(0));
}

}  // namespace
}  // namespace fanout
