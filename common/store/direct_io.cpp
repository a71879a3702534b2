#include "common/store/direct_io.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <cstdint>
#include <system_error>

#include "common/store/file_io.h"

namespace fanout::fileio {
namespace {
constexpr size_t kBounceBytes = size_t{1} << 20;
bool aligned(uintptr_t v) { return v % DirectIo::kAlign == 0; }
}  // namespace

DirectIo::DirectIo(int fd, std::filesystem::path path, bool enabled)
    : fd_(fd), path_(std::move(path)) {
  if (!enabled) return;
  int access = ::fcntl(fd, F_GETFL);  // the same access as the caller's descriptor
  if (access < 0) return;
  do direct_fd_ = ::open(path_.c_str(), (access & O_ACCMODE) | O_DIRECT | O_CLOEXEC);
  while (direct_fd_ < 0 && errno == EINTR);
}

DirectIo::~DirectIo() {
  if (direct_fd_ >= 0) ::close(direct_fd_);
}

void DirectIo::pwrite(const void* data, size_t size, off_t offset) const {
  auto* bytes = static_cast<const uint8_t*>(data);
  if (direct() && aligned(static_cast<uintptr_t>(offset)) &&
      !aligned(reinterpret_cast<uintptr_t>(data))) {
    // Unaligned memory goes through an aligned bounce buffer: a copy into pages already touched
    // is far cheaper than one into new page-cache pages.
    thread_local AlignedBytes bounce;
    if (bounce.size() < kBounceBytes) bounce.resize(kBounceBytes);
    while (size >= kAlign) {
      size_t n = std::min(size / kAlign * kAlign, kBounceBytes);
      std::memcpy(bounce.data(), bytes, n);
      pwrite_all(direct_fd_, bounce.data(), n, offset, path_);
      bytes += n;
      size -= n;
      offset += static_cast<off_t>(n);
    }
  } else if (direct() && aligned(reinterpret_cast<uintptr_t>(data)) &&
             aligned(static_cast<uintptr_t>(offset))) {
    size_t whole = size / kAlign * kAlign;
    if (whole > 0) pwrite_all(direct_fd_, bytes, whole, offset, path_);
    bytes += whole;
    size -= whole;
    offset += static_cast<off_t>(whole);
  }
  if (size > 0) pwrite_all(fd_, bytes, size, offset, path_);
}

void DirectIo::pread(void* out, size_t size, off_t offset, size_t capacity) const {
  if (!direct() || !aligned(reinterpret_cast<uintptr_t>(out)) ||
      !aligned(static_cast<uintptr_t>(offset)) || capacity < round_up_to_page(size)) {
    return pread_all(fd_, out, size, offset, path_);
  }
  // Whole pages only; at the end of the file the last read comes back short.
  auto* b = static_cast<uint8_t*>(out);
  size_t want = round_up_to_page(size), got = 0;
  while (got < size) {
    ssize_t n = ::pread(direct_fd_, b + got, want - got, offset + static_cast<off_t>(got));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw std::system_error(errno, std::generic_category(), "read " + path_.string());
    if (n == 0) {
      throw std::system_error(EIO, std::generic_category(),
                              "read " + path_.string() + ": file ends early");
    }
    got += static_cast<size_t>(n);
    if (got < size && !aligned(got)) {  // a short read mid-file: finish through the page cache
      return pread_all(fd_, b + got, size - got, offset + static_cast<off_t>(got), path_);
    }
  }
}

size_t DirectIo::splice_to_pipe(int pipe_w, size_t size, off_t offset) const {
  if (direct() && aligned(static_cast<uintptr_t>(offset)) && aligned(size)) {
    loff_t at = offset;
    ssize_t n;
    do n = ::splice(direct_fd_, &at, pipe_w, nullptr, size, SPLICE_F_MOVE);
    while (n < 0 && errno == EINTR);
    if (n >= 0) return static_cast<size_t>(n);
    if (errno != EINVAL) {
      throw std::system_error(errno, std::generic_category(), "splice from " + path_.string());
    }
    // EINVAL: this kernel or file system cannot splice a direct descriptor.
  }
  return fileio::splice_to_pipe(fd_, pipe_w, size, offset, path_);
}

}  // namespace fanout::fileio
