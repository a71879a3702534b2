#include "origin/origin_server.h"

#include "common/http/file_response.h"
#include "common/http/http_error.h"

namespace fanout::origin {

OriginServer::OriginServer(BlobPuller& puller, metrics::Registry& registry,
                           OriginMetrics& metrics)
    : puller_(puller), metrics_(metrics), http_("origin", registry) {
  http_.routes().Get(R"(/v1/blobs/([^/]+)/metainfo)",
                     [this](const httplib::Request& req, httplib::Response& res) {
                       auto blob = pull(req.matches[1]);
                       res.set_content(blob->metainfo.encode(), "application/octet-stream");
                     });
  http_.routes().Get(R"(/v1/blobs/([^/]+))",
                     [this](const httplib::Request& req, httplib::Response& res) {
                       auto blob = pull(req.matches[1]);
                       http::serve_file(req, res, blob->path, "application/octet-stream",
                                        &metrics_.http_bytes_sent);
                     });
}

std::shared_ptr<const PulledBlob> OriginServer::pull(const std::string& digest_param) {
  Digest digest = http::parse_digest_param(digest_param);
  try {
    return puller_.pull(digest);
  } catch (const BlobNotFoundError& e) {
    throw http::HttpError(404, "blob_not_found", e.what());
  } catch (const CorruptObjectError& e) {
    throw http::HttpError(502, "corrupt_object", e.what());
  } catch (const ObjectStoreError& e) {
    throw http::HttpError(502, "object_store_error", e.what());
  }
  // Anything else (CAS full, engine failure) is ours: HttpServer answers 500 and logs it.
}

}  // namespace fanout::origin
