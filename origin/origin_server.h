#pragma once
// fanout-origin's HTTP API: a blob's metainfo and its bytes (ranged), pulled on first request.
//   GET /v1/blobs/{digest}/metainfo   canonical bencoded metainfo
//   GET /v1/blobs/{digest}            the blob, with Range support
//   GET /healthz, GET /metrics
#include <cstdint>

#include "common/config/config.h"
#include "common/http/http_server.h"
#include "common/metrics/metrics.h"
#include "origin/blob_puller.h"
#include "origin/origin_metrics.h"

namespace fanout::origin {

class OriginServer {
 public:
  OriginServer(BlobPuller& puller, metrics::Registry& registry, OriginMetrics& metrics);

  uint16_t bind(const config::HostPort& address) { return http_.bind(address); }
  void start() { http_.start(); }
  void stop() { http_.stop(); }
  uint16_t port() const { return http_.port(); }

 private:
  // The one place where the puller's errors become HTTP statuses.
  std::shared_ptr<const PulledBlob> pull(const std::string& digest_param);

  BlobPuller& puller_;
  OriginMetrics& metrics_;
  http::HttpServer http_;
};

}  // namespace fanout::origin
