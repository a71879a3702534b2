#include "cli/context.h"

#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>

#include "common/config/config.h"
#include "common/objectstore/directory_store.h"

namespace fanout::cli {

const CtlConfig& Context::config() {
  if (config_) return *config_;
  try {
    YAML::Node root = config::load_file(flags_.config_file);
    for (const auto& assignment : flags_.overrides) config::apply_override(root, assignment);
    if (!flags_.registry_url.empty()) root["registry"]["url"] = flags_.registry_url;
    if (!flags_.object_store_dir.empty()) {
      root["object_store"]["type"] = "directory";
      root["object_store"]["path"] = flags_.object_store_dir;
    }
    if (!flags_.origins.empty()) {
      YAML::Node list(YAML::NodeType::Sequence);
      for (const auto& o : flags_.origins) list.push_back(o);
      root["origins"] = list;
    }
    if (!flags_.token.empty()) root["token"] = flags_.token;
    if (!flags_.promote_token.empty()) root["promote_token"] = flags_.promote_token;
    config_ = std::make_unique<CtlConfig>(CtlConfig::read(root));
  } catch (const config::ConfigError& e) {
    throw CommandError(kExitConfig, std::string("bad config: ") + e.what());
  } catch (const YAML::Exception& e) {
    throw CommandError(kExitConfig, std::string("bad config: ") + e.what());
  }
  // The environment fills in tokens the file and flags left empty.
  if (const char* t = std::getenv("FANOUT_TOKEN"); t && config_->token.empty()) config_->token = t;
  if (const char* t = std::getenv("FANOUT_PROMOTE_TOKEN"); t && config_->promote_token.empty()) {
    config_->promote_token = t;
  }
  return *config_;
}

registry::RegistryDb& Context::registry() {
  if (!registry_) registry_ = registry::open_registry(config().registry);
  return *registry_;
}

std::unique_ptr<ObjectStore> Context::object_store() {
  return std::make_unique<DirectoryStore>(config().object_store_path);
}

std::string Context::token_for_alias(const std::string& alias) {
  const auto& c = config();
  const auto& p = c.registry.protected_aliases;
  bool is_protected = std::find(p.begin(), p.end(), alias) != p.end();
  return is_protected && !c.promote_token.empty() ? c.promote_token : c.token;
}

std::string Context::operator_name() {
  if (const char* user = std::getenv("USER"); user && *user) return user;
  if (const passwd* pw = ::getpwuid(::getuid())) return pw->pw_name;
  return "uid " + std::to_string(::getuid());
}

}  // namespace fanout::cli
