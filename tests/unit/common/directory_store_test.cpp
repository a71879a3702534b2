#include "common/objectstore/directory_store.h"

#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <vector>

#include "tests/support/temp_dir.h"

namespace fanout {
namespace {

void write_file(const std::filesystem::path& p, const std::string& content) {
  std::filesystem::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << content;
}

std::string read_all(ObjectReader& reader, size_t chunk = 3) {
  std::string out;
  std::string buf(chunk, '\0');
  while (size_t n = reader.read(buf.data(), buf.size())) out.append(buf.data(), n);
  return out;
}

TEST(ObjectKey, AcceptsRelativePaths) {
  EXPECT_NO_THROW(validate_object_key("blobs/sha256/abc"));
  EXPECT_NO_THROW(validate_object_key("x"));
  EXPECT_NO_THROW(validate_object_key("a/..b/c.."));
}

TEST(ObjectKey, RejectsEscapesAndOddPaths) {
  for (const std::string& key :
       std::vector<std::string>{"", "/etc/passwd", "../x", "a/../../x", "a/..", "./a", "a//b", "a/",
                                "a\\b", std::string("a\0b", 3)}) {
    EXPECT_THROW(validate_object_key(key), InvalidObjectKeyError) << key;
  }
}

TEST(ObjectKey, BlobKey) {
  Digest d = Digest::parse("sha256:" + std::string(64, 'e'));
  EXPECT_EQ(blob_key(d), "blobs/sha256/" + std::string(64, 'e'));
}

TEST(DirectoryStore, SizeAndSequentialRead) {
  test::TempDir dir;
  write_file(dir / "blobs/sha256/k", "hello, object store");
  DirectoryStore store(dir.path());
  EXPECT_EQ(store.size("blobs/sha256/k"), 19u);
  auto reader = store.open("blobs/sha256/k");
  EXPECT_EQ(reader->size(), 19u);
  EXPECT_EQ(read_all(*reader), "hello, object store");
  EXPECT_EQ(reader->read(nullptr, 0), 0u);
}

TEST(DirectoryStore, RangeReadIsClamped) {
  test::TempDir dir;
  write_file(dir / "k", "0123456789");
  DirectoryStore store(dir.path());
  auto mid = store.open_range("k", 2, 5);
  EXPECT_EQ(mid->size(), 5u);
  EXPECT_EQ(read_all(*mid), "23456");
  EXPECT_EQ(read_all(*store.open_range("k", 7, 100)), "789");
  EXPECT_EQ(read_all(*store.open_range("k", 10, 1)), "");
  EXPECT_THROW(store.open_range("k", 11, 1), ObjectStoreError);
}

TEST(DirectoryStore, AbsentObjects) {
  test::TempDir dir;
  std::filesystem::create_directories(dir / "adir");
  write_file(dir / "file", "x");
  DirectoryStore store(dir.path());
  EXPECT_EQ(store.size("nope"), std::nullopt);
  EXPECT_EQ(store.size("adir"), std::nullopt);
  EXPECT_EQ(store.size("file/below"), std::nullopt);
  EXPECT_THROW(store.open("nope"), ObjectNotFoundError);
  EXPECT_THROW(store.open("adir"), ObjectNotFoundError);
}

TEST(DirectoryStore, BadKeysNeverTouchTheFileSystem) {
  test::TempDir dir;
  DirectoryStore store(dir / "root");
  write_file(dir / "secret", "s");
  EXPECT_THROW(store.size("../secret"), InvalidObjectKeyError);
  EXPECT_THROW(store.open("../secret"), InvalidObjectKeyError);
  EXPECT_THROW(store.put("../x", dir / "secret"), InvalidObjectKeyError);
}

TEST(DirectoryStore, PutReplacesAtomicallyAndLeavesNoTemp) {
  test::TempDir dir;
  write_file(dir / "src1", "first");
  write_file(dir / "src2", "second version");
  DirectoryStore store(dir / "objects");
  store.put("blobs/sha256/k", dir / "src1");
  EXPECT_EQ(read_all(*store.open("blobs/sha256/k")), "first");
  store.put("blobs/sha256/k", dir / "src2");
  EXPECT_EQ(read_all(*store.open("blobs/sha256/k")), "second version");
  size_t files = 0;
  for ([[maybe_unused]] auto& e : std::filesystem::directory_iterator(dir / "objects/blobs/sha256"))
    ++files;
  EXPECT_EQ(files, 1u);
  EXPECT_THROW(store.put("blobs/other", dir / "missing-source"), ObjectStoreError);
}

}  // namespace
}  // namespace fanout
