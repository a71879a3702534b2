#include "agent/tracker_model_resolver.h"

#include <httplib.h>

#include <cctype>
#include <nlohmann/json.hpp>

namespace fanout::agent {
namespace {

// Registry names are [A-Za-z0-9._-]; anything else is percent-encoded, so a bad one is a 404
// rather than another path.
std::string encode(const std::string& name) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : name) {
    if (std::isalnum(c) || c == '.' || c == '_' || c == '-') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

}  // namespace

TrackerModelResolver::TrackerModelResolver(std::string tracker_url,
                                           std::chrono::milliseconds timeout)
    : tracker_url_(std::move(tracker_url)), timeout_(timeout) {}

ResolvedVersion TrackerModelResolver::operator()(const std::string& model, const std::string& alias,
                                                 int64_t version) const {
  std::string path =
      "/v1/models/" + encode(model) +
      (alias.empty() ? "/versions/" + std::to_string(version) : "/aliases/" + encode(alias));
  httplib::Client client(tracker_url_);
  client.set_connection_timeout(timeout_);
  client.set_read_timeout(timeout_);
  auto res = client.Get(path);
  const std::string what =
      model + (alias.empty() ? " version " + std::to_string(version) : "@" + alias);
  if (!res) {
    throw std::runtime_error("resolving " + what + ": tracker " + tracker_url_ + ": " +
                             httplib::to_string(res.error()));
  }
  if (res->status == 404) throw PullService::ResolveNotFound(what + " is unknown to the tracker");
  if (res->status != 200) {
    throw std::runtime_error("resolving " + what + ": tracker answered HTTP " +
                             std::to_string(res->status) + ": " + res->body.substr(0, 200));
  }
  auto j = nlohmann::json::parse(res->body, nullptr, false);
  ResolvedVersion out;
  if (!j.is_object()) throw std::runtime_error("resolving " + what + ": the answer is not JSON");
  if (j.contains("version") && j["version"].is_number_integer()) out.version = j["version"];
  bool found = false;
  for (const char* key : {"artifact_digest", "manifest", "digest"}) {
    if (j.contains(key) && j[key].is_string() &&
        Digest::try_parse(j[key].get<std::string>(), out.manifest)) {
      found = true;
      break;
    }
  }
  if (!found || out.version <= 0) {
    throw std::runtime_error("resolving " + what + ": no version and manifest digest in " +
                             res->body.substr(0, 200));
  }
  return out;
}

}  // namespace fanout::agent
