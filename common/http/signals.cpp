// Shutdown signals for the daemons: blocked in every thread, taken synchronously by main().
#include <pthread.h>
#include <signal.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>

#include "common/http/http_server.h"

namespace fanout::http {
namespace {

sigset_t shutdown_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  return set;
}

}  // namespace

void block_shutdown_signals() {
  // Threads inherit the mask, so only wait_for_shutdown_signal() ever receives these.
  sigset_t set = shutdown_signals();
  if (int rc = pthread_sigmask(SIG_BLOCK, &set, nullptr); rc != 0) {
    throw std::runtime_error(std::string("pthread_sigmask: ") + std::strerror(rc));
  }
}

std::string wait_for_shutdown_signal() {
  sigset_t set = shutdown_signals();
  for (;;) {
    int sig = 0;
    int rc = sigwait(&set, &sig);
    if (rc == EINTR) continue;
    if (rc != 0) throw std::runtime_error(std::string("sigwait: ") + std::strerror(rc));
    return sig == SIGTERM ? "SIGTERM" : "SIGINT";
  }
}

}  // namespace fanout::http
