#include "common/store/blob_store.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/store/partial_blob.h"
#include "tests/support/temp_dir.h"

namespace fanout {
namespace {

namespace fs = std::filesystem;

size_t files_under(const fs::path& dir) {
  size_t n = 0;
  for (auto& e : fs::recursive_directory_iterator(dir)) n += e.is_regular_file();
  return n;
}

TEST(BlobStoreTest, PublishesVerifiedBlobReadOnlyUnderItsDigest) {
  test::TempDir dir;
  BlobStore store(dir.path());
  Digest d = Sha256::of("layer bytes");
  auto w = store.begin(d);
  w->write("layer ", 6);
  w->write("bytes", 5);
  fs::path p = w->commit();
  EXPECT_EQ(p, dir.path() / "blobs/sha256" / d.hex().substr(0, 2) / d.hex());
  EXPECT_TRUE(store.contains(d));
  EXPECT_EQ(store.size_of(d), 11u);
  struct stat st;
  ASSERT_EQ(::stat(p.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0444u);
}

TEST(BlobStoreTest, MismatchedBytesAreNeverPublished) {
  test::TempDir dir;
  BlobStore store(dir.path());
  Digest claimed = Sha256::of("the real bytes");
  auto w = store.begin(claimed);
  w->write("forged bytes", 12);
  EXPECT_THROW(w->commit(), CorruptBlobError);
  w.reset();
  EXPECT_FALSE(store.contains(claimed));
  EXPECT_EQ(files_under(dir.path()), 0u) << "no temp file left behind";
}

TEST(BlobStoreTest, AbandonedWriterLeavesNothing) {
  test::TempDir dir;
  BlobStore store(dir.path());
  {
    auto w = store.begin(Sha256::of("x"));
    w->write("x", 1);
  }
  EXPECT_EQ(files_under(dir.path()), 0u);
}

struct PartialFixture : ::testing::Test {
  test::TempDir dir;
  BlobStore store{dir.path()};
  std::string bytes = std::string(10, 'a') + std::string(10, 'b') + std::string(5, 'c');
  Digest digest = Sha256::of(bytes);
  std::vector<Digest::Bytes> hashes{Sha256::of(bytes.substr(0, 10)).bytes(),
                                    Sha256::of(bytes.substr(10, 10)).bytes(),
                                    Sha256::of(bytes.substr(20)).bytes()};
  std::unique_ptr<PartialBlob> open() { return store.open_partial(digest, 25, 10, hashes); }
  const uint8_t* at(size_t off) { return reinterpret_cast<const uint8_t*>(bytes.data()) + off; }
};

TEST_F(PartialFixture, OutOfOrderPiecesCommitToTheStore) {
  auto p = open();
  EXPECT_TRUE(p->write_piece(2, at(20), 5));
  EXPECT_TRUE(p->write_piece(0, at(0), 10));
  EXPECT_FALSE(p->complete());
  EXPECT_THROW(p->commit(), StoreError);
  EXPECT_TRUE(p->write_piece(1, at(10), 10));
  EXPECT_TRUE(p->complete());
  fs::path path = p->commit();
  EXPECT_EQ(Sha256::of_file(path), digest);
}

// The whole blob's space is taken when its fetch starts (fallocate), so a disk that is too small
// fails the fetch at once; the file is exactly the blob's size, and written pieces stay.
TEST(PartialBlobSpaceTest, TheBlobsSpaceIsTakenWhenItsFetchStarts) {
  test::TempDir dir;
  BlobStore store{dir.path()};
  constexpr uint64_t kSize = (8 << 20) + 100;
  std::string piece(1 << 20, 'x');
  std::vector<Digest::Bytes> hashes(9, Sha256::of(piece).bytes());
  Digest digest = Sha256::of("nine pieces");
  fs::path path = store.partial_dir() / digest.hex();
  {
    auto p = store.open_partial(digest, kSize, 1 << 20, hashes);
    ASSERT_TRUE(p->write_piece(3, reinterpret_cast<const uint8_t*>(piece.data()), piece.size()));
  }
  struct stat st{};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(static_cast<uint64_t>(st.st_size), kSize);
  if (static_cast<uint64_t>(st.st_blocks) * 512 < kSize) {
    int fd = ::open((dir.path() / "probe").c_str(), O_RDWR | O_CREAT, 0644);
    bool supported = ::fallocate(fd, 0, 0, 4096) == 0;
    ::close(fd);
    if (!supported) GTEST_SKIP() << "this file system has no fallocate";
  }
  EXPECT_GE(static_cast<uint64_t>(st.st_blocks) * 512, kSize) << "the blob's space is not taken";
  auto again = store.open_partial(digest, kSize, 1 << 20, hashes);  // a resume keeps the piece
  EXPECT_TRUE(again->has_piece(3));
}

TEST_F(PartialFixture, WrongPieceIsRefusedAndNeverWritten) {
  auto p = open();
  std::string wrong(10, 'z');
  EXPECT_FALSE(p->write_piece(1, reinterpret_cast<const uint8_t*>(wrong.data()), 10));
  EXPECT_FALSE(p->has_piece(1));
  EXPECT_FALSE(p->write_piece(2, at(20), 4)) << "wrong size";
  EXPECT_FALSE(p->write_piece(7, at(0), 10)) << "out of range";
  std::string on_disk(10, '\0');
  p->read(10, on_disk.data(), 10);
  EXPECT_EQ(on_disk, std::string(10, '\0'));
}

TEST_F(PartialFixture, ResumeKeepsOnlyPiecesThatStillVerify) {
  {
    auto p = open();
    ASSERT_TRUE(p->write_piece(0, at(0), 10));
    ASSERT_TRUE(p->write_piece(1, at(10), 10));
  }
  {  // Damage piece 1 on disk behind the bitmap's back.
    FILE* f = std::fopen((store.partial_dir() / digest.hex()).c_str(), "r+b");
    std::fseek(f, 12, SEEK_SET);
    std::fputc('X', f);
    std::fclose(f);
  }
  auto p = open();
  EXPECT_TRUE(p->has_piece(0));
  EXPECT_FALSE(p->has_piece(1));
  EXPECT_TRUE(p->write_piece(1, at(10), 10));
  EXPECT_TRUE(p->write_piece(2, at(20), 5));
  EXPECT_EQ(Sha256::of_file(p->commit()), digest);
}

// The whole-blob hash reads back pieces that arrived ahead of the in-order frontier, so bytes
// damaged on disk after their piece check are caught at commit and nothing is published.
TEST_F(PartialFixture, WholeBlobHashCatchesBytesDamagedAfterTheirPieceCheck) {
  ASSERT_TRUE(store.whole_blob_hash()) << "on by default";
  auto p = open();
  ASSERT_TRUE(p->write_piece(2, at(20), 5));
  {
    FILE* f = std::fopen((store.partial_dir() / digest.hex()).c_str(), "r+b");
    std::fseek(f, 21, SEEK_SET);
    std::fputc('X', f);
    std::fclose(f);
  }
  ASSERT_TRUE(p->write_piece(0, at(0), 10));
  ASSERT_TRUE(p->write_piece(1, at(10), 10));
  EXPECT_THROW(p->commit(), CorruptBlobError);
  EXPECT_FALSE(store.contains(digest));
}

// Without it (agent `whole_blob_hash: false`) the pieces alone decide: each is still checked against the
// metainfo before it is written, in any order, and the published file is the blob.
TEST_F(PartialFixture, WithoutTheWholeBlobHashVerifiedPiecesAloneArePublished) {
  store.set_whole_blob_hash(false);
  auto p = open();
  std::string wrong(10, 'z');
  EXPECT_FALSE(p->write_piece(1, reinterpret_cast<const uint8_t*>(wrong.data()), 10));
  EXPECT_TRUE(p->write_piece(2, at(20), 5));
  EXPECT_TRUE(p->write_piece(1, at(10), 10));
  EXPECT_TRUE(p->write_piece(0, at(0), 10));
  fs::path path = p->commit();
  EXPECT_EQ(Sha256::of_file(path), digest);
  EXPECT_TRUE(store.contains(digest));
}

// A signed metainfo binds the pieces to the digest, so that one blob skips the whole-blob pass
// while the store-wide default stays on for every other. Shown with bytes damaged on disk after
// their piece check: only the whole-blob hash would notice them.
TEST_F(PartialFixture, PiecesBoundToDigestSkipTheWholeBlobHashForThatBlobOnly) {
  ASSERT_TRUE(store.whole_blob_hash());
  auto damage_piece_2 = [&] {
    FILE* f = std::fopen((store.partial_dir() / digest.hex()).c_str(), "r+b");
    std::fseek(f, 21, SEEK_SET);
    std::fputc('X', f);
    std::fclose(f);
  };
  {
    auto bound = store.open_partial(digest, 25, 10, hashes, /*pieces_bound_to_digest=*/true);
    ASSERT_TRUE(bound->write_piece(2, at(20), 5));
    damage_piece_2();
    ASSERT_TRUE(bound->write_piece(0, at(0), 10));
    ASSERT_TRUE(bound->write_piece(1, at(10), 10));
    EXPECT_NO_THROW(bound->commit()) << "no second pass: the damage goes unseen";
    EXPECT_TRUE(store.contains(digest));
  }
  fs::permissions(store.path_of(digest), fs::perms::owner_write, fs::perm_options::add);
  fs::remove(store.path_of(digest));

  EXPECT_TRUE(store.whole_blob_hash()) << "the store-wide default is untouched";
  auto unbound = open();
  ASSERT_TRUE(unbound->write_piece(2, at(20), 5));
  damage_piece_2();
  ASSERT_TRUE(unbound->write_piece(0, at(0), 10));
  ASSERT_TRUE(unbound->write_piece(1, at(10), 10));
  EXPECT_THROW(unbound->commit(), CorruptBlobError);
  EXPECT_FALSE(store.contains(digest));
}

// Pieces streamed into a partial blob block by block (PartialBlob::begin_stream / write_block /
// finish_stream): bytes land as they arrive, but a piece counts only once what was written hashed
// right, and a writer that was replaced or came too late cannot touch it.
using Result = PartialBlob::StreamResult;

struct StreamFixture : PartialFixture {
  std::unique_ptr<PartialBlob> p = open();
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

// A fetch that failed retires its partial blob before a retry opens the same file anew: whatever
// the failed fetch still had queued for the disk writes nothing from then on.
TEST_F(StreamFixture, ARetiredPartialBlobWritesNothingMore) {
  uint64_t token = p->begin_stream(0);
  ASSERT_TRUE(p->write_block(0, token, 0, at(0), 5));
  ASSERT_TRUE(p->write_piece(1, at(10), 10));  // the first piece done saves the record...
  ASSERT_TRUE(p->write_piece(2, at(20), 5));   // ...the next, within a second, does not
  p->retire();
  auto retry = open();
  EXPECT_TRUE(retry->has_piece(2)) << "retiring saves the record of done pieces for the retry";
  std::string junk(10, 'z');
  auto* j = reinterpret_cast<const uint8_t*>(junk.data());
  EXPECT_FALSE(p->write_block(0, token, 5, j, 5)) << "a stream of the failed fetch";
  EXPECT_EQ(p->finish_stream(0, token, Sha256::of(bytes.substr(0, 10))), Result::kStale);
  EXPECT_FALSE(p->write_piece(0, at(0), 10)) << "even right bytes go through the retry";
  EXPECT_FALSE(p->has_piece(0));
  ASSERT_TRUE(retry->write_piece(0, at(0), 10));
  EXPECT_EQ(on_disk(0, 10), bytes.substr(0, 10));
}

// The bitmap saved for resume lists streamed pieces like the others.
TEST_F(StreamFixture, StreamedPiecesSurviveARestart) {
  ASSERT_EQ(stream_piece(1, bytes.substr(10, 10)), Result::kVerified);
  p.reset();
  p = open();
  EXPECT_TRUE(p->has_piece(1));
  EXPECT_FALSE(p->has_piece(0));
}

}  // namespace
}  // namespace fanout
