#include "agent/agent_server.h"

#include <fcntl.h>
#include <unistd.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <thread>
#include <vector>

#include "agent/pull_service.h"
#include "common/http/byte_range.h"
#include "common/http/file_response.h"
#include "common/http/http_error.h"
#include "common/log/log.h"
#include "common/store/file_io.h"

namespace fanout::agent {
namespace {

constexpr auto kPoll = std::chrono::milliseconds(20);
// Chunk of a streamed range: the engine copies verified bytes out of its partial file.
constexpr size_t kChunk = 1u << 20;

}  // namespace

AgentServer::AgentServer(BlobFetcher& fetcher, metrics::Registry& registry, AgentMetrics& metrics,
                         Parts parts)
    : fetcher_(fetcher), metrics_(metrics), parts_(std::move(parts)), http_("agent", registry) {
  http_.routes().Get(
      R"(/v1/blobs/([^/]+))", [this](const httplib::Request& req, httplib::Response& res) {
        Digest digest = http::parse_digest_param(req.matches[1]);
        // httplib routes HEAD to the GET handlers: answer it from the cache, never fetch.
        if (req.method == "HEAD") return head_blob(digest, res);
        if (req.has_header("Range") && parts_.partial.prioritize &&
            !fetcher_.cas().contains(digest) && serve_while_fetching(req, res, digest)) {
          return;
        }
        std::filesystem::path path = get_blob(digest);
        // The pin covers the window between the fetch and the open: once serve_file holds the
        // file open, an eviction unlinks the name but the bytes stay readable to the end.
        std::unique_ptr<cache::CachePin> pin;
        if (parts_.cache) pin = parts_.cache->pin(digest);
        // Read around the page cache as the pieces were written (direct_io.h).
        http::serve_file(req, res, path, "application/octet-stream", &metrics_.http_bytes_sent,
                         fetcher_.cas().direct_io());
      });
  http_.routes().Get("/v1/blobs",
                     [this](const httplib::Request&, httplib::Response& res) { list_blobs(res); });
  if (parts_.pulls) parts_.pulls->add_routes(http_.routes());
}

void AgentServer::head_blob(const Digest& digest, httplib::Response& res) {
  // The CAS publishes a blob only once it is verified (every piece, or its whole hash): present
  // means verified.
  auto size = fetcher_.cas().size_of(digest);
  if (!size) {
    res.status = 404;
    return;
  }
  res.status = 200;
  res.set_header("Accept-Ranges", "bytes");
  // A provider that is never called: it carries the length, and HEAD sends no body.
  res.set_content_provider(*size, "application/octet-stream",
                           [](size_t, size_t, httplib::DataSink&) { return false; });
}

void AgentServer::list_blobs(httplib::Response& res) {
  nlohmann::json blobs = nlohmann::json::array();
  uint64_t total = 0;
  if (parts_.cache) {
    for (const auto& [digest, size] : parts_.cache->index().snapshot()) {
      // The index may lag an eviction by a moment; the CAS has the last word.
      if (!fetcher_.cas().contains(digest)) continue;
      blobs.push_back({{"digest", digest.str()}, {"size", size}});
      total += size;
    }
  }
  res.set_content(
      nlohmann::json{{"blobs", blobs}, {"count", blobs.size()}, {"bytes", total}}.dump(),
      "application/json");
}

void AgentServer::throw_http(const FetchError& e) {
  switch (e.kind()) {
    case FetchError::Kind::kNotFound:
      throw http::HttpError(404, "blob_not_found", e.what());
    case FetchError::Kind::kTracker:
      throw http::HttpError(502, "tracker_error", e.what());
    case FetchError::Kind::kSwarm:
      throw http::HttpError(502, "fetch_failed", e.what());
    case FetchError::Kind::kTimeout:
      throw http::HttpError(504, "fetch_timeout", e.what());
    case FetchError::Kind::kShuttingDown:
      throw http::HttpError(503, "shutting_down", e.what());
    case FetchError::Kind::kCacheFull:
      throw http::HttpError(507, "cache_full", e.what());
    case FetchError::Kind::kUnsigned:
      throw http::HttpError(502, "metainfo_not_signed", e.what());
  }
  throw http::HttpError(502, "fetch_failed", e.what());
}

std::filesystem::path AgentServer::get_blob(const Digest& digest) {
  try {
    return fetcher_.get(digest);
  } catch (const FetchError& e) {
    throw_http(e);
  }
}

bool AgentServer::serve_while_fetching(const httplib::Request& req, httplib::Response& res,
                                       const Digest& digest) {
  std::shared_future<std::filesystem::path> done;
  try {
    done = fetcher_.begin(digest);
  } catch (const FetchError& e) {
    throw_http(e);
  }
  std::optional<proto::Metainfo> info;
  std::shared_future<bool> ready;
  http::ByteRange span;
  const auto deadline = std::chrono::steady_clock::now() + fetcher_.timeout();
  auto finished = [&] {
    return done.wait_for(std::chrono::seconds(0)) == std::future_status::ready;
  };
  // Wait for the engine to know the blob (metainfo from the tracker), then for the range.
  while (!(info = fetcher_.in_swarm(digest))) {
    if (finished()) return false;  // complete already, or failed: the whole-blob path says which
    if (std::chrono::steady_clock::now() >= deadline) {
      throw http::HttpError(504, "fetch_timeout", digest.str() + ": no metainfo yet");
    }
    std::this_thread::sleep_for(kPoll);
  }
  http::RangeRequest range = http::parse_range(req.get_header_value("Range"), info->size);
  if (range.kind != http::RangeRequest::Kind::kPartial) return false;  // serve_file answers it
  span = range.range;
  ready = parts_.partial.prioritize(digest, span.first, span.length());
  while (ready.wait_for(kPoll) != std::future_status::ready) {
    if (std::chrono::steady_clock::now() >= deadline) {
      throw http::HttpError(504, "fetch_timeout",
                            digest.str() + ": the requested range is still being fetched");
    }
  }
  if (!ready.get()) return false;  // the fetch ended (done or failed) before the range was read

  metrics_.range_reads_early.inc();
  http::disable_httplib_ranges(req);
  res.status = 206;
  res.set_header("Accept-Ranges", "bytes");
  res.set_header("Content-Range", "bytes " + std::to_string(span.first) + "-" +
                                      std::to_string(span.last) + "/" + std::to_string(info->size));
  struct Stream {
    std::unique_ptr<cache::CachePin> pin;
    std::vector<uint8_t> buffer;
    int fd = -1;  // the CAS file, if the engine has let go of the blob meanwhile
    ~Stream() {
      if (fd >= 0) ::close(fd);
    }
  };
  auto stream = std::make_shared<Stream>();
  if (parts_.cache) stream->pin = parts_.cache->pin(digest);
  res.set_content_provider(
      span.length(), "application/octet-stream",
      [this, stream, digest, first = span.first](size_t offset, size_t length,
                                                 httplib::DataSink& sink) {
        try {
          if (stream->buffer.empty()) stream->buffer.resize(kChunk);
          size_t n = std::min(length, kChunk);
          uint64_t at = first + offset;
          if (stream->fd < 0 && !parts_.partial.read(digest, at, stream->buffer.data(), n)) {
            // Verified bytes never go away: if the engine no longer has them, the CAS does.
            auto path = fetcher_.cas().path_of(digest);
            stream->fd = fileio::open_or_throw(path, O_RDONLY);
          }
          if (stream->fd >= 0) {
            fileio::pread_all(stream->fd, stream->buffer.data(), n, static_cast<off_t>(at),
                              fetcher_.cas().path_of(digest));
          }
          if (!sink.write(reinterpret_cast<const char*>(stream->buffer.data()), n)) return false;
          metrics_.http_bytes_sent.inc(n);
          return true;
        } catch (const std::exception& e) {
          spdlog::error("streaming {}: {}", digest.str(), e.what());
          return false;
        }
      });
  return true;
}

}  // namespace fanout::agent
