#pragma once
// The `registry:` section shared by every config that opens the registry (fanoutctl, tracker):
//   registry:
//     url: registry.db            # sqlite:PATH, PATH, postgresql://... or "host=... dbname=..."
//     protected_aliases: [prod]   # moving these needs the promote token
//     lock_timeout: 10s           # how long a writer waits for another writer
#include "common/config/config.h"
#include "common/registry/registry_db.h"

namespace fanout::registry {

// Reads the keys above from `section` (the caller's r.child("registry")) over `options`'
// defaults and calls section.finish(). Throws config::ConfigError naming the key.
void read_registry_options(config::Reader& section, RegistryOptions& options);

}  // namespace fanout::registry
