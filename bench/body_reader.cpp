#include "bench/body_reader.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <thread>
#include <vector>

namespace fanout::bench {
namespace {

struct Socket {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ~Socket() {
    if (fd >= 0) ::close(fd);
  }
};

bool send_all(int fd, const std::string& s) {
  size_t at = 0;
  while (at < s.size()) {
    ssize_t n = ::send(fd, s.data() + at, s.size() - at, MSG_NOSIGNAL);
    if (n <= 0) return false;
    at += static_cast<size_t>(n);
  }
  return true;
}

}  // namespace

int64_t get_body(const std::string& host, uint16_t port, const std::string& path, double rate) {
  Socket s;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  if (s.fd < 0 || ::inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1) return -1;
  if (::connect(s.fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) return -1;
  if (!send_all(s.fd, "GET " + path + " HTTP/1.1\r\nHost: " + host + "\r\nConnection: close\r\n\r\n"))
    return -1;

  std::vector<char> buf(1u << 20);
  std::string head;
  int64_t got = 0;
  int64_t length = -1;
  auto t0 = std::chrono::steady_clock::now();
  for (;;) {
    ssize_t n = ::recv(s.fd, buf.data(), buf.size(), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    if (length < 0) {  // still in the headers
      head.append(buf.data(), static_cast<size_t>(n));
      auto end = head.find("\r\n\r\n");
      if (end == std::string::npos) {
        if (head.size() > 65536) return -1;
        continue;
      }
      if (head.compare(0, 12, "HTTP/1.1 200") != 0) return -1;
      // Header names are case-insensitive; httplib sends "Content-Length".
      std::string lower = head.substr(0, end);
      for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      auto at = lower.find("\r\ncontent-length:");
      if (at == std::string::npos) return -1;
      length = std::strtoll(lower.c_str() + at + 17, nullptr, 10);
      got = static_cast<int64_t>(head.size() - (end + 4));
    } else {
      got += n;
    }
    if (rate > 0) {
      double ahead = double(got) / rate -
                     std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      if (ahead > 0) std::this_thread::sleep_for(std::chrono::duration<double>(ahead));
    }
    if (length >= 0 && got >= length) break;
  }
  return length >= 0 && got == length ? got : -1;
}

}  // namespace fanout::bench
