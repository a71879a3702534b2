#pragma once
// What every fanoutctl command shares: the global flags, the config they produce (loaded on
// first use, so `digest` and `get` need no config), the registry and the object store.
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "cli/ctl_config.h"
#include "common/objectstore/object_store.h"
#include "common/registry/registry_db.h"

namespace fanout::cli {

// Exit codes: 1 a failure, 2 a bad config or flag, 3 refused (not pre-warmed, not authorized).
inline constexpr int kExitFailure = 1;
inline constexpr int kExitConfig = 2;
inline constexpr int kExitRefused = 3;

// A command failed; main() prints the message and exits with `code`.
class CommandError : public std::runtime_error {
 public:
  CommandError(int code, const std::string& message) : std::runtime_error(message), code_(code) {}
  int code() const { return code_; }

 private:
  int code_;
};

struct GlobalFlags {
  std::string config_file;
  std::vector<std::string> overrides;
  std::string registry_url;
  std::string token;
  std::string promote_token;
  std::string object_store_dir;
  std::vector<std::string> origins;
};

class Context {
 public:
  explicit Context(const GlobalFlags& flags) : flags_(flags) {}

  const CtlConfig& config();
  registry::RegistryDb& registry();
  std::unique_ptr<ObjectStore> object_store();
  // The token for writing to `alias` (the promote token when it is protected and one is set).
  std::string token_for_alias(const std::string& alias);
  // Who runs the command, for the audit row: $USER or the uid's name.
  static std::string operator_name();

 private:
  const GlobalFlags& flags_;
  std::unique_ptr<CtlConfig> config_;
  std::unique_ptr<registry::RegistryDb> registry_;
};

}  // namespace fanout::cli
