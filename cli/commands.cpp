#include "cli/commands.h"

#include <httplib.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>

#include "cli/progress.h"
#include "common/digest/digest.h"
#include "common/digest/sha256.h"
#include "common/registry/registry_db.h"
#include "proto/metainfo.h"
#include "proto/metainfo_signature.h"

namespace fanout::cli {
namespace {

int g_exit = 0;

void fail(const std::string& message) {
  std::cerr << "fanoutctl: " << message << "\n";
  g_exit = 1;
}

void cmd_digest(const std::vector<std::string>& files) {
  for (const auto& f : files) {
    try {
      std::cout << Sha256::of_file(f).str() << "  " << f << "\n";
    } catch (const std::exception& e) {
      fail(e.what());
    }
  }
}

// Refuses to overwrite either file: replacing a key in place would lock out every agent.
void cmd_keygen(const std::string& private_key, const std::string& public_key) {
  proto::write_metainfo_key_pair(private_key, public_key);
  std::cout << "wrote " << private_key << " (private: origins' metainfo_signing_key) and "
            << public_key << " (public: agents' metainfo_public_keys)\n";
}

// Fetches a blob through the node's agent, verifying its sha256 on the way, with progress.
void cmd_get(const std::string& agent, const std::string& digest_text, const std::string& out) {
  Digest digest;
  if (!Digest::try_parse(digest_text, digest)) {
    try {
      Digest::parse(digest_text);
    } catch (const DigestError& e) {
      return fail(digest_text + ": " + e.what());
    }
  }
  httplib::Client client(agent);
  client.set_read_timeout(std::chrono::hours(1));
  std::ofstream file;
  if (out != "-") {
    file.open(out, std::ios::binary | std::ios::trunc);
    if (!file) return fail("cannot write " + out);
  }
  Sha256 hash;
  uint64_t received = 0;
  auto start = std::chrono::steady_clock::now();
  auto last_print = start;
  std::string error_body;
  int status = 0;
  auto res = client.Get(
      "/v1/blobs/" + digest.str(),
      [&](const httplib::Response& r) {
        status = r.status;
        return true;
      },
      [&](const char* data, size_t size) {
        if (status != 200) {
          error_body.append(data, size);
          return true;
        }
        hash.update(data, size);
        received += size;
        if (file.is_open())
          file.write(data, static_cast<std::streamsize>(size));
        else
          std::cout.write(data, static_cast<std::streamsize>(size));
        auto now = std::chrono::steady_clock::now();
        if (now - last_print > std::chrono::milliseconds(500)) {
          double secs = std::chrono::duration<double>(now - start).count();
          std::cerr << "\r" << human_bytes(received) << " at " << human_bytes(received / secs)
                    << "/s" << std::flush;
          last_print = now;
        }
        return true;
      });
  if (!res) return fail("agent " + agent + ": " + httplib::to_string(res.error()));
  if (status != 200) return fail("agent answered " + std::to_string(status) + ": " + error_body);
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  Digest actual = hash.finish();
  std::cerr << "\r" << human_bytes(received) << " in " << secs << " s\n";
  if (actual != digest)
    return fail("received bytes hash to " + actual.str() + ", not " + digest.str());
  std::cerr << "verified " << digest.str() << "\n";
}

}  // namespace

// Runs one command, turning every failure into a message on stderr and an exit code.
template <class F>
void run(F&& body) {
  try {
    body();
  } catch (const CommandError& e) {
    std::cerr << "fanoutctl: " << e.what() << "\n";
    g_exit = e.code();
  } catch (const registry::UnauthorizedError& e) {
    std::cerr << "fanoutctl: not authorized: " << e.what() << "\n";
    g_exit = kExitRefused;
  } catch (const registry::InvalidRequestError& e) {
    std::cerr << "fanoutctl: " << e.what() << "\n";
    g_exit = kExitConfig;
  } catch (const std::exception& e) {
    std::cerr << "fanoutctl: " << e.what() << "\n";
    g_exit = kExitFailure;
  }
}

void register_commands(CLI::App& app) {
  // Global flags may come before or after the subcommand.
  app.fallthrough();
  static GlobalFlags flags;
  static Context ctx(flags);
  app.add_option("--config", flags.config_file, "YAML config file (see deploy/fanoutctl.yaml)");
  app.add_option("--set", flags.overrides, "Override a config key: KEY=VALUE (repeatable)");
  app.add_option("--registry", flags.registry_url,
                 "Registry database: a SQLite path or a PostgreSQL connection string");
  app.add_option("--token", flags.token, "Token for push, prewarm and flip (or FANOUT_TOKEN)");
  app.add_option("--promote-token", flags.promote_token,
                 "Token for protected aliases such as prod (or FANOUT_PROMOTE_TOKEN)");
  app.add_option("--object-store-dir", flags.object_store_dir, "Directory object store root");
  app.add_option("--origin", flags.origins, "Origin base URL (repeatable)");

  auto* digest = app.add_subcommand("digest", "Print the sha256 digest of files");
  static std::vector<std::string> files;
  digest->add_option("files", files, "Files to hash")->required();
  digest->callback([] { cmd_digest(files); });

  auto* keygen = app.add_subcommand(
      "keygen", "Write a new Ed25519 key pair that signs metainfo (origins keep the private key)");
  static std::string private_key, public_key;
  keygen
      ->add_option("--out-private", private_key,
                   "Private key file, PEM, mode 0600 (origins: metainfo_signing_key)")
      ->required();
  keygen
      ->add_option("--out-public", public_key,
                   "Public key file, PEM (agents: metainfo_public_keys)")
      ->required();
  keygen->callback([] { run([] { cmd_keygen(private_key, public_key); }); });

  auto* get = app.add_subcommand("get", "Fetch a blob through the node's agent and verify it");
  static std::string agent = "http://127.0.0.1:7200", blob, out = "-";
  get->add_option("digest", blob, "sha256:<hex>")->required();
  get->add_option("--agent", agent, "Agent base URL")->capture_default_str();
  get->add_option("-o,--output", out, "Output file (- for stdout)")->capture_default_str();
  get->callback([] { cmd_get(agent, blob, out); });

  auto* push = app.add_subcommand(
      "push",
      "Hash every file of DIR (one layer each), upload the blobs the object store lacks, "
      "write the manifest and register a new version");
  static PushOptions po;
  push->add_option("dir", po.dir, "Directory holding the model's files")->required();
  push->add_option("--model", po.model, "Model name")->required();
  push->add_option("--run-id", po.run_id, "Training run id (lineage)");
  push->add_option("--dataset", po.dataset, "Dataset version the run trained on");
  push->add_option("--commit", po.commit, "Code commit of the run");
  push->add_option("--image", po.image, "Container image digest of the run");
  push->add_option("--param", po.params, "Hyperparameter KEY=VALUE (repeatable)");
  push->add_option("--metric", po.metrics, "Evaluation result KEY=NUMBER (repeatable)");
  push->callback([] { run([] { cmd_push(ctx, po); }); });

  auto* prewarm = app.add_subcommand(
      "prewarm",
      "Make the owning origins pull every layer of a version, then optionally a share "
      "of the agents");
  static PrewarmOptions pw;
  static int64_t pw_version = 0;
  static uint32_t pw_agents = 0;
  prewarm->add_option("model", pw.model, "Model name")->required();
  auto* pv = prewarm->add_option("--version", pw_version, "Version number");
  auto* pa = prewarm->add_option("--alias", pw.alias, "Pre-warm the version an alias points at");
  pv->excludes(pa);
  auto* pagents =
      prewarm
          ->add_option("--agents", pw_agents, "Percent of the configured agents that pull it too")
          ->check(CLI::Range(0, 100));
  prewarm->add_flag("--wait", pw.wait,
                    "Wait until the origins, and with --agents that share of the agents, hold "
                    "every layer, with progress");
  prewarm->callback([pv, pa, pagents] {
    run([&] {
      if (!*pv && !*pa) throw CommandError(kExitConfig, "prewarm needs --version or --alias");
      if (*pv) pw.version = pw_version;
      if (*pagents) pw.agents_percent = pw_agents;
      cmd_prewarm(ctx, pw);
    });
  });

  auto* flip = app.add_subcommand(
      "flip",
      "Move an alias to a version (one transaction with its audit row); refuses while "
      "the version is not pre-warmed unless --force");
  static FlipOptions fo;
  flip->add_option("model", fo.model, "Model name")->required();
  flip->add_option("alias", fo.alias, "Alias, e.g. prod")->required();
  flip->add_option("--version", fo.version, "Version number to point the alias at")->required();
  flip->add_option("--reason", fo.reason, "Why, for the audit log")->required();
  flip->add_flag("--force", fo.force, "Flip even when the version is not pre-warmed");
  flip->callback([] { run([] { cmd_flip(ctx, fo); }); });

  auto* rollback = app.add_subcommand(
      "rollback", "Move an alias back to the version it pointed at before its last move");
  static std::string rb_model, rb_alias, rb_reason;
  rollback->add_option("model", rb_model, "Model name")->required();
  rollback->add_option("alias", rb_alias, "Alias, e.g. prod")->required();
  rollback->add_option("--reason", rb_reason, "Why, for the audit log");
  rollback->callback([] { run([] { cmd_rollback(ctx, rb_model, rb_alias, rb_reason); }); });

  auto* versions = app.add_subcommand("versions", "List a model's versions");
  static std::string v_model, v_sort = "number";
  versions->add_option("model", v_model, "Model name")->required();
  versions->add_option("--sort", v_sort, "number, created or metrics.NAME; prefix - to reverse")
      ->capture_default_str();
  versions->callback([] { run([] { cmd_versions(ctx, v_model, v_sort); }); });

  auto* history = app.add_subcommand("history", "Show a model's alias audit log");
  static std::string h_model, h_alias;
  history->add_option("model", h_model, "Model name")->required();
  history->add_option("--alias", h_alias, "Only this alias");
  history->callback([] { run([] { cmd_history(ctx, h_model, h_alias); }); });

  auto* resolve =
      app.add_subcommand("resolve", "Print the version and manifest digest of NAME@ALIAS");
  static std::string r_target;
  static bool r_tracker = false;
  resolve->add_option("target", r_target, "NAME@ALIAS")->required();
  resolve->add_flag("--tracker", r_tracker, "Ask the tracker (its cache) instead of the registry");
  resolve->callback([] { run([] { cmd_resolve(ctx, r_target, r_tracker); }); });

  auto* rollout = app.add_subcommand(
      "rollout",
      "Live view of NAME@ALIAS's current version: origins ready and how many configured agents "
      "hold every layer (GET /v1/blobs); refreshes until Ctrl-C");
  static std::string ro_target;
  static bool ro_once = false;
  rollout->add_option("target", ro_target, "NAME@ALIAS")->required();
  rollout->add_flag("--once", ro_once, "Print one line and exit");
  rollout->callback([] { run([] { cmd_rollout(ctx, ro_target, ro_once); }); });

  auto* token = app.add_subcommand(
      "token", "Create an API token in the registry (needs the database itself, no token)");
  static std::string t_name, t_scope = "write";
  token->add_option("name", t_name, "Token name (recorded as the actor in the audit log)")
      ->required();
  token->add_option("--scope", t_scope, "write or promote")->capture_default_str();
  token->callback([] { run([] { cmd_token_create(ctx, t_name, t_scope); }); });
}

int exit_code() {
  return g_exit;
}

}  // namespace fanout::cli
