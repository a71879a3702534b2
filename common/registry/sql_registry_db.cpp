// RegistryDb on SqlConnection: one schema, one set of migrations and one implementation of every
// operation for SQLite and PostgreSQL; the dialects differ only where noted.
#include <openssl/rand.h>

#include <algorithm>
#include <mutex>
#include <nlohmann/json.hpp>
#include <type_traits>

#include "common/digest/digest.h"
#include "common/digest/sha256.h"
#include "common/registry/registry_db.h"
#include "common/registry/sql_connection.h"

namespace fanout::registry {
namespace {

// Schema migrations, applied in order, each once, recorded in schema_migrations. Append new ones;
// never edit one that has shipped. "{ID}" is the dialect's auto-increment primary key.
struct Migration {
  int version;
  const char* sqlite;
  const char* postgres;  // nullptr: same text as sqlite
};

const Migration kMigrations[] = {
    {1, R"sql(
CREATE TABLE models (
  id {ID},
  name TEXT NOT NULL UNIQUE,
  created_at BIGINT NOT NULL);
CREATE TABLE artifacts (
  digest TEXT PRIMARY KEY,
  media_type TEXT NOT NULL,
  size BIGINT NOT NULL,
  manifest TEXT NOT NULL,
  created_at BIGINT NOT NULL);
CREATE TABLE artifact_layers (
  artifact_digest TEXT NOT NULL REFERENCES artifacts(digest),
  position INTEGER NOT NULL,
  digest TEXT NOT NULL,
  size BIGINT NOT NULL,
  media_type TEXT NOT NULL,
  file_name TEXT NOT NULL,
  PRIMARY KEY (artifact_digest, position));
CREATE INDEX artifact_layers_by_digest ON artifact_layers (digest);
CREATE TABLE runs (
  id TEXT PRIMARY KEY,
  dataset TEXT NOT NULL,
  code_commit TEXT NOT NULL,
  image_digest TEXT NOT NULL,
  params TEXT NOT NULL,
  created_at BIGINT NOT NULL);
CREATE TABLE model_versions (
  id {ID},
  model_id BIGINT NOT NULL REFERENCES models(id),
  number BIGINT NOT NULL,
  artifact_digest TEXT NOT NULL REFERENCES artifacts(digest),
  run_id TEXT REFERENCES runs(id),
  metrics TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  created_by TEXT NOT NULL,
  UNIQUE (model_id, number),
  UNIQUE (model_id, artifact_digest));
CREATE TABLE aliases (
  model_id BIGINT NOT NULL REFERENCES models(id),
  name TEXT NOT NULL,
  version_id BIGINT NOT NULL REFERENCES model_versions(id),
  updated_at BIGINT NOT NULL,
  PRIMARY KEY (model_id, name));
CREATE TABLE audit_log (
  id {ID},
  model_id BIGINT NOT NULL REFERENCES models(id),
  alias TEXT NOT NULL,
  action TEXT NOT NULL,
  from_version BIGINT,
  to_version BIGINT NOT NULL,
  actor TEXT NOT NULL,
  reason TEXT NOT NULL,
  forced INTEGER NOT NULL,
  at BIGINT NOT NULL);
CREATE INDEX audit_log_by_alias ON audit_log (model_id, alias, id);
CREATE TABLE api_tokens (
  name TEXT PRIMARY KEY,
  token_sha256 TEXT NOT NULL UNIQUE,
  scope TEXT NOT NULL,
  created_at BIGINT NOT NULL);
)sql",
     nullptr},
    // The database itself refuses to rewrite history or a version.
    {2, R"sql(
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
  BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
  BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER model_versions_no_update BEFORE UPDATE ON model_versions
  BEGIN SELECT RAISE(ABORT, 'model_versions are immutable'); END;
)sql",
     R"sql(
CREATE FUNCTION fanout_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN RAISE EXCEPTION '% rows are immutable', TG_TABLE_NAME; END $$;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
  FOR EACH ROW EXECUTE FUNCTION fanout_refuse_change();
CREATE TRIGGER model_versions_no_update BEFORE UPDATE ON model_versions
  FOR EACH ROW EXECUTE FUNCTION fanout_refuse_change();
)sql"},
};

std::string replace_all(std::string text, const std::string& from, const std::string& to) {
  for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
  return text;
}

int64_t to_int(const std::optional<std::string>& v) {
  return v ? std::stoll(*v) : 0;
}
std::string to_str(const std::optional<std::string>& v) {
  return v.value_or("");
}

std::string token_hash(const std::string& token) {
  return Sha256::of(token).hex();
}

std::string new_token() {
  unsigned char raw[24];
  if (RAND_bytes(raw, sizeof raw) != 1) throw RegistryError("cannot generate a token: RAND_bytes");
  return "fo_" + to_hex(raw, sizeof raw);
}

std::map<std::string, double> parse_metrics(const std::string& json) {
  std::map<std::string, double> out;
  auto j = nlohmann::json::parse(json, nullptr, false);
  if (!j.is_object()) return out;
  for (auto& [k, v] : j.items()) {
    if (v.is_number()) out[k] = v.get<double>();
  }
  return out;
}

constexpr const char* kVersionColumns =
    "m.name, v.number, v.artifact_digest, v.run_id, v.metrics, v.created_at, v.created_by";

ModelVersion version_from_row(const SqlRow& r) {
  ModelVersion v;
  v.model = to_str(r[0]);
  v.number = to_int(r[1]);
  v.artifact_digest = to_str(r[2]);
  v.run_id = r[3];
  v.metrics = parse_metrics(to_str(r[4]));
  v.created_at_ms = to_int(r[5]);
  v.created_by = to_str(r[6]);
  return v;
}

constexpr const char* kAuditColumns =
    "a.id, m.name, a.alias, a.action, a.from_version, a.to_version, a.actor, a.reason, a.forced, "
    "a.at";

AuditEntry audit_from_row(const SqlRow& r) {
  AuditEntry e;
  e.id = to_int(r[0]);
  e.model = to_str(r[1]);
  e.alias = to_str(r[2]);
  e.action = to_str(r[3]);
  if (r[4]) e.from_version = to_int(r[4]);
  e.to_version = to_int(r[5]);
  e.actor = to_str(r[6]);
  e.reason = to_str(r[7]);
  e.forced = to_int(r[8]) != 0;
  e.at_ms = to_int(r[9]);
  return e;
}

void validate_layer(const Layer& layer) {
  Digest parsed;
  if (!Digest::try_parse(layer.digest, parsed)) {
    throw InvalidRequestError("layer " + layer.file_name + ": malformed digest \"" + layer.digest +
                              "\"");
  }
}

class SqlRegistryDb : public RegistryDb {
 public:
  SqlRegistryDb(std::unique_ptr<SqlConnection> conn, RegistryOptions options)
      : conn_(std::move(conn)), options_(std::move(options)) {
    if (!options_.now_ms) {
      options_.now_ms = [] {
        return std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::system_clock::now().time_since_epoch())
            .count();
      };
    }
    migrate();
  }

  std::string describe() const override { return conn_->describe(); }

  std::string create_token(const std::string& name, Scope scope) override {
    validate_name("token name", name);
    std::string token = new_token();
    write([&] {
      if (!conn_->query("SELECT 1 FROM api_tokens WHERE name = ?", {name}).empty()) {
        throw InvalidRequestError("a token named " + name + " exists already");
      }
      conn_->query(
          "INSERT INTO api_tokens (name, token_sha256, scope, created_at) VALUES (?,?,?,?)",
          {name, token_hash(token), to_string(scope), options_.now_ms()});
      return 0;
    });
    return token;
  }

  std::string authenticate(const std::string& token, Scope needed) override {
    std::lock_guard lock(mu_);
    return authenticate_locked(token, needed);
  }

  Registered register_version(const NewVersion& nv, const std::string& token) override {
    validate_name("model name", nv.model);
    const Artifact& a = nv.artifact;
    if (Sha256::of(a.manifest).str() != a.digest) {
      throw InvalidRequestError("artifact digest " + a.digest +
                                " is not the sha256 of its manifest (" +
                                Sha256::of(a.manifest).str() + ")");
    }
    for (const auto& layer : a.layers) validate_layer(layer);
    if (nv.run && nv.run->id.empty()) throw InvalidRequestError("a run needs an id");

    return write([&] {
      std::string actor = authenticate_locked(token, Scope::kWrite);
      int64_t now = options_.now_ms();
      conn_->query(
          "INSERT INTO models (name, created_at) VALUES (?, ?) ON CONFLICT (name) DO NOTHING",
          {nv.model, now});
      int64_t model_id = model_id_locked(nv.model);

      auto existing = conn_->query(std::string("SELECT ") + kVersionColumns +
                                       " FROM model_versions v JOIN models m ON m.id = v.model_id"
                                       " WHERE v.model_id = ? AND v.artifact_digest = ?",
                                   {model_id, a.digest});
      if (!existing.empty()) return Registered{version_from_row(existing[0]), false};

      if (conn_->query("SELECT 1 FROM artifacts WHERE digest = ?", {a.digest}).empty()) {
        conn_->query(
            "INSERT INTO artifacts (digest, media_type, size, manifest, created_at) "
            "VALUES (?,?,?,?,?)",
            {a.digest, a.media_type, static_cast<int64_t>(a.size()), a.manifest, now});
        for (size_t i = 0; i < a.layers.size(); ++i) {
          const Layer& l = a.layers[i];
          conn_->query(
              "INSERT INTO artifact_layers (artifact_digest, position, digest, size, media_type, "
              "file_name) VALUES (?,?,?,?,?,?)",
              {a.digest, static_cast<int64_t>(i), l.digest, static_cast<int64_t>(l.size),
               l.media_type, l.file_name});
        }
      }

      SqlValue run_id;
      if (nv.run) {
        auto stored = run_locked(nv.run->id);
        if (!stored) {
          conn_->query(
              "INSERT INTO runs (id, dataset, code_commit, image_digest, params, created_at) "
              "VALUES (?,?,?,?,?,?)",
              {nv.run->id, nv.run->dataset, nv.run->code_commit, nv.run->image_digest,
               nlohmann::json(nv.run->params).dump(), now});
        } else if (!(*stored == *nv.run)) {
          throw InvalidRequestError("run " + nv.run->id +
                                    " is registered already with different lineage");
        }
        run_id = nv.run->id;
      }

      int64_t number =
          to_int(conn_->query("SELECT COALESCE(MAX(number), 0) + 1 FROM model_versions "
                              "WHERE model_id = ?",
                              {model_id})[0][0]);
      nlohmann::json metrics = nv.metrics;
      conn_->query(
          "INSERT INTO model_versions (model_id, number, artifact_digest, run_id, metrics, "
          "created_at, created_by) VALUES (?,?,?,?,?,?,?)",
          {model_id, number, a.digest, run_id, metrics.dump(), now, actor});
      ModelVersion v{
          nv.model,   number, a.digest, nv.run ? std::optional(nv.run->id) : std::nullopt,
          nv.metrics, now,    actor};
      return Registered{v, true};
    });
  }

  std::optional<ModelVersion> version(const std::string& model, int64_t number) override {
    std::lock_guard lock(mu_);
    auto rows = conn_->query(std::string("SELECT ") + kVersionColumns +
                                 " FROM model_versions v JOIN models m ON m.id = v.model_id"
                                 " WHERE m.name = ? AND v.number = ?",
                             {model, number});
    if (rows.empty()) return std::nullopt;
    return version_from_row(rows[0]);
  }

  std::vector<ModelVersion> versions(const std::string& model) override {
    std::lock_guard lock(mu_);
    model_id_locked(model);
    std::vector<ModelVersion> out;
    for (const auto& row : conn_->query(std::string("SELECT ") + kVersionColumns +
                                            " FROM model_versions v JOIN models m ON m.id = "
                                            "v.model_id WHERE m.name = ? ORDER BY v.number",
                                        {model})) {
      out.push_back(version_from_row(row));
    }
    return out;
  }

  std::optional<Artifact> artifact(const std::string& digest) override {
    std::lock_guard lock(mu_);
    auto rows = conn_->query("SELECT digest, media_type, manifest FROM artifacts WHERE digest = ?",
                             {digest});
    if (rows.empty()) return std::nullopt;
    Artifact a{to_str(rows[0][0]), to_str(rows[0][1]), to_str(rows[0][2]), {}};
    for (const auto& r : conn_->query("SELECT digest, size, media_type, file_name FROM "
                                      "artifact_layers WHERE artifact_digest = ? ORDER BY position",
                                      {digest})) {
      a.layers.push_back(
          {to_str(r[0]), static_cast<uint64_t>(to_int(r[1])), to_str(r[2]), to_str(r[3])});
    }
    return a;
  }

  std::optional<Run> run(const std::string& id) override {
    std::lock_guard lock(mu_);
    return run_locked(id);
  }

  std::optional<int64_t> alias_version(const std::string& model,
                                       const std::string& alias) override {
    std::lock_guard lock(mu_);
    auto rows = conn_->query(
        "SELECT v.number FROM aliases a JOIN models m ON m.id = a.model_id "
        "JOIN model_versions v ON v.id = a.version_id WHERE m.name = ? AND a.name = ?",
        {model, alias});
    if (rows.empty()) return std::nullopt;
    return to_int(rows[0][0]);
  }

  std::optional<AliasTarget> resolve(const std::string& model, const std::string& alias) override {
    std::lock_guard lock(mu_);
    auto rows = conn_->query(
        "SELECT v.number, v.artifact_digest FROM aliases a JOIN models m ON m.id = a.model_id "
        "JOIN model_versions v ON v.id = a.version_id WHERE m.name = ? AND a.name = ?",
        {model, alias});
    if (rows.empty()) return std::nullopt;
    return AliasTarget{model, alias, to_int(rows[0][0]), to_str(rows[0][1])};
  }

  std::map<std::string, int64_t> aliases(const std::string& model) override {
    std::lock_guard lock(mu_);
    std::map<std::string, int64_t> out;
    for (const auto& r :
         conn_->query("SELECT a.name, v.number FROM aliases a JOIN models m ON m.id = a.model_id "
                      "JOIN model_versions v ON v.id = a.version_id WHERE m.name = ?",
                      {model})) {
      out[to_str(r[0])] = to_int(r[1]);
    }
    return out;
  }

  AuditEntry flip(const FlipRequest& request, const std::string& token) override {
    validate_name("model name", request.model);
    validate_name("alias", request.alias);
    return write([&] {
      std::string actor = authenticate_locked(token, scope_for(request.alias));
      return move_alias_locked(request, "flip", actor);
    });
  }

  AuditEntry rollback(const std::string& model, const std::string& alias, const std::string& reason,
                      const std::string& operator_name, const std::string& token) override {
    validate_name("model name", model);
    validate_name("alias", alias);
    return write([&] {
      std::string actor = authenticate_locked(token, scope_for(alias));
      int64_t model_id = model_id_locked(model);
      auto last = conn_->query(
          "SELECT from_version FROM audit_log WHERE model_id = ? AND alias = ? "
          "ORDER BY id DESC LIMIT 1",
          {model_id, alias});
      if (last.empty() || !last[0][0]) {
        throw NotFoundError(model + "@" + alias + " has no earlier version to roll back to");
      }
      FlipRequest request{
          model, alias,        to_int(last[0][0]), reason.empty() ? "rollback" : reason,
          false, operator_name};
      return move_alias_locked(request, "rollback", actor);
    });
  }

  std::vector<AuditEntry> history(const std::string& model,
                                  const std::optional<std::string>& alias) override {
    std::lock_guard lock(mu_);
    int64_t model_id = model_id_locked(model);
    std::string sql = std::string("SELECT ") + kAuditColumns +
                      " FROM audit_log a JOIN models m ON m.id = a.model_id WHERE a.model_id = ?";
    std::vector<SqlValue> params{model_id};
    if (alias) {
      sql += " AND a.alias = ?";
      params.push_back(*alias);
    }
    sql += " ORDER BY a.id";
    std::vector<AuditEntry> out;
    for (const auto& r : conn_->query(sql, params)) out.push_back(audit_from_row(r));
    return out;
  }

  std::unique_ptr<AliasChangeListener> listen_alias_changes() override { return conn_->listen(); }

 private:
  // Runs `f` in a write transaction, holding the in-process lock too (one connection).
  template <class F>
  std::invoke_result_t<F> write(F&& f) {
    std::lock_guard lock(mu_);
    conn_->begin_write();
    try {
      auto result = f();
      conn_->commit();
      return result;
    } catch (...) {
      try {
        conn_->rollback();
      } catch (...) {
        // The original error matters more than a failed rollback (the connection is reset).
      }
      throw;
    }
  }

  void migrate() {
    write([&] {
      conn_->exec_script(
          "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, "
          "applied_at BIGINT NOT NULL)");
      bool pg = conn_->dialect() == Dialect::kPostgres;
      for (const auto& m : kMigrations) {
        if (!conn_
                 ->query("SELECT 1 FROM schema_migrations WHERE version = ?",
                         {static_cast<int64_t>(m.version)})
                 .empty()) {
          continue;
        }
        std::string sql = pg && m.postgres ? m.postgres : m.sqlite;
        sql = replace_all(sql, "{ID}",
                          pg ? "BIGSERIAL PRIMARY KEY" : "INTEGER PRIMARY KEY AUTOINCREMENT");
        conn_->exec_script(sql);
        conn_->query("INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)",
                     {static_cast<int64_t>(m.version), options_.now_ms()});
      }
      return 0;
    });
  }

  Scope scope_for(const std::string& alias) const {
    const auto& p = options_.protected_aliases;
    return std::find(p.begin(), p.end(), alias) != p.end() ? Scope::kPromote : Scope::kWrite;
  }

  std::string authenticate_locked(const std::string& token, Scope needed) {
    if (token.empty()) {
      throw UnauthorizedError("a " + to_string(needed) + " token is required (config key token" +
                              std::string(needed == Scope::kPromote ? " / promote_token" : "") +
                              ")");
    }
    auto rows = conn_->query("SELECT name, scope FROM api_tokens WHERE token_sha256 = ?",
                             {token_hash(token)});
    if (rows.empty()) throw UnauthorizedError("unknown token");
    Scope scope = parse_scope(to_str(rows[0][1]));
    // A promote token may do everything a write token may.
    if (needed == Scope::kPromote && scope != Scope::kPromote) {
      throw UnauthorizedError(
          "token " + to_str(rows[0][0]) +
          " has scope write; this alias is protected and needs a promote token");
    }
    return to_str(rows[0][0]);
  }

  int64_t model_id_locked(const std::string& model) {
    auto rows = conn_->query("SELECT id FROM models WHERE name = ?", {model});
    if (rows.empty()) throw NotFoundError("no model named " + model);
    return to_int(rows[0][0]);
  }

  std::optional<Run> run_locked(const std::string& id) {
    auto rows = conn_->query(
        "SELECT id, dataset, code_commit, image_digest, params FROM runs WHERE id = ?", {id});
    if (rows.empty()) return std::nullopt;
    Run r{to_str(rows[0][0]), to_str(rows[0][1]), to_str(rows[0][2]), to_str(rows[0][3]), {}};
    auto params = nlohmann::json::parse(to_str(rows[0][4]), nullptr, false);
    if (params.is_object()) {
      for (auto& [k, v] : params.items())
        r.params[k] = v.is_string() ? v.get<std::string>() : v.dump();
    }
    return r;
  }

  AuditEntry move_alias_locked(const FlipRequest& request, const std::string& action,
                               const std::string& token_name) {
    int64_t model_id = model_id_locked(request.model);
    auto target = conn_->query("SELECT id FROM model_versions WHERE model_id = ? AND number = ?",
                               {model_id, request.to_version});
    if (target.empty()) {
      throw NotFoundError(request.model + " has no version " + std::to_string(request.to_version));
    }
    auto current = conn_->query(
        "SELECT v.number FROM aliases a JOIN model_versions v ON v.id = a.version_id "
        "WHERE a.model_id = ? AND a.name = ?",
        {model_id, request.alias});
    int64_t now = options_.now_ms();
    conn_->query(
        "INSERT INTO aliases (model_id, name, version_id, updated_at) VALUES (?,?,?,?) "
        "ON CONFLICT (model_id, name) DO UPDATE SET version_id = excluded.version_id, "
        "updated_at = excluded.updated_at",
        {model_id, request.alias, to_int(target[0][0]), now});
    AuditEntry e;
    e.model = request.model;
    e.alias = request.alias;
    e.action = action;
    if (!current.empty()) e.from_version = to_int(current[0][0]);
    e.to_version = request.to_version;
    e.actor = request.operator_name.empty() ? token_name
                                            : token_name + " (" + request.operator_name + ")";
    e.reason = request.reason;
    e.forced = request.forced;
    e.at_ms = now;
    SqlValue from;
    if (e.from_version) from = *e.from_version;
    auto id = conn_->query(
        "INSERT INTO audit_log (model_id, alias, action, from_version, to_version, actor, reason, "
        "forced, at) VALUES (?,?,?,?,?,?,?,?,?) RETURNING id",
        {model_id, e.alias, e.action, from, e.to_version, e.actor, e.reason,
         static_cast<int64_t>(e.forced ? 1 : 0), now});
    e.id = to_int(id[0][0]);
    conn_->notify_alias_changed(request.model, request.alias);
    return e;
  }

  std::mutex mu_;  // one connection: one user at a time
  std::unique_ptr<SqlConnection> conn_;
  RegistryOptions options_;
};

bool is_postgres_url(const std::string& url) {
  return url.starts_with("postgresql://") || url.starts_with("postgres://") ||
         url.find('=') != std::string::npos;
}

}  // namespace

std::string to_string(Scope scope) {
  return scope == Scope::kPromote ? "promote" : "write";
}

Scope parse_scope(const std::string& text) {
  if (text == "write") return Scope::kWrite;
  if (text == "promote") return Scope::kPromote;
  throw InvalidRequestError("scope \"" + text + "\" is neither write nor promote");
}

void validate_name(const std::string& what, const std::string& name) {
  auto bad = [&](const std::string& why) {
    throw InvalidRequestError(what + " \"" + name + "\" " + why);
  };
  if (name.empty() || name.size() > 128) bad("must be 1 to 128 characters");
  if (name[0] == '.' || name[0] == '-') bad("must not start with '.' or '-'");
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-';
    if (!ok) bad("may hold only letters, digits, '.', '_' and '-'");
  }
}

std::unique_ptr<RegistryDb> open_registry(const RegistryOptions& options) {
  std::unique_ptr<SqlConnection> conn;
  if (is_postgres_url(options.url)) {
    conn = open_postgres(options.url);
  } else {
    std::string path = options.url.starts_with("sqlite:") ? options.url.substr(7) : options.url;
    if (path.empty()) throw RegistryError("registry url \"" + options.url + "\" names no file");
    conn = open_sqlite(path, options.lock_timeout);
  }
  return std::make_unique<SqlRegistryDb>(std::move(conn), options);
}

}  // namespace fanout::registry
