// SqlConnection over libpq. Parameters travel as text and PostgreSQL infers their types from the
// statement; results come back as text, like SQLite's.
#include <libpq-fe.h>
#include <poll.h>

#include "common/registry/sql_connection.h"

namespace fanout::registry {
namespace {

// Every registry writer takes this transaction-scoped advisory lock, so writes are serialized
// exactly as SQLite's single writer is (writes are rare: pushes and flips).
constexpr const char* kWriteLockKey = "7243019283";

// "?" placeholders become "$1", "$2"... (the registry's SQL has no '?' inside literals).
std::string number_placeholders(const std::string& sql) {
  std::string out;
  int n = 0;
  for (char c : sql) {
    if (c == '?')
      out += "$" + std::to_string(++n);
    else
      out += c;
  }
  return out;
}

// The connection string without its password, for messages.
std::string redact(const std::string& conninfo) {
  PQconninfoOption* options = PQconninfoParse(conninfo.c_str(), nullptr);
  if (!options) return "(unparsable connection string)";
  std::string out;
  for (PQconninfoOption* o = options; o->keyword; ++o) {
    if (!o->val || std::string(o->keyword) == "password") continue;
    out += (out.empty() ? "" : " ") + std::string(o->keyword) + "=" + o->val;
  }
  PQconninfoFree(options);
  return out;
}

class PgResult {
 public:
  explicit PgResult(PGresult* r) : r_(r) {}
  ~PgResult() { PQclear(r_); }
  PgResult(const PgResult&) = delete;
  PgResult& operator=(const PgResult&) = delete;
  PGresult* get() const { return r_; }

 private:
  PGresult* r_;
};

PGconn* connect(const std::string& conninfo, const std::string& shown) {
  PGconn* conn = PQconnectdb(conninfo.c_str());
  if (PQstatus(conn) != CONNECTION_OK) {
    std::string why = PQerrorMessage(conn);
    PQfinish(conn);
    while (!why.empty() && why.back() == '\n') why.pop_back();
    throw RegistryError("registry postgresql " + shown + ": cannot connect: " + why);
  }
  return conn;
}

class PostgresListener : public AliasChangeListener {
 public:
  PostgresListener(const std::string& conninfo, const std::string& shown)
      : shown_(shown), conn_(connect(conninfo, shown)) {
    PgResult r(PQexec(conn_, (std::string("LISTEN ") + kAliasChannel).c_str()));
    if (PQresultStatus(r.get()) != PGRES_COMMAND_OK) {
      throw RegistryError("registry postgresql " + shown_ + ": LISTEN: " + PQerrorMessage(conn_));
    }
  }
  ~PostgresListener() override { PQfinish(conn_); }

  std::vector<AliasChange> wait(std::chrono::milliseconds timeout) override {
    std::vector<AliasChange> changes = drain();
    if (!changes.empty()) return changes;
    pollfd pfd{PQsocket(conn_), POLLIN, 0};
    if (pfd.fd < 0) throw RegistryError("registry postgresql " + shown_ + ": connection lost");
    int ready = ::poll(&pfd, 1, static_cast<int>(timeout.count()));
    if (ready < 0) return {};
    if (ready > 0 && !PQconsumeInput(conn_)) {
      throw RegistryError("registry postgresql " + shown_ + ": " + PQerrorMessage(conn_));
    }
    return drain();
  }

 private:
  std::vector<AliasChange> drain() {
    std::vector<AliasChange> changes;
    while (PGnotify* n = PQnotifies(conn_)) {
      std::string payload = n->extra ? n->extra : "";
      PQfreemem(n);
      auto space = payload.find(' ');
      if (space == std::string::npos) continue;
      changes.push_back({payload.substr(0, space), payload.substr(space + 1)});
    }
    return changes;
  }

  std::string shown_;
  PGconn* conn_;
};

class PostgresConnection : public SqlConnection {
 public:
  explicit PostgresConnection(std::string conninfo)
      : conninfo_(std::move(conninfo)),
        shown_(redact(conninfo_)),
        conn_(connect(conninfo_, shown_)) {
    // Migration notices ("relation already exists, skipping") are noise on stderr.
    PQsetNoticeProcessor(
        conn_, [](void*, const char*) {}, nullptr);
  }
  ~PostgresConnection() override { PQfinish(conn_); }

  Dialect dialect() const override { return Dialect::kPostgres; }
  std::string describe() const override { return "postgresql " + shown_; }

  std::vector<SqlRow> query(const std::string& sql, const std::vector<SqlValue>& params) override {
    reconnect_if_broken();
    std::vector<std::string> texts(params.size());
    std::vector<const char*> values(params.size());
    for (size_t i = 0; i < params.size(); ++i) {
      if (auto* n = std::get_if<int64_t>(&params[i])) {
        texts[i] = std::to_string(*n);
        values[i] = texts[i].c_str();
      } else if (auto* s = std::get_if<std::string>(&params[i])) {
        values[i] = s->c_str();
      } else {
        values[i] = nullptr;
      }
    }
    std::string numbered = number_placeholders(sql);
    PgResult r(PQexecParams(conn_, numbered.c_str(), static_cast<int>(params.size()), nullptr,
                            values.data(), nullptr, nullptr, 0));
    auto status = PQresultStatus(r.get());
    if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK) {
      throw RegistryError("registry " + describe() + ": " + PQresultErrorMessage(r.get()));
    }
    std::vector<SqlRow> rows;
    int n_rows = PQntuples(r.get()), n_cols = PQnfields(r.get());
    rows.reserve(n_rows);
    for (int i = 0; i < n_rows; ++i) {
      SqlRow row;
      for (int c = 0; c < n_cols; ++c) {
        if (PQgetisnull(r.get(), i, c))
          row.emplace_back();
        else
          row.emplace_back(std::string(PQgetvalue(r.get(), i, c), PQgetlength(r.get(), i, c)));
      }
      rows.push_back(std::move(row));
    }
    return rows;
  }

  void exec_script(const std::string& sql) override {
    reconnect_if_broken();
    PgResult r(PQexec(conn_, sql.c_str()));
    auto status = PQresultStatus(r.get());
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
      throw RegistryError("registry " + describe() + ": " + PQresultErrorMessage(r.get()));
    }
  }

  void begin_write() override {
    exec_script(std::string("BEGIN; SELECT pg_advisory_xact_lock(") + kWriteLockKey + ")");
  }
  void commit() override { exec_script("COMMIT"); }
  void rollback() override {
    if (PQtransactionStatus(conn_) != PQTRANS_IDLE) exec_script("ROLLBACK");
  }
  void notify_alias_changed(const std::string& model, const std::string& alias) override {
    query("SELECT pg_notify(?, ?)", {std::string(kAliasChannel), model + " " + alias});
  }
  std::unique_ptr<AliasChangeListener> listen() override {
    return std::make_unique<PostgresListener>(conninfo_, shown_);
  }

 private:
  void reconnect_if_broken() {
    if (PQstatus(conn_) == CONNECTION_OK) return;
    PQreset(conn_);
    if (PQstatus(conn_) != CONNECTION_OK) {
      throw RegistryError("registry " + describe() + ": connection lost: " + PQerrorMessage(conn_));
    }
  }

  std::string conninfo_;
  std::string shown_;
  PGconn* conn_;
};

}  // namespace

std::unique_ptr<SqlConnection> open_postgres(const std::string& conninfo) {
  return std::make_unique<PostgresConnection>(conninfo);
}

}  // namespace fanout::registry
