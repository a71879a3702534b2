#include "tests/support/ports.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <mutex>
#include <set>
#include <stdexcept>
#include <system_error>

namespace fanout::test {
namespace {

uint16_t bind_ephemeral() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::system_error(errno, std::generic_category(), "socket");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    int err = errno;
    ::close(fd);
    throw std::system_error(err, std::generic_category(), "bind 127.0.0.1:0");
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

}  // namespace

uint16_t free_port() {
  static std::mutex mu;
  static std::set<uint16_t> handed_out;
  std::lock_guard lock(mu);
  for (int attempt = 0; attempt < 100; ++attempt) {
    uint16_t port = bind_ephemeral();
    if (handed_out.insert(port).second) return port;
  }
  throw std::runtime_error("free_port: no new free port after 100 attempts");
}

}  // namespace fanout::test
