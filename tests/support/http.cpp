#include "tests/support/http.h"

#include <chrono>

namespace fanout::test {

std::string describe(const httplib::Result& result) {
  if (!result) return "no response: " + httplib::to_string(result.error());
  constexpr size_t kMaxBody = 2000;
  std::string body = result->body.size() > kMaxBody
                         ? result->body.substr(0, kMaxBody) + "... (" +
                               std::to_string(result->body.size()) + " bytes)"
                         : result->body;
  return "HTTP " + std::to_string(result->status) + ", body: " + body;
}

std::string get_body(const std::string& base_url, const std::string& path) {
  httplib::Client client(base_url);
  client.set_connection_timeout(std::chrono::seconds(2));
  client.set_read_timeout(std::chrono::seconds(30));
  auto res = client.Get(path);
  if (!res || res->status != 200) return {};
  return res->body;
}

}  // namespace fanout::test
