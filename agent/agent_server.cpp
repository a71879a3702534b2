#include "agent/agent_server.h"

#include "common/http/file_response.h"
#include "common/http/http_error.h"

namespace fanout::agent {

AgentServer::AgentServer(BlobFetcher& fetcher, metrics::Registry& registry, AgentMetrics& metrics)
    : fetcher_(fetcher), metrics_(metrics), http_("agent", registry) {
  http_.routes().Get(R"(/v1/blobs/([^/]+))",
                     [this](const httplib::Request& req, httplib::Response& res) {
                       std::filesystem::path path = get_blob(req.matches[1]);
                       http::serve_file(req, res, path, "application/octet-stream",
                                        &metrics_.http_bytes_sent);
                     });
}

std::filesystem::path AgentServer::get_blob(const std::string& digest_param) {
  Digest digest = http::parse_digest_param(digest_param);
  try {
    return fetcher_.get(digest);
  } catch (const FetchError& e) {
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
    }
    throw;
  }
}

}  // namespace fanout::agent
