#pragma once
// Logging: spdlog with one line per event, "time level [component] message".
#include <spdlog/spdlog.h>

#include <string>

namespace fanout::log {

// Sets up the default logger for a binary; throws config::ConfigError on an unknown level
// (trace, debug, info, warn, error, off).
void init(const std::string& component, const std::string& level);

}  // namespace fanout::log
