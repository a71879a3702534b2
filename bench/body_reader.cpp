#include "bench/body_reader.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>

#include "common/digest/sha256.h"

namespace fanout::bench {
namespace {

bool send_all(int fd, const std::string& s) {
  size_t at = 0;
  while (at < s.size()) {
    ssize_t n = ::send(fd, s.data() + at, s.size() - at, MSG_NOSIGNAL);
    if (n <= 0) return false;
    at += static_cast<size_t>(n);
  }
  return true;
}

ssize_t recv_some(int fd, std::vector<char>& buf) {
  for (;;) {
    ssize_t n = ::recv(fd, buf.data(), buf.size(), 0);
    if (n < 0 && errno == EINTR) continue;
    return n;
  }
}

}  // namespace

BodyReader::Socket::~Socket() {
  if (fd >= 0) ::close(fd);
}

bool BodyReader::open(const std::string& host, uint16_t port, const std::string& path) {
  s_.fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  if (s_.fd < 0 || ::inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1) return false;
  if (::connect(s_.fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) return false;
  if (!send_all(s_.fd, "GET " + path + " HTTP/1.1\r\nHost: " + host + "\r\nConnection: close\r\n\r\n"))
    return false;
  sent_at_ = std::chrono::steady_clock::now();
  buf_.resize(1u << 20);
  std::string head;
  for (;;) {
    ssize_t n = recv_some(s_.fd, buf_);
    if (n <= 0) return false;
    head.append(buf_.data(), static_cast<size_t>(n));
    auto end = head.find("\r\n\r\n");
    if (end == std::string::npos) {
      if (head.size() > 65536) return false;
      continue;
    }
    if (head.compare(0, 12, "HTTP/1.1 200") != 0) return false;
    // Header names are case-insensitive; httplib sends "Content-Length".
    std::string lower = head.substr(0, end);
    for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    auto at = lower.find("\r\ncontent-length:");
    if (at == std::string::npos) return false;
    length_ = std::strtoll(lower.c_str() + at + 17, nullptr, 10);
    early_ = head.substr(end + 4);
    return length_ >= 0;
  }
}

int64_t BodyReader::read_rest(double rate, bool hash) {
  if (length_ < 0) return -1;
  std::optional<Sha256> sha;
  if (hash) sha.emplace();
  int64_t got = static_cast<int64_t>(early_.size());
  if (sha) sha->update(early_);
  auto t0 = std::chrono::steady_clock::now();
  while (got < length_) {
    ssize_t n = recv_some(s_.fd, buf_);
    if (n <= 0) break;
    got += n;
    if (sha) sha->update(buf_.data(), static_cast<size_t>(n));
    if (rate > 0) {
      double ahead = double(got) / rate -
                     std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      if (ahead > 0) std::this_thread::sleep_for(std::chrono::duration<double>(ahead));
    }
  }
  if (got != length_) return -1;
  if (sha) digest_ = sha->finish();
  return got;
}

}  // namespace fanout::bench
