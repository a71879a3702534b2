#include "common/http/file_response.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <memory>
#include <system_error>
#include <vector>

#include "common/http/byte_range.h"
#include "common/http/http_error.h"
#include "common/log/log.h"
#include "common/store/direct_io.h"
#include "common/store/file_io.h"

namespace fanout::http {
namespace {

// Large enough that a fast client is limited by the socket, small enough that many concurrent
// downloads of 100 GB blobs cost little memory.
constexpr size_t kChunkSize = 1u << 20;

// Shared by every copy of the content provider; closes the file when the response is done.
struct OpenFile {
  int fd = -1;
  std::filesystem::path path;
  std::unique_ptr<fileio::DirectIo> io;
  fileio::AlignedBytes buffer;
  ~OpenFile() {
    if (fd >= 0) ::close(fd);
  }
};

}  // namespace

void serve_file(const httplib::Request& req, httplib::Response& res,
                const std::filesystem::path& path, const std::string& content_type,
                metrics::Counter* bytes_sent, bool direct) {
  disable_httplib_ranges(req);

  auto file = std::make_shared<OpenFile>();
  file->path = path;
  try {
    file->fd = fileio::open_or_throw(path, O_RDONLY);
  } catch (const std::system_error& e) {
    // The caller saw the file a moment ago; it can only vanish through eviction or an operator.
    if (e.code() == std::errc::no_such_file_or_directory) {
      throw HttpError(404, "not_found", path.filename().string() + " is no longer stored");
    }
    throw;
  }
  struct stat st {};
  if (::fstat(file->fd, &st) != 0) {
    throw std::system_error(errno, std::generic_category(), "stat " + path.string());
  }
  const auto size = static_cast<uint64_t>(st.st_size);
  file->io = std::make_unique<fileio::DirectIo>(file->fd, path, direct);

  res.set_header("Accept-Ranges", "bytes");
  RangeRequest range = parse_range(req.get_header_value("Range"), size);
  ByteRange span{0, size == 0 ? 0 : size - 1};
  switch (range.kind) {
    case RangeRequest::Kind::kMalformed:
      res.set_header("Content-Range", "bytes */" + std::to_string(size));
      write_error(res, 416, "invalid_range",
                  "cannot parse Range \"" + req.get_header_value("Range") + "\"");
      return;
    case RangeRequest::Kind::kUnsatisfiable:
      res.set_header("Content-Range", "bytes */" + std::to_string(size));
      write_error(res, 416, "range_not_satisfiable",
                  "Range \"" + req.get_header_value("Range") + "\" is outside the " +
                      std::to_string(size) + " bytes of the blob");
      return;
    case RangeRequest::Kind::kPartial:
      span = range.range;
      res.status = 206;
      res.set_header("Content-Range", "bytes " + std::to_string(span.first) + "-" +
                                          std::to_string(span.last) + "/" + std::to_string(size));
      break;
    case RangeRequest::Kind::kWhole:
      res.status = 200;
      if (size == 0) {
        res.set_content("", content_type);
        return;
      }
      break;
  }

  const uint64_t start = span.first;
  res.set_content_provider(
      span.length(), content_type,
      [file, start, bytes_sent](size_t offset, size_t length, httplib::DataSink& sink) {
        // Exceptions must not escape into httplib's writer thread: report failure instead.
        try {
          if (file->buffer.empty()) file->buffer.resize(kChunkSize);
          size_t n = std::min(length, kChunkSize);
          file->io->pread(file->buffer.data(), n, static_cast<off_t>(start + offset),
                          file->buffer.size());
          if (!sink.write(reinterpret_cast<const char*>(file->buffer.data()), n)) {
            return false;  // the client went away
          }
          if (bytes_sent) bytes_sent->inc(n);
          return true;
        } catch (const std::exception& e) {
          spdlog::error("serving {}: {}", file->path.string(), e.what());
          return false;
        }
      });
}

}  // namespace fanout::http
