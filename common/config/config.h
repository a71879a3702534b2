#pragma once
// YAML configuration plumbing shared by every binary. Each component declares a config struct
// whose member initialisers are the defaults (applied in one place), reads it with a
// config::Reader that rejects unknown keys and bad values with an error naming the key, and lets
// `--set key.path=value` flags override any key.
#include <yaml-cpp/yaml.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace fanout::config {

class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct HostPort {
  std::string host;
  uint16_t port = 0;
  std::string str() const;
  friend bool operator==(const HostPort&, const HostPort&) = default;
};

// "5s", "500ms", "2m", "1h"; a bare number is seconds.
std::chrono::milliseconds parse_duration(std::string_view text);
// "1048576", "64KiB", "4MiB", "2GiB", "1TiB" (also KB/MB/GB as powers of ten).
uint64_t parse_size(std::string_view text);
// "host:port" or "[v6]:port"; port 0 means "pick a free one".
HostPort parse_host_port(std::string_view text);

// Value checks config::Reader does not make; each throws ConfigError naming `key`.
void check_not_empty(const std::string& key, const std::string& value);
void check_http_url(const std::string& key, const std::string& value);  // http:// or https://
void check_ip_or_empty(const std::string& key, const std::string& value);  // IPv4/IPv6 literal
void check_log_level(const std::string& key, const std::string& value);

// Loads a YAML file (an empty path gives an empty mapping); errors name the file.
YAML::Node load_file(const std::filesystem::path& path);
// Applies "a.b.c=value" to `root` (value parsed as YAML, so lists work: "origins=[a, b]").
void apply_override(YAML::Node& root, std::string_view assignment);

// Reads one YAML mapping. Every get_* leaves `out` untouched (the default) when the key is absent
// and throws ConfigError naming the full key when the value is bad. finish() throws on any key
// that no get_* asked for, so typos never pass silently.
class Reader {
 public:
  explicit Reader(YAML::Node node, std::string prefix = "");

  void get(const std::string& key, std::string& out);
  void get(const std::string& key, bool& out);
  void get(const std::string& key, uint16_t& out);
  void get(const std::string& key, uint32_t& out);
  void get(const std::string& key, uint64_t& out);
  void get(const std::string& key, unsigned long long& out) = delete;
  void get(const std::string& key, std::vector<std::string>& out);
  void get_duration(const std::string& key, std::chrono::milliseconds& out);
  void get_size(const std::string& key, uint64_t& out);
  void get_size(const std::string& key, uint32_t& out);
  void get_host_port(const std::string& key, HostPort& out);
  // A nested mapping; absent means an empty one. Call finish() on it too.
  Reader child(const std::string& key);
  void finish() const;

  std::string full(const std::string& key) const { return prefix_ + key; }

 private:
  YAML::Node lookup(const std::string& key);
  std::string scalar(const std::string& key, const YAML::Node& node) const;

  YAML::Node node_;
  std::string prefix_;
  std::vector<std::string> seen_;
};

}  // namespace fanout::config
