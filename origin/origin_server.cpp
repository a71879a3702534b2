#include "origin/origin_server.h"

#include <nlohmann/json.hpp>

#include "common/http/file_response.h"
#include "common/http/http_error.h"
#include "origin/peer_origin_store.h"

namespace fanout::origin {
OriginServer::OriginServer(BlobPuller& puller, metrics::Registry& registry, OriginMetrics& metrics,
                           ClusterConfig cluster, std::optional<proto::MetainfoSigner> signer)
    : puller_(puller),
      metrics_(metrics),
      cluster_(std::move(cluster)),
      signer_(std::move(signer)),
      ring_(cluster_.member_ids()),
      http_("origin", registry) {
  http_.routes().Get(R"(/v1/blobs/([^/]+)/metainfo)",
                     [this](const httplib::Request& req, httplib::Response& res) {
                       auto digest = owned_digest(req, res);
                       if (!digest) return;
                       auto blob = pull(*digest);
                       std::string encoded = blob->metainfo.encode();
                       // This origin verified the bytes' sha256 before building the metainfo:
                       // its signature binds the piece hashes to the digest.
                       if (signer_) {
                         res.set_header(proto::kMetainfoSignatureHeader, signer_->sign(encoded));
                       }
                       res.set_content(std::move(encoded), "application/octet-stream");
                     });
  http_.routes().Get(R"(/v1/blobs/([^/]+)/status)",
                     [this](const httplib::Request& req, httplib::Response& res) {
                       auto digest = owned_digest(req, res);
                       if (!digest) return;
                       PullStatus s = puller_.status(*digest);
                       nlohmann::json body{{"digest", digest->str()},
                                           {"state", to_string(s.state)},
                                           {"bytes_pulled", s.bytes_pulled},
                                           {"size", s.size}};
                       if (!s.error.empty()) body["error"] = s.error;
                       res.set_content(body.dump(), "application/json");
                     });
  http_.routes().Post(
      R"(/v1/blobs/([^/]+)/prefetch)", [this](const httplib::Request& req, httplib::Response& res) {
        auto digest = owned_digest(req, res);
        if (!digest) return;
        puller_.prefetch(*digest, copy_source(req));
        res.status = 202;
        res.set_content(nlohmann::json{{"digest", digest->str()},
                                       {"status", "/v1/blobs/" + digest->str() + "/status"}}
                            .dump(),
                        "application/json");
      });
  http_.routes().Get(R"(/v1/blobs/([^/]+))", [this](const httplib::Request& req,
                                                    httplib::Response& res) {
    auto digest = owned_digest(req, res);
    if (!digest) return;
    auto blob = pull(*digest);
    http::serve_file(req, res, blob->path, "application/octet-stream", &metrics_.http_bytes_sent);
  });
  http_.routes().Put(R"(/v1/blobs/([^/]+))", [this](const httplib::Request& req,
                                                    httplib::Response& res,
                                                    const httplib::ContentReader& content_reader) {
    auto digest = owned_digest(req, res);
    if (!digest) return;
    std::unique_ptr<BlobPuller::Upload> upload = puller_.begin_upload(*digest);
    bool read = content_reader([&](const char* data, size_t size) {
      upload->write(data, size);
      return true;
    });
    if (!read) throw http::HttpError(400, "bad_request", "the upload body could not be read");
    std::shared_ptr<const PulledBlob> blob;
    try {
      blob = upload->commit();
    } catch (const UploadMismatchError& e) {
      throw http::HttpError(400, "digest_mismatch", e.what());
    } catch (const ObjectStoreError& e) {
      throw http::HttpError(502, "object_store_error", e.what());
    }
    res.status = 201;
    res.set_content(nlohmann::json{{"digest", digest->str()}, {"size", blob->metainfo.size}}.dump(),
                    "application/json");
  });
}

std::optional<Digest> OriginServer::owned_digest(const httplib::Request& req,
                                                 httplib::Response& res) {
  Digest digest = http::parse_digest_param(req.matches[1]);
  if (ring_.empty() || ring_.is_owner(cluster_.self, digest, cluster_.replicas)) return digest;
  const std::string& owner = ring_.owner(digest);
  std::string url;
  for (const auto& m : cluster_.origins) {
    if (m.id == owner) url = m.url;
  }
  // 307 keeps the method and body, so a PUT or POST lands on the owner unchanged.
  res.status = 307;
  res.set_header("Location", url + req.target);  // path and query as the client sent them
  res.set_content(nlohmann::json{{"error", "not_owner"},
                                 {"detail", digest.str() + " belongs to origin " + owner}}
                      .dump(),
                  "application/json");
  metrics_.redirects.inc();
  return std::nullopt;
}

std::shared_ptr<ObjectStore> OriginServer::copy_source(const httplib::Request& req) const {
  if (!req.has_param("from")) return nullptr;
  const std::string from = req.get_param_value("from");
  for (const auto& m : cluster_.origins) {
    if (m.id == from && m.id != cluster_.self)
      return std::make_shared<PeerOriginStore>(m.id, m.url);
  }
  throw http::HttpError(400, "bad_request", "from=" + from + " is not another origin of this ring");
}

std::shared_ptr<const PulledBlob> OriginServer::pull(const Digest& digest) {
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
