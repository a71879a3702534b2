#include "tests/unit/registry/postgres_server.h"

#include <fcntl.h>
#include <libpq-fe.h>
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <vector>

#include "tests/support/ports.h"

namespace fanout::test {
namespace {

constexpr const char* kUser = "fanout";

// The newest /usr/lib/postgresql/<major>/bin holding initdb and postgres (Debian's layout), or
// the directory of an initdb on PATH.
std::filesystem::path find_bin_dir() {
  std::filesystem::path best;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/usr/lib/postgresql", ec)) {
    auto bin = entry.path() / "bin";
    if (std::filesystem::exists(bin / "initdb") && std::filesystem::exists(bin / "postgres") &&
        (best.empty() || bin > best)) {
      best = bin;
    }
  }
  if (!best.empty()) return best;
  if (const char* path = ::getenv("PATH")) {
    std::stringstream dirs(path);
    for (std::string dir; std::getline(dirs, dir, ':');) {
      if (::access((dir + "/initdb").c_str(), X_OK) == 0 &&
          ::access((dir + "/postgres").c_str(), X_OK) == 0) {
        return dir;
      }
    }
  }
  return {};
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// fork + (drop to `runas` when set) + exec; stdout and stderr appended to `log`.
pid_t spawn(const std::vector<std::string>& args, const std::filesystem::path& log,
            const passwd* runas) {
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) throw std::runtime_error("cannot open " + log.string());
  if (runas) (void)::fchown(fd, runas->pw_uid, runas->pw_gid);
  pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    ::dup2(fd, 1);
    ::dup2(fd, 2);
    if (runas && (::setgid(runas->pw_gid) != 0 || ::setuid(runas->pw_uid) != 0)) ::_exit(126);
    // Set after setuid, which clears it: a crashed test takes its server down (SIGQUIT is
    // PostgreSQL's immediate shutdown).
    ::prctl(PR_SET_PDEATHSIG, SIGQUIT);
    if (::getppid() != parent) ::_exit(1);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  ::close(fd);
  return pid;
}

int wait_exit(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

void execute(const std::string& conninfo, const std::string& sql) {
  PGconn* conn = PQconnectdb(conninfo.c_str());
  std::string error;
  if (PQstatus(conn) != CONNECTION_OK) {
    error = PQerrorMessage(conn);
  } else {
    PGresult* r = PQexec(conn, sql.c_str());
    if (PQresultStatus(r) != PGRES_COMMAND_OK) error = PQresultErrorMessage(r);
    PQclear(r);
  }
  PQfinish(conn);
  if (!error.empty()) throw std::runtime_error(sql + ": " + error);
}

}  // namespace

PostgresServer* PostgresServer::shared(std::string& why) {
  static std::unique_ptr<PostgresServer> server;
  static std::string missing;
  if (server) return server.get();
  if (!missing.empty()) {
    why = missing;
    return nullptr;
  }
  auto bin = find_bin_dir();
  if (bin.empty()) {
    missing = why =
        "PostgreSQL server binaries (initdb, postgres) not found in /usr/lib/postgresql/*/bin or "
        "on PATH; install Debian's `postgresql` package to run the PostgreSQL half of the suite";
    return nullptr;
  }
  if (::geteuid() == 0 && ::getpwnam("postgres") == nullptr) {
    missing = why = "running as root and there is no `postgres` user to run the server as";
    return nullptr;
  }
  server.reset(new PostgresServer());
  server->start(bin);
  return server.get();
}

void PostgresServer::start(const std::filesystem::path& bin) {
  std::string pattern = (std::filesystem::temp_directory_path() / "fanout-pg-XXXXXX").string();
  std::vector<char> buf(pattern.begin(), pattern.end());
  buf.push_back('\0');
  if (!::mkdtemp(buf.data())) throw std::runtime_error("mkdtemp " + pattern);
  dir_ = buf.data();
  const passwd* runas = ::geteuid() == 0 ? ::getpwnam("postgres") : nullptr;
  if (runas && ::chown(dir_.c_str(), runas->pw_uid, runas->pw_gid) != 0) {
    throw std::runtime_error("cannot chown " + dir_.string() + " to postgres");
  }
  auto log = dir_ / "server.log";
  auto data = (dir_ / "data").string();
  int rc = wait_exit(spawn({(bin / "initdb").string(), "-D", data, "-U", kUser, "-A", "trust", "-E",
                            "UTF8", "--no-sync", "--no-instructions"},
                           log, runas));
  if (rc != 0) {
    throw std::runtime_error("initdb failed (" + std::to_string(rc) + "):\n" + read_file(log));
  }
  port_ = free_port();
  pid_ =
      spawn({(bin / "postgres").string(), "-D", data, "-p", std::to_string(port_), "-k",
             dir_.string(), "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c",
             "synchronous_commit=off", "-c", "full_page_writes=off", "-c", "max_connections=200"},
            log, runas);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (PQping(conninfo().c_str()) != PQPING_OK) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      throw std::runtime_error("postgres exited while starting:\n" + read_file(log));
    }
    if (std::chrono::steady_clock::now() > deadline) {
      throw std::runtime_error("postgres did not accept connections in 30 s:\n" + read_file(log));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

PostgresServer::~PostgresServer() {
  if (pid_ > 0) {
    ::kill(pid_, SIGQUIT);
    wait_exit(pid_);
  }
  std::error_code ec;
  if (!dir_.empty()) std::filesystem::remove_all(dir_, ec);
}

std::string PostgresServer::conninfo(const std::string& database) const {
  return "host=127.0.0.1 port=" + std::to_string(port_) + " user=" + kUser + " dbname=" + database +
         " connect_timeout=10";
}

std::string PostgresServer::create_database() {
  std::string name = "registry_" + std::to_string(::getpid()) + "_" + std::to_string(++databases_);
  execute(conninfo(), "CREATE DATABASE " + name);
  return conninfo(name);
}

}  // namespace fanout::test
