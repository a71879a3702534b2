#pragma once
// An HTTP daemon's common parts: /healthz, /metrics, JSON errors, one log line per failed
// request, bind/start/stop. Components register their own routes on routes().
#include <httplib.h>

#include <functional>
#include <string>
#include <thread>

#include "common/config/config.h"
#include "common/metrics/metrics.h"

namespace fanout::http {

class HttpServer {
 public:
  HttpServer(std::string component, metrics::Registry& registry);
  ~HttpServer();  // stops

  httplib::Server& routes() { return server_; }
  // /healthz answers 200 {"status":"ok"} while ready() is true, 503 {"status":"starting"} otherwise.
  void set_ready(std::function<bool()> ready);
  // Binds (port 0 picks one); throws std::runtime_error naming the address when it cannot.
  uint16_t bind(const config::HostPort& address);
  uint16_t port() const { return port_; }
  // Serves in a background thread.
  void start();
  void stop();

 private:
  std::string component_;
  metrics::Registry& registry_;
  httplib::Server server_;
  std::function<bool()> ready_ = [] { return true; };
  std::thread thread_;
  uint16_t port_ = 0;
};

// Call first thing in main(), before any thread starts, so SIGTERM/SIGINT reach only the waiter.
void block_shutdown_signals();
// Blocks until SIGTERM or SIGINT arrives; returns the signal's name.
std::string wait_for_shutdown_signal();

}  // namespace fanout::http
