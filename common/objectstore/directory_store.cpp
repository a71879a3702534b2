#include "common/objectstore/directory_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <random>
#include <system_error>
#include <vector>

#include "common/store/file_io.h"

namespace fanout {
namespace {

[[noreturn]] void fail(const std::string& what, const std::string& key, int err) {
  std::string msg = what + " object " + key + ": " + std::strerror(err);
  if (err == ENOENT) throw ObjectNotFoundError(msg);
  throw ObjectStoreError(msg);
}

class FileReader : public ObjectReader {
 public:
  FileReader(int fd, std::string key, uint64_t offset, uint64_t length)
      : fd_(fd), key_(std::move(key)), pos_(offset), end_(offset + length), size_(length) {}
  ~FileReader() override { ::close(fd_); }
  FileReader(const FileReader&) = delete;
  FileReader& operator=(const FileReader&) = delete;

  uint64_t size() const override { return size_; }

  size_t read(void* buf, size_t max) override {
    size_t want = static_cast<size_t>(std::min<uint64_t>(max, end_ - pos_));
    if (want == 0) return 0;
    for (;;) {
      ssize_t n = ::pread(fd_, buf, want, static_cast<off_t>(pos_));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) fail("read", key_, errno);
      // Objects are immutable; one that shrinks under us is an error, not a short blob.
      if (n == 0) throw ObjectStoreError("read object " + key_ + ": file shrank while reading");
      pos_ += static_cast<uint64_t>(n);
      return static_cast<size_t>(n);
    }
  }

 private:
  int fd_;
  std::string key_;
  uint64_t pos_;
  uint64_t end_;
  uint64_t size_;
};

// Opens a regular file read-only and returns (fd, size).
std::pair<int, uint64_t> open_regular(const std::filesystem::path& path, const std::string& key) {
  int fd;
  do fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  while (fd < 0 && errno == EINTR);
  if (fd < 0) fail("open", key, errno);
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    int err = errno;
    ::close(fd);
    fail("stat", key, err);
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    throw ObjectNotFoundError("open object " + key + ": not a regular file");
  }
  return {fd, static_cast<uint64_t>(st.st_size)};
}

}  // namespace

DirectoryStore::DirectoryStore(std::filesystem::path root) : root_(std::move(root)) {}

std::filesystem::path DirectoryStore::path_of(const std::string& key) const {
  validate_object_key(key);
  return root_ / key;
}

std::string DirectoryStore::describe() const {
  return "directory " + root_.string();
}

std::optional<uint64_t> DirectoryStore::size(const std::string& key) {
  std::filesystem::path path = path_of(key);
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT || errno == ENOTDIR) return std::nullopt;
    fail("stat", key, errno);
  }
  if (!S_ISREG(st.st_mode)) return std::nullopt;
  return static_cast<uint64_t>(st.st_size);
}

std::unique_ptr<ObjectReader> DirectoryStore::open(const std::string& key) {
  auto [fd, size] = open_regular(path_of(key), key);
  return std::make_unique<FileReader>(fd, key, 0, size);
}

std::unique_ptr<ObjectReader> DirectoryStore::open_range(const std::string& key, uint64_t offset,
                                                         uint64_t length) {
  auto [fd, size] = open_regular(path_of(key), key);
  if (offset > size) {
    ::close(fd);
    throw ObjectStoreError("read object " + key + ": offset " + std::to_string(offset) +
                           " is past its end (" + std::to_string(size) + " bytes)");
  }
  return std::make_unique<FileReader>(fd, key, offset, std::min(length, size - offset));
}

void DirectoryStore::put(const std::string& key, const std::filesystem::path& source) {
  std::filesystem::path dest = path_of(key);
  try {
    std::filesystem::create_directories(dest.parent_path());
    // A temp name beside the destination, so the rename is atomic and never crosses devices.
    std::filesystem::path tmp = dest.parent_path() / (".tmp-" + dest.filename().string() + "-" +
                                                      std::to_string(std::random_device{}()));
    int in = fileio::open_or_throw(source, O_RDONLY);
    int out = -1;
    try {
      out = fileio::open_or_throw(tmp, O_WRONLY | O_CREAT | O_EXCL, 0644);
      std::vector<char> buf(1u << 20);
      for (;;) {
        ssize_t n = ::read(in, buf.data(), buf.size());
        if (n < 0 && errno == EINTR) continue;
        if (n < 0)
          throw std::system_error(errno, std::generic_category(), "read " + source.string());
        if (n == 0) break;
        fileio::write_all(out, buf.data(), static_cast<size_t>(n), tmp);
      }
      fileio::fsync_or_throw(out, tmp);
      ::close(out);
      out = -1;
      std::filesystem::rename(tmp, dest);
      fileio::fsync_dir(dest.parent_path());
    } catch (...) {
      if (out >= 0) ::close(out);
      ::close(in);
      std::error_code ignored;
      std::filesystem::remove(tmp, ignored);
      throw;
    }
    ::close(in);
  } catch (const std::system_error& e) {
    throw ObjectStoreError("put object " + key + ": " + e.what());
  }
}

}  // namespace fanout
