#include "common/store/blob_store.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

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

}  // namespace
}  // namespace fanout
