#include "common/store/direct_io.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <random>

#include "common/store/file_io.h"
#include "tests/support/temp_dir.h"

namespace fanout::fileio {
namespace {

namespace fs = std::filesystem;
constexpr size_t kPage = DirectIo::kAlign;

AlignedBytes random_bytes(size_t n, uint64_t seed) {
  AlignedBytes b(n);
  std::mt19937_64 rng(seed);
  for (auto& c : b) c = static_cast<uint8_t>(rng());
  return b;
}

std::string whole_file(const fs::path& p) {
  std::string s(fs::file_size(p), '\0');
  int fd = open_or_throw(p, O_RDONLY);
  pread_all(fd, s.data(), s.size(), 0, p);
  ::close(fd);
  return s;
}

// Pages of [0, size) of the file that sit in the page cache.
size_t resident_pages(int fd, size_t size) {
  void* map = ::mmap(nullptr, size, PROT_READ, MAP_SHARED, fd, 0);
  if (map == MAP_FAILED) throw std::runtime_error("mmap failed");
  std::vector<unsigned char> vec((size + kPage - 1) / kPage);
  int rc = ::mincore(map, size, vec.data());
  ::munmap(map, size);
  if (rc != 0) throw std::runtime_error("mincore failed");
  size_t n = 0;
  for (auto v : vec) n += v & 1;
  return n;
}

struct File {
  explicit File(const fs::path& p) : path(p), fd(open_or_throw(p, O_RDWR | O_CREAT, 0644)) {}
  ~File() { ::close(fd); }
  fs::path path;
  int fd;
};

TEST(DirectIoTest, AlignedWritesSkipThePageCacheAndReadBackExactly) {
  test::TempDir dir;
  File f(dir / "blob");
  DirectIo io(f.fd, f.path, true);
  if (!io.direct()) GTEST_SKIP() << "the file system of " << dir.path() << " refuses O_DIRECT";
  // Two whole MiB and a tail that ends inside a page, as the last piece of a blob does.
  const size_t size = (2u << 20) + 1000;
  auto data = random_bytes(size, 1);
  io.pwrite(data.data(), size, 0);
  ASSERT_EQ(fs::file_size(f.path), size);
  EXPECT_EQ(whole_file(f.path), std::string(data.begin(), data.end()));

  ::posix_fadvise(f.fd, 0, 0, POSIX_FADV_DONTNEED);  // drop what whole_file() cached
  AlignedBytes back((2u << 20) + kPage);
  io.pread(back.data(), size, 0, back.size());  // the tail page reads short at the end
  EXPECT_TRUE(std::equal(data.begin(), data.end(), back.begin()));
  // Whole pages went around the cache: the read back above did not bring them in either.
  EXPECT_LE(resident_pages(f.fd, size), 1u);
}

TEST(DirectIoTest, UnalignedMemoryIsWrittenThroughTheBounceBuffer) {
  test::TempDir dir;
  File f(dir / "blob");
  DirectIo io(f.fd, f.path, true);
  if (!io.direct()) GTEST_SKIP() << "the file system of " << dir.path() << " refuses O_DIRECT";
  const size_t size = 3u << 20;  // more than the bounce buffer holds
  auto data = random_bytes(size + 1, 2);
  const uint8_t* unaligned = data.data() + 1;
  io.pwrite(unaligned, size, static_cast<off_t>(kPage));
  EXPECT_EQ(resident_pages(f.fd, kPage + size), 0u);
  EXPECT_EQ(whole_file(f.path).substr(kPage), std::string(unaligned, unaligned + size));
}

TEST(DirectIoTest, CallsThatCannotGoDirectUseTheOrdinaryDescriptor) {
  test::TempDir dir;
  File f(dir / "blob");
  DirectIo io(f.fd, f.path, true);
  auto data = random_bytes(64 * 1024, 3);
  io.pwrite(data.data(), data.size(), 0);
  // An offset inside a page, and a buffer too small for whole pages: both still read exactly.
  std::vector<uint8_t> out(5000);
  io.pread(out.data(), out.size(), 100, out.size());
  EXPECT_TRUE(std::equal(out.begin(), out.end(), data.begin() + 100));
  AlignedBytes small(kPage);
  io.pread(small.data(), 3000, static_cast<off_t>(kPage), 3000);
  EXPECT_TRUE(std::equal(small.begin(), small.begin() + 3000, data.begin() + kPage));
  // Writes at an unaligned offset land too.
  io.pwrite(data.data(), 10, 7);
  EXPECT_EQ(whole_file(f.path).substr(7, 10), std::string(data.begin(), data.begin() + 10));
}

// Drains a pipe that holds `n` bytes.
std::string drain(int pipe_r, size_t n) {
  std::string out(n, '\0');
  size_t got = 0;
  while (got < n) {
    ssize_t r = ::read(pipe_r, out.data() + got, n - got);
    if (r <= 0) throw std::runtime_error("pipe ended early");
    got += static_cast<size_t>(r);
  }
  return out;
}

// Zero-copy uploads move file bytes into a pipe: whole pages at a page offset go around the page
// cache, anything else (an offset inside a page, the file's last partial page) through it; the
// bytes are right either way.
TEST(DirectIoTest, SpliceToPipeMovesExactBytesAndWholePagesSkipTheCache) {
  test::TempDir dir;
  File f(dir / "blob");
  DirectIo io(f.fd, f.path, true);
  if (!io.direct()) GTEST_SKIP() << "the file system of " << dir.path() << " refuses O_DIRECT";
  const size_t size = (1u << 20) + 1000;
  auto data = random_bytes(size, 5);
  io.pwrite(data.data(), size, 0);
  ::posix_fadvise(f.fd, 0, 0, POSIX_FADV_DONTNEED);
  int p[2];
  ASSERT_EQ(::pipe(p), 0);
  ASSERT_GE(::fcntl(p[1], F_SETPIPE_SZ, 1 << 20), 1 << 20);
  auto expect = [&](size_t from, size_t n) { return std::string(data.begin() + from, data.begin() + from + n); };

  ASSERT_EQ(io.splice_to_pipe(p[1], 256 << 10, 0), 256u << 10);
  EXPECT_EQ(drain(p[0], 256 << 10), expect(0, 256 << 10));
  EXPECT_EQ(resident_pages(f.fd, 256 << 10), 0u) << "whole pages went through the page cache";

  size_t n = io.splice_to_pipe(p[1], 5000, 100);  // inside a page: the page cache
  ASSERT_GT(n, 0u);
  EXPECT_EQ(drain(p[0], n), expect(100, n));

  // The last block of a blob: whole pages, then a tail that ends inside a page.
  size_t at = 1u << 20, moved = 0;
  while (moved < 1000) {
    size_t got = io.splice_to_pipe(p[1], 1000 - moved, static_cast<off_t>(at + moved));
    ASSERT_GT(got, 0u);
    moved += got;
  }
  EXPECT_EQ(drain(p[0], 1000), expect(at, 1000));
  EXPECT_EQ(io.splice_to_pipe(p[1], 10, static_cast<off_t>(size)), 0u) << "at the end of the file";
  ::close(p[0]);
  ::close(p[1]);
}

TEST(DirectIoTest, DisabledMeansBufferedAndTmpfsWorksEitherWay) {
  test::TempDir dir;
  File f(dir / "blob");
  DirectIo off(f.fd, f.path, false);
  EXPECT_FALSE(off.direct());
  auto data = random_bytes(1u << 20, 4);
  off.pwrite(data.data(), data.size(), 0);
  EXPECT_EQ(whole_file(f.path), std::string(data.begin(), data.end()));

  // tmpfs: older kernels refuse O_DIRECT (the second descriptor is not opened), newer ones
  // accept it; the bytes are right either way.
  if (!fs::is_directory("/dev/shm")) GTEST_SKIP() << "no /dev/shm";
  fs::path shm = "/dev/shm/fanout-direct-io-test-" + std::to_string(::getpid());
  {
    File g(shm);
    DirectIo io(g.fd, g.path, true);
    io.pwrite(data.data(), data.size(), 0);
    AlignedBytes back(data.size());
    io.pread(back.data(), back.size(), 0, back.size());
    EXPECT_EQ(back, data);
  }
  fs::remove(shm);
}

}  // namespace
}  // namespace fanout::fileio
