#include "common/registry/registry_config.h"

namespace fanout::registry {

void read_registry_options(config::Reader& section, RegistryOptions& options) {
  section.get("url", options.url);
  section.get("protected_aliases", options.protected_aliases);
  section.get_duration("lock_timeout", options.lock_timeout);
  section.finish();
  if (options.url.empty()) throw config::ConfigError(section.full("url") + ": must not be empty");
  for (const auto& alias : options.protected_aliases) {
    try {
      validate_name("alias", alias);
    } catch (const InvalidRequestError& e) {
      throw config::ConfigError(section.full("protected_aliases") + ": " + e.what());
    }
  }
}

}  // namespace fanout::registry
