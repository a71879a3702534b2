#pragma once
// fanout-agent's local HTTP API:
//   GET /v1/blobs/{digest}   the blob (fetched through the swarm if missing), with Range support;
//                            a Range on a blob still arriving is answered as soon as the pieces
//                            under it are verified (the swarm fetches them first)
//   HEAD /v1/blobs/{digest}  200 with Content-Length when the blob is complete and verified in
//                            the cache, 404 otherwise; never starts a fetch
//   GET /v1/blobs            {"blobs": [{"digest", "size"}...]}: every complete blob held, so
//                            fanoutctl can count the agents holding a version
//   POST /v1/pulls, GET /v1/pulls/{id}   model pulls (see pull_service.h)
//   GET /healthz, GET /metrics
#include <cstdint>
#include <functional>
#include <future>

#include "agent/agent_metrics.h"
#include "agent/blob_cache.h"
#include "agent/blob_fetcher.h"
#include "common/config/config.h"
#include "common/http/http_server.h"
#include "common/metrics/metrics.h"

namespace fanout::agent {

class PullService;

// Reads of a blob still being fetched (main wires swarm::Engine::prioritize and ::read).
struct PartialReads {
  std::function<std::shared_future<bool>(const Digest&, uint64_t offset, uint64_t length)>
      prioritize;
  std::function<bool(const Digest&, uint64_t offset, void* out, size_t length)> read;
};

// What the server uses besides the fetcher; every part is optional.
struct AgentServerParts {
  BlobCache* cache = nullptr;    // pins blobs while they are read
  PartialReads partial;          // streaming Range reads; unset: a Range waits for the blob
  PullService* pulls = nullptr;  // model pulls; null: /v1/pulls answers 404
};

class AgentServer {
 public:
  using Parts = AgentServerParts;

  AgentServer(BlobFetcher& fetcher, metrics::Registry& registry, AgentMetrics& metrics,
              Parts parts = {});

  uint16_t bind(const config::HostPort& address) { return http_.bind(address); }
  void start() { http_.start(); }
  void stop() { http_.stop(); }
  uint16_t port() const { return http_.port(); }
  // /healthz answers 200 only while this says so (main: session started and cache usable).
  void set_ready(std::function<bool()> ready) { http_.set_ready(std::move(ready)); }

 private:
  // The one place where fetch errors become HTTP statuses.
  [[noreturn]] static void throw_http(const FetchError& e);
  std::filesystem::path get_blob(const Digest& digest);
  // HEAD /v1/blobs/{digest} and GET /v1/blobs: what is held, from the cache without fetching.
  void head_blob(const Digest& digest, httplib::Response& res);
  void list_blobs(httplib::Response& res);
  // Answers a Range request from the verified pieces of a blob still being fetched. False when
  // the blob turned out to be complete (or the request is not a single range): serve the file.
  bool serve_while_fetching(const httplib::Request& req, httplib::Response& res,
                            const Digest& digest);

  BlobFetcher& fetcher_;
  AgentMetrics& metrics_;
  Parts parts_;
  http::HttpServer http_;
};

}  // namespace fanout::agent
