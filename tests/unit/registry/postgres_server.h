#pragma once
// A throwaway PostgreSQL server for the registry tests: initdb into a temp dir, `postgres` in the
// foreground on a free loopback port, killed with the test process (PR_SET_PDEATHSIG), removed
// at the end. PostgreSQL refuses to run as root, so when the test runs as root the server runs
// as the `postgres` system user (Debian's package creates it) in a directory chowned to it.
#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

namespace fanout::test {

class PostgresServer {
 public:
  // The server shared by every test of this process, started on first use; nullptr when the
  // PostgreSQL server binaries are not installed (`why` says what is missing). Throws
  // std::runtime_error, with the server's log, when they are there but the server fails.
  static PostgresServer* shared(std::string& why);

  ~PostgresServer();
  PostgresServer(const PostgresServer&) = delete;
  PostgresServer& operator=(const PostgresServer&) = delete;

  // Creates a fresh, empty database and returns its libpq connection string.
  std::string create_database();
  // The connection string of the maintenance database ("postgres").
  std::string conninfo(const std::string& database = "postgres") const;
  uint16_t port() const { return port_; }

 private:
  PostgresServer() = default;
  void start(const std::filesystem::path& bin_dir);

  std::filesystem::path dir_;
  pid_t pid_ = -1;
  uint16_t port_ = 0;
  int databases_ = 0;
};

}  // namespace fanout::test
