#pragma once
// Thin, EINTR-safe wrappers over POSIX file calls that throw std::system_error naming the path.
#include <sys/types.h>

#include <cstddef>
#include <filesystem>
#include <string_view>

namespace fanout::fileio {

int open_or_throw(const std::filesystem::path& path, int flags, mode_t mode = 0644);
void pwrite_all(int fd, const void* data, size_t size, off_t offset, const std::filesystem::path& p);
void pread_all(int fd, void* data, size_t size, off_t offset, const std::filesystem::path& p);
// Moves up to `size` bytes of the file from `offset` into the pipe `pipe_w` with splice(2) (page
// references, no copy through user memory); returns how many, 0 at the end of the file.
size_t splice_to_pipe(int fd, int pipe_w, size_t size, off_t offset,
                      const std::filesystem::path& p);
void write_all(int fd, const void* data, size_t size, const std::filesystem::path& p);
void fsync_or_throw(int fd, const std::filesystem::path& p);
// fsyncs a directory so a rename inside it survives a crash.
void fsync_dir(const std::filesystem::path& dir);
// Replaces `path` with `bytes` so a crash leaves the old file or the new one, never half of one:
// a temp file beside it (".<name>.tmp-<random>", which never parses as a digest), fsynced,
// renamed over it, the directory fsynced. The temp file is removed if anything fails.
void write_file_atomically(const std::filesystem::path& path, std::string_view bytes);

}  // namespace fanout::fileio
