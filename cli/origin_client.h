#pragma once
// What fanoutctl asks of origins and agents: prefetch a blob, read its pull status, count the
// bytes origins read from the object store, ask agents to pull a version. A non-owning origin
// answers 307 to the owner, which the client follows, so any configured origin will do.
#include <chrono>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/digest/digest.h"

namespace fanout::cli {

struct BlobState {
  std::string state;  // absent | pulling | ready | failed (the origin's words)
  uint64_t bytes_pulled = 0;
  uint64_t size = 0;
  std::string error;
  std::string origin;  // who answered
  bool ready() const { return state == "ready"; }
};

class OriginClient {
 public:
  OriginClient(std::vector<std::string> origins, std::string token,
               std::chrono::milliseconds timeout);

  // POST /v1/blobs/{digest}/prefetch. Throws CommandError naming the origin and its answer.
  void prefetch(const Digest& digest);
  // GET /v1/blobs/{digest}/status.
  BlobState status(const Digest& digest);
  // Sum of fanout_origin_objectstore_bytes_read_total over the origins that answer /metrics.
  double objectstore_bytes_read();

 private:
  const std::string& origin_for(const Digest& digest) const;

  std::vector<std::string> origins_;
  std::string token_;
  std::chrono::milliseconds timeout_;
};

// GET {agent}/v1/blobs: the digests ("sha256:...") of the complete, verified blobs an agent
// holds; nullopt when it cannot be asked or answers something else (`detail` says what).
std::optional<std::set<std::string>> agent_holdings(const std::string& agent,
                                                    std::chrono::milliseconds timeout,
                                                    std::string& detail);
// Sum over `agents` of what each received from peers, origins and the HTTP fallback
// (fanout_agent_bytes_from_{peers,origins,fallback}_total); agents that do not answer add 0.
double agents_bytes_received(const std::vector<std::string>& agents,
                             std::chrono::milliseconds timeout);

// Result of POST {agent}/v1/pulls.
enum class AgentPull { kAccepted, kNoEndpoint, kFailed };
AgentPull request_agent_pull(const std::string& agent, const std::string& model, int64_t version,
                             const std::string& token, std::chrono::milliseconds timeout,
                             std::string& detail);

}  // namespace fanout::cli
