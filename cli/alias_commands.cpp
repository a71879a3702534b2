// fanoutctl flip, rollback, versions, history, resolve, token: the registry's side of a rollout.
#include <httplib.h>

#include <algorithm>
#include <ctime>
#include <iomanip>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli/commands.h"

namespace fanout::cli {

void require_prewarmed(Context& ctx, const registry::ModelVersion& v);  // prewarm.cpp

namespace {

std::string utc(int64_t ms) {
  std::time_t t = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string short_digest(const std::string& digest) {
  return digest.size() > 19 ? digest.substr(0, 19) : digest;
}

}  // namespace

std::pair<std::string, std::string> split_target(const std::string& target) {
  auto at = target.find('@');
  if (at == std::string::npos || at == 0 || at + 1 == target.size()) {
    throw CommandError(kExitConfig, "\"" + target + "\": expected NAME@ALIAS");
  }
  return {target.substr(0, at), target.substr(at + 1)};
}

void cmd_flip(Context& ctx, const FlipOptions& o) {
  auto v = ctx.registry().version(o.model, o.version);
  if (!v)
    throw CommandError(kExitFailure, o.model + " has no version " + std::to_string(o.version));
  if (!o.force) require_prewarmed(ctx, *v);
  auto e = ctx.registry().flip(
      {o.model, o.alias, o.version, o.reason, o.force, Context::operator_name()},
      ctx.token_for_alias(o.alias));
  std::cout << o.model << "@" << o.alias << ": "
            << (e.from_version ? std::to_string(*e.from_version) : "(new)") << " -> "
            << e.to_version << (o.force ? " (forced)" : "") << ", audit #" << e.id << "\n";
}

void cmd_rollback(Context& ctx, const std::string& model, const std::string& alias,
                  const std::string& reason) {
  auto e = ctx.registry().rollback(model, alias, reason, Context::operator_name(),
                                   ctx.token_for_alias(alias));
  std::cout << model << "@" << alias << ": rolled back " << e.from_version.value_or(0) << " -> "
            << e.to_version << ", audit #" << e.id << "\n";
}

void cmd_versions(Context& ctx, const std::string& model, const std::string& sort) {
  auto& db = ctx.registry();
  auto versions = db.versions(model);
  bool descending = sort.starts_with("-");
  std::string key = descending ? sort.substr(1) : sort;
  auto value = [&](const registry::ModelVersion& v) -> std::optional<double> {
    if (key == "number" || key == "version") return static_cast<double>(v.number);
    if (key == "created") return static_cast<double>(v.created_at_ms);
    if (key.starts_with("metrics.")) {
      auto it = v.metrics.find(key.substr(8));
      if (it == v.metrics.end()) return std::nullopt;
      return it->second;
    }
    throw CommandError(kExitConfig,
                       "--sort " + sort + ": expected number, created or metrics.NAME");
  };
  // Versions without the metric go last, whatever the direction.
  std::stable_sort(versions.begin(), versions.end(), [&](const auto& a, const auto& b) {
    auto va = value(a), vb = value(b);
    if (!va || !vb) return va.has_value() && !vb.has_value();
    return descending ? *va > *vb : *va < *vb;
  });
  std::map<int64_t, std::string> alias_names;
  for (const auto& [alias, number] : db.aliases(model)) {
    alias_names[number] += (alias_names[number].empty() ? "" : ",") + alias;
  }
  std::cout << std::left << std::setw(8) << "VERSION" << std::setw(21) << "DIGEST" << std::setw(22)
            << "CREATED" << std::setw(16) << "BY" << std::setw(12) << "ALIASES"
            << "METRICS\n";
  for (const auto& v : versions) {
    std::ostringstream metrics;
    for (const auto& [k, m] : v.metrics) metrics << k << "=" << m << " ";
    std::cout << std::left << std::setw(8) << v.number << std::setw(21)
              << short_digest(v.artifact_digest) << std::setw(22) << utc(v.created_at_ms)
              << std::setw(16) << v.created_by << std::setw(12)
              << (alias_names.count(v.number) ? alias_names[v.number] : "-") << metrics.str()
              << "\n";
  }
}

void cmd_history(Context& ctx, const std::string& model, const std::string& alias) {
  auto entries = ctx.registry().history(
      model, alias.empty() ? std::nullopt : std::optional<std::string>(alias));
  std::cout << std::left << std::setw(6) << "ID" << std::setw(22) << "WHEN" << std::setw(10)
            << "ALIAS" << std::setw(10) << "ACTION" << std::setw(10) << "FROM->TO" << std::setw(28)
            << "WHO"
            << "REASON\n";
  for (const auto& e : entries) {
    std::string move = (e.from_version ? std::to_string(*e.from_version) : "-") + "->" +
                       std::to_string(e.to_version);
    std::cout << std::left << std::setw(6) << e.id << std::setw(22) << utc(e.at_ms) << std::setw(10)
              << e.alias << std::setw(10) << (e.action + (e.forced ? "!" : "")) << std::setw(10)
              << move << std::setw(28) << e.actor << e.reason << "\n";
  }
}

void cmd_resolve(Context& ctx, const std::string& target, bool via_tracker) {
  auto [model, alias] = split_target(target);
  if (via_tracker) {
    httplib::Client client(ctx.config().tracker);
    auto r = client.Get("/v1/models/" + model + "/aliases/" + alias);
    if (!r) throw CommandError(kExitFailure, "tracker: " + httplib::to_string(r.error()));
    if (r->status != 200) {
      throw CommandError(kExitFailure,
                         "tracker answered " + std::to_string(r->status) + ": " + r->body);
    }
    auto j = nlohmann::json::parse(r->body);
    std::cout << target << " " << j["version"].get<int64_t>() << " "
              << j["digest"].get<std::string>() << "\n";
    return;
  }
  auto t = ctx.registry().resolve(model, alias);
  if (!t) throw CommandError(kExitFailure, target + " does not exist");
  std::cout << target << " " << t->version << " " << t->artifact_digest << "\n";
  if (auto a = ctx.registry().artifact(t->artifact_digest)) {
    for (const auto& l : a->layers) {
      std::cout << "  " << l.digest << " " << std::setw(12) << std::right << l.size << " "
                << l.file_name << "\n";
    }
  }
}

void cmd_token_create(Context& ctx, const std::string& name, const std::string& scope) {
  std::cout << ctx.registry().create_token(name, registry::parse_scope(scope)) << "\n";
}

}  // namespace fanout::cli
