// fanoutctl prewarm, flip's pre-warm check, and rollout: the owning origins pull every blob of a
// version (layers and manifest) before any agent asks, so a flip never sends the fleet to cold
// origins. "Pre-warmed" means: every blob is ready at its origin, and, when
// prewarm.agents_percent > 0, that share of the configured agents holds every layer. An agent
// holds a layer when it lists it in GET /v1/blobs (complete and verified); prewarm --wait, flip
// and rollout all count with count_agents() below, so they agree.
#include <unistd.h>

#include <cmath>
#include <iostream>
#include <set>
#include <sstream>
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

// The layers only: blobs_of() puts the manifest first.
std::vector<Blob> layers_of(const std::vector<Blob>& blobs) {
  return {blobs.begin() + 1, blobs.end()};
}

size_t agents_needed(size_t agents, uint32_t percent) {
  return static_cast<size_t>(std::ceil(agents * percent / 100.0));
}

struct FleetCount {
  size_t holding = 0;      // agents holding every layer
  size_t unreachable = 0;  // agents that did not answer GET /v1/blobs
  uint64_t bytes = 0;      // layer bytes held, summed over agents
  std::string first_error;
};

FleetCount count_agents(const std::vector<std::string>& agents, const std::vector<Blob>& layers,
                        std::chrono::milliseconds timeout) {
  FleetCount c;
  for (const auto& agent : agents) {
    std::string detail;
    auto held = agent_holdings(agent, timeout, detail);
    if (!held) {
      ++c.unreachable;
      if (c.first_error.empty()) c.first_error = agent + ": " + detail;
      continue;
    }
    bool all = true;
    for (const auto& l : layers) {
      if (held->contains(l.digest.str())) {
        c.bytes += l.size;
      } else {
        all = false;
      }
    }
    if (all) ++c.holding;
  }
  return c;
}

std::string describe(const FleetCount& c, size_t agents) {
  std::string s = std::to_string(c.holding) + "/" + std::to_string(agents) + " agents";
  if (c.unreachable) s += " (" + std::to_string(c.unreachable) + " unreachable)";
  return s;
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
    size_t count = agents_needed(config.agents.size(), percent);
    double received_before = agents_bytes_received(config.agents, config.http_timeout);
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
      throw CommandError(kExitFailure, std::to_string(lacking.size()) + " of " +
                                           std::to_string(count) +
                                           " agents have no POST /v1/pulls, e.g. " +
                                           lacking.front() + "; the origins are warm");
    }
    if (o.wait) {
      auto layers = layers_of(blobs);
      uint64_t layer_bytes = total_size(layers);
      Progress progress("agents   ", layer_bytes * count);
      auto deadline = std::chrono::steady_clock::now() + config.prewarm_timeout;
      while (true) {
        FleetCount c = count_agents(config.agents, layers, config.http_timeout);
        std::string note =
            describe(c, config.agents.size()) + " hold it, " + std::to_string(count) + " wanted";
        progress.update(std::min(c.bytes, layer_bytes * count), note);
        if (c.holding >= count) {
          progress.finish(note);
          break;
        }
        if (std::chrono::steady_clock::now() > deadline) {
          progress.finish(note);
          throw CommandError(kExitFailure, "timed out: " + note +
                                               (c.first_error.empty() ? "" : "; " + c.first_error));
        }
        std::this_thread::sleep_for(config.prewarm_poll_interval);
      }
      double received = agents_bytes_received(config.agents, config.http_timeout) - received_before;
      // The other figure that shows dedup: layers the agents already held cost nothing.
      std::cout << "agents received " << static_cast<uint64_t>(received) << " bytes ("
                << human_bytes(received) << ") for " << count << " agents x "
                << human_bytes(layer_bytes) << " of layers\n";
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
    size_t needed = agents_needed(config.agents.size(), config.prewarm_agents_percent);
    FleetCount c = count_agents(config.agents, layers_of(blobs), config.http_timeout);
    if (config.agents.empty() || c.holding < needed) {
      throw CommandError(
          kExitRefused,
          "version " + std::to_string(v.number) + " of " + v.model + " is not pre-warmed: " +
              describe(c, config.agents.size()) + " hold every layer, prewarm.agents_percent " +
              std::to_string(config.prewarm_agents_percent) + " needs " +
              std::to_string(std::max<size_t>(needed, 1)) +
              (c.first_error.empty() ? "" : " (" + c.first_error + ")") +
              "; run `fanoutctl prewarm " + v.model + " --version " + std::to_string(v.number) +
              " --agents " + std::to_string(config.prewarm_agents_percent) +
              " --wait` or pass --force");
    }
  }
}

void cmd_rollout(Context& ctx, const std::string& target, bool once) {
  auto [model, alias] = split_target(target);
  const auto& config = ctx.config();
  OriginClient origins(config.origins, config.token, config.http_timeout);
  const bool tty = ::isatty(STDOUT_FILENO) == 1;
  // A live view: one line, redrawn in place on a terminal, appended otherwise, until Ctrl-C.
  while (true) {
    auto v = find_version(ctx, model, std::nullopt, alias);
    auto blobs = blobs_of(ctx, v);
    std::string origin_state;
    try {
      Readiness r = check(origins, blobs);
      origin_state = std::to_string(r.ready) + "/" + std::to_string(blobs.size()) + " blobs";
    } catch (const CommandError& e) {
      if (once) throw;
      origin_state = std::string("unknown (") + e.what() + ")";  // a live view rides it out
    }
    FleetCount c = count_agents(config.agents, layers_of(blobs), config.http_timeout);
    std::ostringstream line;
    line << model << "@" << alias << " = version " << v.number << " "
         << v.artifact_digest.substr(0, 19) << ": origins ready " << origin_state
         << "; agents holding every layer: " << describe(c, config.agents.size());
    if (once) {
      std::cout << line.str() << "\n";
      if (!c.first_error.empty()) std::cerr << "fanoutctl: " << c.first_error << "\n";
      break;
    }
    if (tty) {
      std::cout << "\r\033[K" << line.str() << std::flush;
    } else {
      std::cout << line.str() << std::endl;
    }
    std::this_thread::sleep_for(config.prewarm_poll_interval);
  }
}

}  // namespace fanout::cli
