// fanoutctl prewarm, flip's pre-warm check, and rollout: the owning origins pull every blob of a
// version (layers and manifest) before any agent asks, so a flip never sends the fleet to cold
// origins. "Pre-warmed" means: every blob is ready at its origin, and, when
// prewarm.agents_percent > 0, that share of agents holds it (agent pulls arrive with issue 5).
#include <cmath>
#include <iostream>
#include <set>
#include <thread>

#include "cli/commands.h"
#include "cli/origin_client.h"
#include "cli/progress.h"

namespace fanout::cli {
namespace {

struct Blob {
  Digest digest;
  uint64_t size = 0;
  std::string name;
};

registry::ModelVersion find_version(Context& ctx, const std::string& model,
                                    std::optional<int64_t> number, const std::string& alias) {
  auto& db = ctx.registry();
  if (!number) {
    auto v = db.alias_version(model, alias);
    if (!v) throw CommandError(kExitFailure, model + "@" + alias + " does not exist");
    number = *v;
  }
  auto v = db.version(model, *number);
  if (!v) throw CommandError(kExitFailure, model + " has no version " + std::to_string(*number));
  return *v;
}

// Every blob an agent needs for the version: the manifest and each distinct layer.
std::vector<Blob> blobs_of(Context& ctx, const registry::ModelVersion& v) {
  auto artifact = ctx.registry().artifact(v.artifact_digest);
  if (!artifact) throw CommandError(kExitFailure, "artifact " + v.artifact_digest + " is missing");
  std::vector<Blob> out{{Digest::parse(artifact->digest), artifact->size(), "(manifest)"}};
  std::set<std::string> seen{artifact->digest};
  for (const auto& l : artifact->layers) {
    if (seen.insert(l.digest).second) out.push_back({Digest::parse(l.digest), l.size, l.file_name});
  }
  return out;
}

struct Readiness {
  size_t ready = 0;
  uint64_t bytes = 0;  // ready blobs' sizes plus bytes pulled so far of the others
  std::vector<std::string> not_ready;
  std::vector<std::string> failed;
};

Readiness check(OriginClient& origins, const std::vector<Blob>& blobs) {
  Readiness r;
  for (const auto& b : blobs) {
    BlobState s = origins.status(b.digest);
    if (s.ready()) {
      ++r.ready;
      r.bytes += b.size;
      continue;
    }
    r.bytes += std::min(s.bytes_pulled, b.size);
    std::string what = b.name + " " + b.digest.str() + " (" + s.state + " at " + s.origin + ")";
    if (s.state == "failed")
      r.failed.push_back(what + ": " + s.error);
    else
      r.not_ready.push_back(what);
  }
  return r;
}

uint64_t total_size(const std::vector<Blob>& blobs) {
  uint64_t t = 0;
  for (const auto& b : blobs) t += b.size;
  return t;
}

}  // namespace

void cmd_prewarm(Context& ctx, const PrewarmOptions& o) {
  const auto& config = ctx.config();
  ctx.registry().authenticate(config.token, registry::Scope::kWrite);
  auto v = find_version(ctx, o.model, o.version, o.alias);
  auto blobs = blobs_of(ctx, v);
  uint64_t total = total_size(blobs);
  OriginClient origins(config.origins, config.token, config.http_timeout);

  double read_before = origins.objectstore_bytes_read();
  for (const auto& b : blobs) origins.prefetch(b.digest);
  std::cerr << o.model << " version " << v.number << ": asked the origins to pull " << blobs.size()
            << " blobs (" << human_bytes(total) << ")\n";

  uint32_t percent = o.agents_percent.value_or(config.prewarm_agents_percent);
  if (o.wait || percent > 0) {
    Progress progress("origins  ", total);
    auto deadline = std::chrono::steady_clock::now() + config.prewarm_timeout;
    while (true) {
      Readiness r = check(origins, blobs);
      std::string note =
          "origins ready " + std::to_string(r.ready) + "/" + std::to_string(blobs.size());
      progress.update(r.bytes, note);
      if (!r.failed.empty()) {
        progress.finish(note);
        throw CommandError(kExitFailure, "origin pull failed: " + r.failed.front());
      }
      if (r.ready == blobs.size()) {
        progress.finish(note);
        break;
      }
      if (std::chrono::steady_clock::now() > deadline) {
        progress.finish(note);
        throw CommandError(kExitFailure, "timed out waiting for " + r.not_ready.front());
      }
      std::this_thread::sleep_for(config.prewarm_poll_interval);
    }
    double moved = origins.objectstore_bytes_read() - read_before;
    // The figure that shows dedup: layers some origin already held cost nothing.
    std::cout << "origins read " << static_cast<uint64_t>(moved) << " bytes (" << human_bytes(moved)
              << ") from the object store for " << blobs.size() << " blobs of "
              << human_bytes(total) << "\n";
  }

  if (percent > 0) {
    if (config.agents.empty()) {
      throw CommandError(kExitConfig, "--agents " + std::to_string(percent) +
                                          " but no agents are configured (key agents)");
    }
    size_t count = static_cast<size_t>(std::ceil(config.agents.size() * percent / 100.0));
    std::vector<std::string> lacking;
    size_t accepted = 0;
    for (size_t i = 0; i < count; ++i) {
      std::string detail;
      switch (request_agent_pull(config.agents[i], o.model, v.number, config.token,
                                 config.http_timeout, detail)) {
        case AgentPull::kAccepted:
          ++accepted;
          break;
        case AgentPull::kNoEndpoint:
          lacking.push_back(config.agents[i]);
          break;
        case AgentPull::kFailed:
          throw CommandError(kExitFailure, "agent " + config.agents[i] + ": " + detail);
      }
    }
    std::cout << "agents asked to pull: " << accepted << "/" << count << "\n";
    if (!lacking.empty()) {
      throw CommandError(
          kExitFailure,
          std::to_string(lacking.size()) + " of " + std::to_string(count) +
              " agents have no POST /v1/pulls yet (agent pre-warm is issue 5), e.g. " +
              lacking.front() + "; the origins are warm");
    }
  }
}

// Throws CommandError(kExitRefused) unless the version is pre-warmed.
void require_prewarmed(Context& ctx, const registry::ModelVersion& v) {
  const auto& config = ctx.config();
  auto blobs = blobs_of(ctx, v);
  OriginClient origins(config.origins, config.token, config.http_timeout);
  Readiness r;
  try {
    r = check(origins, blobs);
  } catch (const CommandError& e) {
    throw CommandError(kExitRefused, std::string("cannot tell whether version ") +
                                         std::to_string(v.number) + " is pre-warmed: " + e.what() +
                                         " (use --force to flip anyway)");
  }
  if (r.ready != blobs.size()) {
    const auto& first = r.failed.empty() ? r.not_ready.front() : r.failed.front();
    throw CommandError(kExitRefused, "version " + std::to_string(v.number) + " of " + v.model +
                                         " is not pre-warmed: " + std::to_string(r.ready) + "/" +
                                         std::to_string(blobs.size()) +
                                         " blobs ready at origins, " + "e.g. " + first +
                                         "; run `fanoutctl prewarm " + v.model + " --version " +
                                         std::to_string(v.number) + " --wait` or pass --force");
  }
  if (config.prewarm_agents_percent > 0) {
    throw CommandError(
        kExitRefused, "prewarm.agents_percent is " + std::to_string(config.prewarm_agents_percent) +
                          " but agents cannot report what they hold yet (GET /v1/pulls, issue "
                          "5); pass --force or set it to 0");
  }
}

void cmd_rollout(Context& ctx, const std::string& target, bool watch) {
  auto [model, alias] = split_target(target);
  const auto& config = ctx.config();
  OriginClient origins(config.origins, config.token, config.http_timeout);
  while (true) {
    auto v = find_version(ctx, model, std::nullopt, alias);
    auto blobs = blobs_of(ctx, v);
    Readiness r = check(origins, blobs);
    std::cout << model << "@" << alias << " = version " << v.number << " " << v.artifact_digest
              << ": origins ready " << r.ready << "/" << blobs.size() << " blobs, "
              << human_bytes(r.bytes) << " / " << human_bytes(total_size(blobs))
              << "; agents holding it: unknown (" << config.agents.size()
              << " configured; agents report holdings with issue 5)\n";
    if (!watch || r.ready == blobs.size()) break;
    std::this_thread::sleep_for(config.prewarm_poll_interval);
  }
}

}  // namespace fanout::cli
