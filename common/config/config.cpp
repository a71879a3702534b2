#include "common/config/config.h"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <limits>

namespace fanout::config {
namespace {

template <typename T>
bool parse_uint(std::string_view s, T& out) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

}  // namespace

std::string HostPort::str() const {
  bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

std::chrono::milliseconds parse_duration(std::string_view text) {
  size_t i = 0;
  while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) ++i;
  uint64_t n = 0;
  if (!parse_uint(text.substr(0, i), n)) {
    throw ConfigError("\"" + std::string(text) + "\" is not a duration (like 500ms, 5s, 2m)");
  }
  std::string_view unit = text.substr(i);
  uint64_t ms;
  if (unit == "ms")
    ms = n;
  else if (unit == "s" || unit.empty())
    ms = n * 1000;
  else if (unit == "m")
    ms = n * 60'000;
  else if (unit == "h")
    ms = n * 3'600'000;
  else
    throw ConfigError("\"" + std::string(text) + "\" has an unknown duration unit");
  return std::chrono::milliseconds(ms);
}

uint64_t parse_size(std::string_view text) {
  size_t i = 0;
  while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) ++i;
  uint64_t n = 0;
  if (!parse_uint(text.substr(0, i), n)) {
    throw ConfigError("\"" + std::string(text) + "\" is not a size (like 4MiB)");
  }
  std::string_view unit = text.substr(i);
  static const std::pair<std::string_view, uint64_t> kUnits[] = {{"", 1},
                                                                 {"B", 1},
                                                                 {"KiB", 1ull << 10},
                                                                 {"MiB", 1ull << 20},
                                                                 {"GiB", 1ull << 30},
                                                                 {"TiB", 1ull << 40},
                                                                 {"KB", 1000},
                                                                 {"MB", 1000'000},
                                                                 {"GB", 1000'000'000}};
  for (auto [name, mult] : kUnits) {
    if (unit == name) {
      if (n > std::numeric_limits<uint64_t>::max() / mult) break;
      return n * mult;
    }
  }
  throw ConfigError("\"" + std::string(text) + "\" has an unknown or overflowing size unit");
}

HostPort parse_host_port(std::string_view text) {
  HostPort hp;
  std::string_view port;
  if (!text.empty() && text.front() == '[') {
    size_t close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      throw ConfigError("\"" + std::string(text) + "\" is not [ipv6]:port");
    }
    hp.host = std::string(text.substr(1, close - 1));
    port = text.substr(close + 2);
  } else {
    size_t colon = text.rfind(':');
    if (colon == std::string_view::npos || colon == 0) {
      throw ConfigError("\"" + std::string(text) + "\" is not host:port");
    }
    hp.host = std::string(text.substr(0, colon));
    port = text.substr(colon + 1);
  }
  if (!parse_uint(port, hp.port)) {
    throw ConfigError("\"" + std::string(text) + "\" has no valid port (0-65535)");
  }
  return hp;
}

void check_not_empty(const std::string& key, const std::string& value) {
  if (value.empty()) throw ConfigError(key + ": must not be empty");
}

void check_http_url(const std::string& key, const std::string& value) {
  std::string_view v = value;
  bool ok =
      (v.starts_with("http://") && v.size() > 7) || (v.starts_with("https://") && v.size() > 8);
  if (!ok) throw ConfigError(key + ": \"" + value + "\" is not an http:// or https:// URL");
}

void check_ip_or_empty(const std::string& key, const std::string& value) {
  in6_addr buf{};
  if (value.empty() || inet_pton(AF_INET, value.c_str(), &buf) == 1 ||
      inet_pton(AF_INET6, value.c_str(), &buf) == 1) {
    return;
  }
  throw ConfigError(key + ": \"" + value + "\" is not an IPv4 or IPv6 address");
}

void check_log_level(const std::string& key, const std::string& value) {
  static constexpr std::array<std::string_view, 6> kLevels = {"trace", "debug", "info",
                                                              "warn",  "error", "off"};
  if (std::find(kLevels.begin(), kLevels.end(), value) == kLevels.end()) {
    throw ConfigError(key + ": unknown level \"" + value +
                      "\" (trace, debug, info, warn, error, off)");
  }
}

YAML::Node load_file(const std::filesystem::path& path) {
  if (path.empty()) return YAML::Node(YAML::NodeType::Map);
  YAML::Node root;
  try {
    root = YAML::LoadFile(path.string());
  } catch (const YAML::Exception& e) {
    throw ConfigError(path.string() + ": " + e.what());
  }
  if (root.IsNull()) return YAML::Node(YAML::NodeType::Map);
  if (!root.IsMap()) throw ConfigError(path.string() + ": top level must be a mapping");
  return root;
}

void apply_override(YAML::Node& root, std::string_view assignment) {
  size_t eq = assignment.find('=');
  if (eq == std::string_view::npos || eq == 0) {
    throw ConfigError("--set \"" + std::string(assignment) + "\": expected key=value");
  }
  std::string key(assignment.substr(0, eq));
  YAML::Node value;
  try {
    value = YAML::Load(std::string(assignment.substr(eq + 1)));
  } catch (const YAML::Exception& e) {
    throw ConfigError("--set " + key + ": " + e.what());
  }
  // Walk/create the dotted path with fresh handles: yaml-cpp node assignment rebinds.
  std::vector<std::string> parts;
  for (size_t start = 0;;) {
    size_t dot = key.find('.', start);
    parts.push_back(key.substr(start, dot - start));
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  std::vector<YAML::Node> chain{root};
  for (size_t i = 0; i + 1 < parts.size(); ++i) {
    YAML::Node next = chain.back()[parts[i]];
    if (!next.IsDefined() || next.IsNull()) next = YAML::Node(YAML::NodeType::Map);
    if (!next.IsMap()) throw ConfigError("--set " + key + ": " + parts[i] + " is not a mapping");
    chain.back()[parts[i]] = next;
    chain.push_back(chain.back()[parts[i]]);
  }
  chain.back()[parts.back()] = value;
}

Reader::Reader(YAML::Node node, std::string prefix) : node_(node), prefix_(std::move(prefix)) {
  if (node_.IsDefined() && !node_.IsNull() && !node_.IsMap()) {
    throw ConfigError((prefix_.empty() ? "config" : prefix_.substr(0, prefix_.size() - 1)) +
                      ": must be a mapping");
  }
}

YAML::Node Reader::lookup(const std::string& key) {
  seen_.push_back(key);
  if (!node_.IsMap()) return YAML::Node();
  return node_[key];
}

std::string Reader::scalar(const std::string& key, const YAML::Node& node) const {
  if (!node.IsScalar()) throw ConfigError(full(key) + ": expected a single value");
  return node.Scalar();
}

void Reader::get(const std::string& key, std::string& out) {
  YAML::Node n = lookup(key);
  if (n.IsDefined() && !n.IsNull()) out = scalar(key, n);
}

void Reader::get(const std::string& key, bool& out) {
  YAML::Node n = lookup(key);
  if (!n.IsDefined() || n.IsNull()) return;
  std::string s = scalar(key, n);
  if (s == "true" || s == "yes" || s == "on")
    out = true;
  else if (s == "false" || s == "no" || s == "off")
    out = false;
  else
    throw ConfigError(full(key) + ": expected true or false, got \"" + s + "\"");
}

template <typename T>
static void get_uint(Reader& r, const std::string& key, const YAML::Node& n, const std::string& s,
                     T& out) {
  T v;
  if (!parse_uint(s, v)) {
    throw ConfigError(r.full(key) + ": expected a whole number from 0 to " +
                      std::to_string(std::numeric_limits<T>::max()) + ", got \"" + s + "\"");
  }
  out = v;
}

void Reader::get(const std::string& key, uint16_t& out) {
  YAML::Node n = lookup(key);
  if (n.IsDefined() && !n.IsNull()) get_uint(*this, key, n, scalar(key, n), out);
}
void Reader::get(const std::string& key, uint32_t& out) {
  YAML::Node n = lookup(key);
  if (n.IsDefined() && !n.IsNull()) get_uint(*this, key, n, scalar(key, n), out);
}
void Reader::get(const std::string& key, uint64_t& out) {
  YAML::Node n = lookup(key);
  if (n.IsDefined() && !n.IsNull()) get_uint(*this, key, n, scalar(key, n), out);
}

void Reader::get(const std::string& key, std::vector<std::string>& out) {
  YAML::Node n = lookup(key);
  if (!n.IsDefined() || n.IsNull()) return;
  if (n.IsScalar()) {
    out = {n.Scalar()};
    return;
  }
  if (!n.IsSequence()) throw ConfigError(full(key) + ": expected a list");
  std::vector<std::string> v;
  for (const auto& item : n) {
    if (!item.IsScalar()) throw ConfigError(full(key) + ": every item must be a single value");
    v.push_back(item.Scalar());
  }
  out = std::move(v);
}

void Reader::get_duration(const std::string& key, std::chrono::milliseconds& out) {
  YAML::Node n = lookup(key);
  if (!n.IsDefined() || n.IsNull()) return;
  try {
    out = parse_duration(scalar(key, n));
  } catch (const ConfigError& e) {
    throw ConfigError(full(key) + ": " + e.what());
  }
}

void Reader::get_size(const std::string& key, uint64_t& out) {
  YAML::Node n = lookup(key);
  if (!n.IsDefined() || n.IsNull()) return;
  try {
    out = parse_size(scalar(key, n));
  } catch (const ConfigError& e) {
    throw ConfigError(full(key) + ": " + e.what());
  }
}

void Reader::get_size(const std::string& key, uint32_t& out) {
  uint64_t v = out;
  get_size(key, v);
  if (v > std::numeric_limits<uint32_t>::max()) throw ConfigError(full(key) + ": too large");
  out = static_cast<uint32_t>(v);
}

void Reader::get_host_port(const std::string& key, HostPort& out) {
  YAML::Node n = lookup(key);
  if (!n.IsDefined() || n.IsNull()) return;
  try {
    out = parse_host_port(scalar(key, n));
  } catch (const ConfigError& e) {
    throw ConfigError(full(key) + ": " + e.what());
  }
}

Reader Reader::child(const std::string& key) {
  YAML::Node n = lookup(key);
  return Reader(n.IsDefined() ? n : YAML::Node(), prefix_ + key + ".");
}

void Reader::finish() const {
  if (!node_.IsMap()) return;
  for (const auto& kv : node_) {
    std::string key = kv.first.as<std::string>();
    if (std::find(seen_.begin(), seen_.end(), key) == seen_.end()) {
      throw ConfigError(full(key) + ": unknown key");
    }
  }
}

}  // namespace fanout::config
