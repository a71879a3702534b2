// The tracker keeps a client's connection open across many announces: agents and the storm
// bench re-announce over one keep-alive connection, and cpp-httplib's default (close after 5
// requests) made every fifth announce pay a reconnect. Raw sockets, so nothing reconnects
// behind the test's back.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

#include "proto/announce.h"
#include "tracker/tracker_server.h"

namespace fanout::tracker {
namespace {

// Reads one HTTP response (headers + Content-Length body) from `fd`; "" when the peer closed.
std::string read_response(int fd, std::string& buffer) {
  for (;;) {
    size_t end = buffer.find("\r\n\r\n");
    if (end != std::string::npos) {
      size_t at = buffer.find("Content-Length: ");
      size_t length = at == std::string::npos ? 0 : std::stoul(buffer.substr(at + 16));
      if (buffer.size() >= end + 4 + length) {
        std::string response = buffer.substr(0, end + 4 + length);
        buffer.erase(0, end + 4 + length);
        return response;
      }
    }
    char chunk[4096];
    ssize_t n = ::recv(fd, chunk, sizeof(chunk), 0);
    if (n <= 0) return "";
    buffer.append(chunk, static_cast<size_t>(n));
  }
}

TEST(TrackerKeepAlive, FiftyAnnouncesShareOneConnection) {
  TrackerConfig config;
  config.listen = {"127.0.0.1", 0};
  metrics::Registry registry;
  TrackerServer server(config, registry);
  uint16_t port = server.start();

  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);

  proto::AnnounceRequest r;
  r.info_hash = std::string(20, 'k');
  r.port = 6881;
  r.left = 1;
  std::string buffer;
  for (int i = 0; i < 50; ++i) {
    r.peer_id = "-KA0001-" + std::to_string(100000000000 + i);
    std::string request =
        "GET /announce?" + proto::encode_announce_query(r) + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    ASSERT_EQ(::send(fd, request.data(), request.size(), MSG_NOSIGNAL),
              static_cast<ssize_t>(request.size()));
    std::string response = read_response(fd, buffer);
    ASSERT_FALSE(response.empty())
        << "the tracker closed the connection after " << i << " announces";
    ASSERT_EQ(response.rfind("HTTP/1.1 200", 0), 0u) << response;
    EXPECT_EQ(response.find("failure reason"), std::string::npos) << response;
  }
  ::close(fd);
  EXPECT_EQ(server.swarms().peer_count(), 50u);
}

}  // namespace
}  // namespace fanout::tracker
