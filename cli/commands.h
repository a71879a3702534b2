#pragma once
#include <CLI/CLI.hpp>

namespace fanout::cli {

// Adds every subcommand to `app`; each runs from its callback and records the exit code.
void register_commands(CLI::App& app);
int exit_code();

}  // namespace fanout::cli
