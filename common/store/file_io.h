#pragma once
// Thin, EINTR-safe wrappers over POSIX file calls that throw std::system_error naming the path.
#include <sys/types.h>

#include <cstddef>
#include <filesystem>

namespace fanout::fileio {

int open_or_throw(const std::filesystem::path& path, int flags, mode_t mode = 0644);
void pwrite_all(int fd, const void* data, size_t size, off_t offset, const std::filesystem::path& p);
void pread_all(int fd, void* data, size_t size, off_t offset, const std::filesystem::path& p);
void write_all(int fd, const void* data, size_t size, const std::filesystem::path& p);
void fsync_or_throw(int fd, const std::filesystem::path& p);
// fsyncs a directory so a rename inside it survives a crash.
void fsync_dir(const std::filesystem::path& dir);

}  // namespace fanout::fileio
