#pragma once
// The registry: which models exist, their immutable versions (each named by the digest of its
// manifest), the runs that produced them, movable aliases ("prod") and an append-only audit log of
// every alias move. RegistryDb is the one interface; SQLite (embedded default, a file) and
// PostgreSQL (libpq, a connection string) implement it with the same schema and migrations
// (see sql_registry_db.cpp). open_registry() picks one from a URL.
//
// Authorization lives here, so no client can forget it: every write takes a bearer token whose
// sha256 must be in the registry's api_tokens table with the right scope. Moving a protected
// alias needs a token of scope "promote"; everything else that writes needs "write" (a promote
// token may do that too). The token's name is the "who" of the audit row.
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace fanout::registry {

class RegistryError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};
// A model, version, alias or artifact that does not exist.
class NotFoundError : public RegistryError {
 public:
  using RegistryError::RegistryError;
};
// A missing or unknown token, or one whose scope does not allow the operation.
class UnauthorizedError : public RegistryError {
 public:
  using RegistryError::RegistryError;
};
// A request that is malformed: a bad name, a version number that does not exist for a flip...
class InvalidRequestError : public RegistryError {
 public:
  using RegistryError::RegistryError;
};

enum class Scope { kWrite, kPromote };
std::string to_string(Scope scope);
Scope parse_scope(const std::string& text);  // "write" | "promote"; InvalidRequestError otherwise

// Model and alias names: 1-128 characters of [A-Za-z0-9._-], not starting with '.' or '-', so they
// are safe in URLs, file names and NOTIFY payloads. Throws InvalidRequestError naming the problem.
void validate_name(const std::string& what, const std::string& name);

struct Layer {
  std::string digest;  // "sha256:<hex>"
  uint64_t size = 0;
  std::string media_type;
  std::string file_name;
  friend bool operator==(const Layer&, const Layer&) = default;
};

// A manifest as the registry keeps it: its digest is the version's identity.
struct Artifact {
  std::string digest;      // sha256 of `manifest`
  std::string media_type;  // the manifest's media type
  std::string manifest;    // canonical manifest JSON, as pushed
  std::vector<Layer> layers;
  uint64_t size() const { return manifest.size(); }
};

// Where a version came from: lineage for reproducing it.
struct Run {
  std::string id;
  std::string dataset;                        // dataset version
  std::string code_commit;                    // git sha
  std::string image_digest;                   // container image
  std::map<std::string, std::string> params;  // hyperparameters
  friend bool operator==(const Run&, const Run&) = default;
};

struct NewVersion {
  std::string model;
  Artifact artifact;
  std::optional<Run> run;
  std::map<std::string, double> metrics;  // evaluation results, e.g. {"f1": 0.93}
};

struct ModelVersion {
  std::string model;
  int64_t number = 0;  // 1, 2, 3... per model, in registration order
  std::string artifact_digest;
  std::optional<std::string> run_id;
  std::map<std::string, double> metrics;
  int64_t created_at_ms = 0;  // unix epoch milliseconds
  std::string created_by;
};

struct Registered {
  ModelVersion version;
  bool created = false;  // false: the same manifest was registered before; this is that version
};

struct AliasTarget {
  std::string model;
  std::string alias;
  int64_t version = 0;
  std::string artifact_digest;
};

struct FlipRequest {
  std::string model;
  std::string alias;
  int64_t to_version = 0;
  std::string reason;
  bool forced = false;        // recorded: the pre-warm check was skipped
  std::string operator_name{};  // who ran the command (OS user), recorded beside the token name
};

struct AuditEntry {
  int64_t id = 0;
  std::string model;
  std::string alias;
  std::string action;  // "flip" | "rollback"
  std::optional<int64_t> from_version;
  int64_t to_version = 0;
  std::string actor;  // "<token name>" or "<token name> (<operator>)"
  std::string reason;
  bool forced = false;
  int64_t at_ms = 0;
};

// Alias moves made by any client, delivered as they commit (PostgreSQL LISTEN/NOTIFY).
struct AliasChange {
  std::string model;
  std::string alias;
};
class AliasChangeListener {
 public:
  virtual ~AliasChangeListener() = default;
  // Waits up to `timeout` for changes; an empty result means none arrived. Throws RegistryError
  // when the connection is lost (the caller falls back to TTL-only caching or reconnects).
  virtual std::vector<AliasChange> wait(std::chrono::milliseconds timeout) = 0;
};

class RegistryDb {
 public:
  virtual ~RegistryDb() = default;

  // "sqlite /var/lib/fanout/registry.db", "postgresql host=... dbname=..." (no password).
  virtual std::string describe() const = 0;

  // Admin operation for whoever holds the database itself (no token): creates a token and returns
  // it; only its sha256 is stored. Names are unique.
  virtual std::string create_token(const std::string& name, Scope scope) = 0;
  // The token's name when it exists and its scope covers `needed`; UnauthorizedError otherwise.
  virtual std::string authenticate(const std::string& token, Scope needed) = 0;

  // Registers the artifact (idempotent by digest) and a new version of the model (created on first
  // use). The same manifest registered again for the same model returns the existing version.
  // Needs a write token.
  virtual Registered register_version(const NewVersion& version, const std::string& token) = 0;

  virtual std::optional<ModelVersion> version(const std::string& model, int64_t number) = 0;
  // Every version of the model, oldest first; NotFoundError when the model does not exist.
  virtual std::vector<ModelVersion> versions(const std::string& model) = 0;
  virtual std::optional<Artifact> artifact(const std::string& digest) = 0;
  virtual std::optional<Run> run(const std::string& id) = 0;

  // alias -> version number: one indexed read.
  virtual std::optional<int64_t> alias_version(const std::string& model,
                                               const std::string& alias) = 0;
  // alias -> version -> manifest digest in one query.
  virtual std::optional<AliasTarget> resolve(const std::string& model,
                                             const std::string& alias) = 0;
  // Every alias of the model and the version it points at.
  virtual std::map<std::string, int64_t> aliases(const std::string& model) = 0;

  // Moves the alias (creating it on first use) and appends the audit row, in one transaction.
  // Needs a write token, or a promote token when the alias is protected. Returns the audit row.
  virtual AuditEntry flip(const FlipRequest& request, const std::string& token) = 0;
  // Moves the alias back to the version it pointed at before its last move (an audited flip with
  // action "rollback"). NotFoundError when the alias has no earlier version.
  virtual AuditEntry rollback(const std::string& model, const std::string& alias,
                              const std::string& reason, const std::string& operator_name,
                              const std::string& token) = 0;
  // The audit log of the model (optionally one alias), oldest first.
  virtual std::vector<AuditEntry> history(const std::string& model,
                                          const std::optional<std::string>& alias = {}) = 0;

  // A listener for alias moves, or nullptr when the database cannot push them (SQLite): callers
  // then rely on their cache's TTL.
  virtual std::unique_ptr<AliasChangeListener> listen_alias_changes() { return nullptr; }
};

struct RegistryOptions {
  // "sqlite:PATH", a bare PATH (SQLite), "postgresql://..." / "postgres://..." or a libpq
  // "key=value ..." string (PostgreSQL).
  std::string url = "registry.db";
  // Aliases whose moves need the promote token.
  std::vector<std::string> protected_aliases{"prod"};
  // How long a writer waits for another writer's transaction (SQLite busy timeout).
  std::chrono::milliseconds lock_timeout{std::chrono::seconds(10)};
  // Unix epoch milliseconds; tests inject a fake clock.
  std::function<int64_t()> now_ms;
};

// Opens the database the URL names and applies any pending migrations (safe when several
// processes do it at once). Throws RegistryError naming the URL.
std::unique_ptr<RegistryDb> open_registry(const RegistryOptions& options);

}  // namespace fanout::registry
