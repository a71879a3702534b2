#pragma once
// The little SQL the registry needs, over SQLite or libpq: parameterised statements whose results
// come back as text, and write transactions that serialize writers. Internal to common/registry.
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "common/registry/registry_db.h"

namespace fanout::registry {

enum class Dialect { kSqlite, kPostgres };

using SqlValue = std::variant<std::monostate, int64_t, std::string>;
using SqlRow = std::vector<std::optional<std::string>>;

class SqlConnection {
 public:
  virtual ~SqlConnection() = default;
  virtual Dialect dialect() const = 0;
  virtual std::string describe() const = 0;
  // One statement; placeholders are written '?' for both dialects. Throws RegistryError.
  virtual std::vector<SqlRow> query(const std::string& sql,
                                    const std::vector<SqlValue>& params = {}) = 0;
  // Several statements, no parameters (migrations).
  virtual void exec_script(const std::string& sql) = 0;
  // Starts a transaction that excludes every other writer until it ends, so read-modify-write
  // sequences (next version number, alias moves) see no interleaving: SQLite BEGIN IMMEDIATE,
  // PostgreSQL BEGIN plus a transaction-scoped advisory lock.
  virtual void begin_write() = 0;
  virtual void commit() = 0;
  virtual void rollback() = 0;
  // Tells listeners (PostgreSQL NOTIFY, delivered at commit) that an alias moved; no-op on SQLite.
  virtual void notify_alias_changed(const std::string& model, const std::string& alias) = 0;
  // A second connection that receives those notifications, or nullptr.
  virtual std::unique_ptr<AliasChangeListener> listen() = 0;
};

std::unique_ptr<SqlConnection> open_sqlite(const std::string& path,
                                           std::chrono::milliseconds busy_timeout);
std::unique_ptr<SqlConnection> open_postgres(const std::string& conninfo);

// The NOTIFY channel alias moves are announced on; payload "<model> <alias>".
inline constexpr const char* kAliasChannel = "fanout_alias_changed";

}  // namespace fanout::registry
