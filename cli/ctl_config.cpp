#include "cli/ctl_config.h"

#include "common/config/config.h"
#include "common/registry/registry_config.h"

namespace fanout::cli {

CtlConfig CtlConfig::read(const YAML::Node& root) {
  CtlConfig c;
  config::Reader r(root);
  config::Reader reg = r.child("registry");
  registry::read_registry_options(reg, c.registry);
  config::Reader store = r.child("object_store");
  store.get("type", c.object_store_type);
  store.get("path", c.object_store_path);
  store.finish();
  r.get("origins", c.origins);
  r.get("agents", c.agents);
  r.get("tracker", c.tracker);
  r.get("token", c.token);
  r.get("promote_token", c.promote_token);
  r.get_duration("http_timeout", c.http_timeout);
  config::Reader prewarm = r.child("prewarm");
  prewarm.get("agents_percent", c.prewarm_agents_percent);
  prewarm.get_duration("poll_interval", c.prewarm_poll_interval);
  prewarm.get_duration("timeout", c.prewarm_timeout);
  prewarm.finish();
  r.finish();
  if (c.object_store_type != "directory") {
    throw config::ConfigError("object_store.type: unknown type \"" + c.object_store_type +
                              "\" (fanoutctl supports: directory)");
  }
  if (c.object_store_path.empty())
    throw config::ConfigError("object_store.path: must not be empty");
  if (c.prewarm_agents_percent > 100) {
    throw config::ConfigError("prewarm.agents_percent: must be 0 to 100");
  }
  return c;
}

}  // namespace fanout::cli
