#pragma once
// Resolves model versions through the tracker:
//   GET {tracker}/v1/models/{name}/aliases/{alias}   -> {"version": N, "artifact_digest":
//   "sha256:.."} GET {tracker}/v1/models/{name}/versions/{N}      -> the same fields
// TODO(issue 6): the tracker's alias routes are being built; the field names follow the registry's
// AliasTarget (version, artifact_digest). "manifest" and "digest" are accepted as well until the
// JSON body is fixed in proto/, and the versions route is this agent's assumption.
#include <chrono>
#include <string>

#include "agent/pull_service.h"

namespace fanout::agent {

class TrackerModelResolver {
 public:
  explicit TrackerModelResolver(std::string tracker_url,
                                std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // PullService::ResolveFn; throws PullService::ResolveNotFound on 404, std::runtime_error else.
  ResolvedVersion operator()(const std::string& model, const std::string& alias,
                             int64_t version) const;

 private:
  std::string tracker_url_;
  std::chrono::milliseconds timeout_;
};

}  // namespace fanout::agent
