#pragma once
// fanout-agent's local HTTP API:
//   GET /v1/blobs/{digest}   the blob (fetched through the swarm if missing), with Range support
//   GET /healthz, GET /metrics
#include <cstdint>

#include "agent/agent_metrics.h"
#include "agent/blob_fetcher.h"
#include "common/config/config.h"
#include "common/http/http_server.h"
#include "common/metrics/metrics.h"

namespace fanout::agent {

class AgentServer {
 public:
  AgentServer(BlobFetcher& fetcher, metrics::Registry& registry, AgentMetrics& metrics);

  uint16_t bind(const config::HostPort& address) { return http_.bind(address); }
  void start() { http_.start(); }
  void stop() { http_.stop(); }
  uint16_t port() const { return http_.port(); }

 private:
  // The one place where fetch errors become HTTP statuses.
  std::filesystem::path get_blob(const std::string& digest_param);

  BlobFetcher& fetcher_;
  AgentMetrics& metrics_;
  http::HttpServer http_;
};

}  // namespace fanout::agent
