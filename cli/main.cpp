// fanoutctl: the operator CLI. Thin: parses flags and calls the commands in cli/.
#include <CLI/CLI.hpp>

#include <iostream>

#include "cli/commands.h"

int main(int argc, char** argv) {
  CLI::App app{"fanoutctl: operate a fanout deployment"};
  app.require_subcommand(1);
  fanout::cli::register_commands(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  return fanout::cli::exit_code();
}
