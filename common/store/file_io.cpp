#include "common/store/file_io.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <random>
#include <string>
#include <system_error>

namespace fanout::fileio {
namespace {
[[noreturn]] void fail(const char* what, const std::filesystem::path& p) {
  throw std::system_error(errno, std::generic_category(), std::string(what) + " " + p.string());
}
}  // namespace

int open_or_throw(const std::filesystem::path& path, int flags, mode_t mode) {
  int fd;
  do fd = ::open(path.c_str(), flags | O_CLOEXEC, mode);
  while (fd < 0 && errno == EINTR);
  if (fd < 0) fail("open", path);
  return fd;
}

void pwrite_all(int fd, const void* data, size_t size, off_t offset, const std::filesystem::path& p) {
  auto* b = static_cast<const char*>(data);
  while (size > 0) {
    ssize_t n = ::pwrite(fd, b, size, offset);
    if (n < 0) {
      if (errno == EINTR) continue;
      fail("write", p);
    }
    b += n;
    size -= static_cast<size_t>(n);
    offset += n;
  }
}

void pread_all(int fd, void* data, size_t size, off_t offset, const std::filesystem::path& p) {
  auto* b = static_cast<char*>(data);
  while (size > 0) {
    ssize_t n = ::pread(fd, b, size, offset);
    if (n < 0) {
      if (errno == EINTR) continue;
      fail("read", p);
    }
    if (n == 0) {
      errno = EIO;
      fail("short read from", p);
    }
    b += n;
    size -= static_cast<size_t>(n);
    offset += n;
  }
}

size_t splice_to_pipe(int fd, int pipe_w, size_t size, off_t offset,
                      const std::filesystem::path& p) {
  loff_t at = offset;
  for (;;) {
    ssize_t n = ::splice(fd, &at, pipe_w, nullptr, size, SPLICE_F_MOVE);
    if (n >= 0) return static_cast<size_t>(n);
    if (errno != EINTR) fail("splice from", p);
  }
}

void write_all(int fd, const void* data, size_t size, const std::filesystem::path& p) {
  auto* b = static_cast<const char*>(data);
  while (size > 0) {
    ssize_t n = ::write(fd, b, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      fail("write", p);
    }
    b += n;
    size -= static_cast<size_t>(n);
  }
}

void fsync_or_throw(int fd, const std::filesystem::path& p) {
  if (::fsync(fd) != 0) fail("fsync", p);
}

void fsync_dir(const std::filesystem::path& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;  // best effort: the data itself is already synced
  ::fsync(fd);
  ::close(fd);
}

void write_file_atomically(const std::filesystem::path& path, std::string_view bytes) {
  std::filesystem::path tmp =
      path.parent_path() / ("." + path.filename().string() + ".tmp-" +
                            std::to_string(std::random_device{}()));
  try {
    int fd = open_or_throw(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    try {
      write_all(fd, bytes.data(), bytes.size(), tmp);
      fsync_or_throw(fd, tmp);
    } catch (...) {
      ::close(fd);
      throw;
    }
    ::close(fd);
    std::filesystem::rename(tmp, path);
  } catch (...) {
    std::error_code ignored;
    std::filesystem::remove(tmp, ignored);
    throw;
  }
  fsync_dir(path.parent_path());
}

}  // namespace fanout::fileio
