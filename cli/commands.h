#pragma once
// fanoutctl's commands. register_commands() wires flags to the functions below; each command
// throws CommandError (cli/context.h) on failure and main() turns it into a message and an exit
// code.
#include <CLI/CLI.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "cli/context.h"

namespace fanout::cli {

// Adds every subcommand to `app`; each runs from its callback and records the exit code.
void register_commands(CLI::App& app);
int exit_code();

struct PushOptions {
  std::string dir;
  std::string model;
  std::string run_id, dataset, commit, image;
  std::vector<std::string> params;   // k=v hyperparameters
  std::vector<std::string> metrics;  // k=number evaluation results
};
void cmd_push(Context& ctx, const PushOptions& o);

struct PrewarmOptions {
  std::string model;
  std::optional<int64_t> version;
  std::string alias;
  std::optional<uint32_t> agents_percent;  // default: config prewarm.agents_percent
  bool wait = false;
};
void cmd_prewarm(Context& ctx, const PrewarmOptions& o);

struct FlipOptions {
  std::string model, alias, reason;
  int64_t version = 0;
  bool force = false;
};
void cmd_flip(Context& ctx, const FlipOptions& o);
void cmd_rollback(Context& ctx, const std::string& model, const std::string& alias,
                  const std::string& reason);
void cmd_versions(Context& ctx, const std::string& model, const std::string& sort);
void cmd_history(Context& ctx, const std::string& model, const std::string& alias);
void cmd_resolve(Context& ctx, const std::string& target, bool via_tracker);
void cmd_rollout(Context& ctx, const std::string& target, bool once);
void cmd_token_create(Context& ctx, const std::string& name, const std::string& scope);

// "llama@prod" -> {"llama", "prod"}; CommandError when it is not NAME@ALIAS.
std::pair<std::string, std::string> split_target(const std::string& target);

}  // namespace fanout::cli
