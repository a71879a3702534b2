#include "cli/origin_client.h"

#include <httplib.h>

#include <nlohmann/json.hpp>
#include <sstream>

#include "cli/context.h"

namespace fanout::cli {
namespace {

std::unique_ptr<httplib::Client> client(const std::string& base, const std::string& token,
                                        std::chrono::milliseconds timeout) {
  auto c = std::make_unique<httplib::Client>(base);
  c->set_follow_location(true);
  c->set_connection_timeout(std::chrono::duration_cast<std::chrono::seconds>(timeout).count());
  c->set_read_timeout(std::chrono::duration_cast<std::chrono::seconds>(timeout).count());
  if (!token.empty()) c->set_bearer_token_auth(token);
  return c;
}

std::string describe(const httplib::Result& r) {
  if (!r) return httplib::to_string(r.error());
  return "HTTP " + std::to_string(r->status) + " " + r->body.substr(0, 300);
}

// httplib's "no route" answers (fanout's HttpServer words them "no route for ...").
bool is_missing_route(const httplib::Result& r) {
  return r && r->status == 404 && r->body.find("no route for") != std::string::npos;
}

// Sums the samples of the named counters in each server's /metrics (those that answer).
double sum_metrics(const std::vector<std::string>& servers, const std::vector<std::string>& names,
                   std::chrono::milliseconds timeout) {
  double total = 0;
  for (const auto& server : servers) {
    auto r = client(server, "", timeout)->Get("/metrics");
    if (!r || r->status != 200) continue;
    std::istringstream lines(r->body);
    for (std::string line; std::getline(lines, line);) {
      for (const auto& name : names) {
        if (line.rfind(name, 0) != 0 || line.size() <= name.size()) continue;
        char next = line[name.size()];
        if (next != ' ' && next != '{') continue;
        total += std::stod(line.substr(line.rfind(' ') + 1));
      }
    }
  }
  return total;
}

}  // namespace

OriginClient::OriginClient(std::vector<std::string> origins, std::string token,
                           std::chrono::milliseconds timeout)
    : origins_(std::move(origins)), token_(std::move(token)), timeout_(timeout) {
  if (origins_.empty()) throw CommandError(kExitConfig, "no origins configured (key origins)");
}

const std::string& OriginClient::origin_for(const Digest& digest) const {
  // Spread requests over the origins; the one asked redirects to an owner when it is not one.
  return origins_[std::hash<Digest>()(digest) % origins_.size()];
}

void OriginClient::prefetch(const Digest& digest) {
  const auto& origin = origin_for(digest);
  auto r = client(origin, token_, timeout_)->Post("/v1/blobs/" + digest.str() + "/prefetch");
  if (r && (r->status == 200 || r->status == 202)) return;
  if (is_missing_route(r)) {
    throw CommandError(kExitFailure,
                       "origin " + origin + " has no POST /v1/blobs/{digest}/prefetch (issue 3)");
  }
  throw CommandError(kExitFailure,
                     "prefetch " + digest.str() + " at " + origin + ": " + describe(r));
}

BlobState OriginClient::status(const Digest& digest) {
  const auto& origin = origin_for(digest);
  auto r = client(origin, token_, timeout_)->Get("/v1/blobs/" + digest.str() + "/status");
  if (!r || r->status != 200) {
    throw CommandError(kExitFailure,
                       "status of " + digest.str() + " at " + origin + ": " + describe(r));
  }
  auto j = nlohmann::json::parse(r->body, nullptr, false);
  if (!j.is_object() || !j.contains("state")) {
    throw CommandError(kExitFailure, "status of " + digest.str() + " at " + origin +
                                         ": unexpected answer " + r->body.substr(0, 200));
  }
  BlobState s;
  s.state = j.value("state", "");
  s.bytes_pulled = j.value("bytes_pulled", uint64_t{0});
  s.size = j.value("size", uint64_t{0});
  s.error = j.value("error", "");
  s.origin = origin;
  return s;
}

double OriginClient::objectstore_bytes_read() {
  return sum_metrics(origins_, {"fanout_origin_objectstore_bytes_read_total"}, timeout_);
}

std::optional<std::set<std::string>> agent_holdings(const std::string& agent,
                                                    std::chrono::milliseconds timeout,
                                                    std::string& detail) {
  auto r = client(agent, "", timeout)->Get("/v1/blobs");
  if (!r || r->status != 200) {
    detail = describe(r);
    return std::nullopt;
  }
  auto j = nlohmann::json::parse(r->body, nullptr, false);
  if (!j.is_object() || !j.contains("blobs") || !j["blobs"].is_array()) {
    detail = "unexpected answer to GET /v1/blobs: " + r->body.substr(0, 200);
    return std::nullopt;
  }
  std::set<std::string> held;
  for (const auto& b : j["blobs"]) {
    if (b.is_object() && b.contains("digest") && b["digest"].is_string()) held.insert(b["digest"]);
  }
  return held;
}

double agents_bytes_received(const std::vector<std::string>& agents,
                             std::chrono::milliseconds timeout) {
  return sum_metrics(
      agents,
      {"fanout_agent_bytes_from_peers_total", "fanout_agent_bytes_from_origins_total",
       "fanout_agent_bytes_from_fallback_total"},
      timeout);
}

AgentPull request_agent_pull(const std::string& agent, const std::string& model, int64_t version,
                             const std::string& token, std::chrono::milliseconds timeout,
                             std::string& detail) {
  // wait: false, so the agent answers 202 at once and a large pull cannot time the request out;
  // prewarm --wait counts what the agents hold instead.
  nlohmann::json body = {{"model", model}, {"version", version}, {"wait", false}};
  auto r = client(agent, token, timeout)->Post("/v1/pulls", body.dump(), "application/json");
  if (r && (r->status == 200 || r->status == 201 || r->status == 202)) return AgentPull::kAccepted;
  detail = describe(r);
  return is_missing_route(r) ? AgentPull::kNoEndpoint : AgentPull::kFailed;
}

}  // namespace fanout::cli
