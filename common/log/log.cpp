#include "common/log/log.h"

#include <spdlog/sinks/stdout_color_sinks.h>

#include "common/config/config.h"

namespace fanout::log {

void init(const std::string& component, const std::string& level) {
  auto lvl = spdlog::level::from_str(level);
  if (lvl == spdlog::level::off && level != "off") {
    throw config::ConfigError("log_level: unknown level \"" + level +
                              "\" (trace, debug, info, warn, error, off)");
  }
  auto logger = spdlog::stderr_color_mt(component);
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %l [%n] %v");
  logger->set_level(lvl);
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(logger);
}

}  // namespace fanout::log
