#pragma once
// fanout-origin's HTTP API: a blob's metainfo and its bytes (ranged), pulled on first request;
// uploads; prefetch and its progress. A digest this origin does not own is redirected.
//   GET  /v1/blobs/{digest}/metainfo   canonical bencoded metainfo (signed in the
//                                      X-Fanout-Metainfo-Signature header when given a key)
//   GET  /v1/blobs/{digest}            the blob, with Range support
//   PUT  /v1/blobs/{digest}            upload (verified, written to the object store, seeded)
//   POST /v1/blobs/{digest}/prefetch   pull now in the background; 202 at once. With
//                                      ?from={origin id}: copy it from that origin of the ring
//                                      (the object store if that fails); see Replicator
//   GET  /v1/blobs/{digest}/status     {"state", "bytes_pulled", "size"[, "error"]}
//   GET /healthz, GET /metrics
#include <cstdint>
#include <optional>
#include <string>

#include "common/config/config.h"
#include "common/http/http_server.h"
#include "common/metrics/metrics.h"
#include "common/placement/ring.h"
#include "origin/blob_puller.h"
#include "origin/config.h"
#include "origin/origin_metrics.h"
#include "proto/metainfo_signature.h"

namespace fanout::origin {

class OriginServer {
 public:
  // An empty cluster (no origins listed) owns every digest. Without a signer metainfo is
  // served unsigned.
  OriginServer(BlobPuller& puller, metrics::Registry& registry, OriginMetrics& metrics,
               ClusterConfig cluster = {},
               std::optional<proto::MetainfoSigner> signer = std::nullopt);

  uint16_t bind(const config::HostPort& address) { return http_.bind(address); }
  void start() { http_.start(); }
  void stop() { http_.stop(); }
  uint16_t port() const { return http_.port(); }

 private:
  // The one place where the puller's errors become HTTP statuses.
  std::shared_ptr<const PulledBlob> pull(const Digest& digest);
  // Parses the digest; when this origin does not own it, answers 307 to the best owner's same
  // path and returns nullopt.
  std::optional<Digest> owned_digest(const httplib::Request& req, httplib::Response& res);
  // The origin named by ?from= as a read-only store, nullptr without one; 400 for an id that is
  // not another member of the ring.
  std::shared_ptr<ObjectStore> copy_source(const httplib::Request& req) const;

  BlobPuller& puller_;
  OriginMetrics& metrics_;
  ClusterConfig cluster_;
  std::optional<proto::MetainfoSigner> signer_;
  placement::Ring ring_;
  http::HttpServer http_;
};

}  // namespace fanout::origin
