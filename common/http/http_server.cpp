#include "common/http/http_server.h"

#include <sys/socket.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <exception>
#include <stdexcept>
#include <string_view>

#include "common/http/byte_range.h"
#include "common/http/http_error.h"
#include "common/log/log.h"

namespace fanout::http {
namespace {

// Request threads. A local client of the agent may hold one for as long as a swarm fetch takes,
// so there must be room for many waiting requests beyond httplib's default of ~8.
constexpr size_t kRequestThreads = 64;
// Longest body quoted in a failed request's log line.
constexpr size_t kMaxLoggedBody = 512;

std::string error_code_for(int status) {
  switch (status) {
    case 400:
      return "bad_request";
    case 404:
      return "not_found";
    case 405:
      return "method_not_allowed";
    case 413:
      return "payload_too_large";
    case 414:
      return "uri_too_long";
    case 416:
      return "invalid_range";
    case 500:
      return "internal";
    case 503:
      return "unavailable";
    default:
      return "http_" + std::to_string(status);
  }
}

// True when the (percent-decoded) path has a "." or ".." segment or a NUL byte. No fanout route
// has one, and a digest parameter that decodes to "../../etc/passwd" must be a 400 (a malformed
// request), not a 404 from a route regex that stopped matching at the first '/'.
bool is_traversal(const std::string& path) {
  if (path.find('\0') != std::string::npos) return true;
  for (size_t start = 0; start <= path.size();) {
    size_t slash = path.find('/', start);
    std::string_view segment(path.data() + start,
                             (slash == std::string::npos ? path.size() : slash) - start);
    if (segment == "." || segment == "..") return true;
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  return false;
}

}  // namespace

HttpServer::HttpServer(std::string component, metrics::Registry& registry)
    : component_(std::move(component)), registry_(registry) {
  server_.new_task_queue = [] { return new httplib::ThreadPool(kRequestThreads); };
  // httplib's default also sets SO_REUSEPORT, which lets a second daemon bind a port that is in
  // use and silently share its traffic; we want that to fail. SO_REUSEADDR alone keeps quick
  // restarts working.
  server_.set_socket_options([](socket_t sock) {
    int yes = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  });
  // Small answers (announces, errors) otherwise wait ~40 ms on Nagle + delayed ACK.
  server_.set_tcp_nodelay(true);

  // The one place where typed errors become HTTP statuses.
  server_.set_exception_handler(
      [](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
        try {
          std::rethrow_exception(std::move(ep));
        } catch (const HttpError& e) {
          write_error(res, e.status(), e.error(), e.detail());
        } catch (const DigestError& e) {
          write_error(res, 400, "invalid_digest", e.what());
        } catch (const std::exception& e) {
          write_error(res, 500, "internal", e.what());
        } catch (...) {
          write_error(res, 500, "internal", "unknown exception");
        }
      });

  // httplib calls this for every status >= 400: for its own errors (no route, malformed Range,
  // oversized request) the body is empty and gets our JSON; handler-made bodies are kept.
  server_.set_error_handler(
      httplib::Server::HandlerWithResponse([](const httplib::Request& req, httplib::Response& res) {
        disable_httplib_ranges(req);
        if (res.body.empty() && !res.content_provider_) {
          std::string detail;
          if (res.status == 404) {
            detail = "no route for " + req.method + " " + req.path;
          } else if (res.status == 416) {
            // httplib refuses a Range header it cannot parse before any handler runs.
            detail = "cannot parse Range \"" + req.get_header_value("Range") + "\"";
          } else {
            detail = "request failed with HTTP " + std::to_string(res.status);
          }
          write_error(res, res.status, error_code_for(res.status), detail);
        }
        return httplib::Server::HandlerResponse::Handled;
      }));

  // One log line per failed request, with the JSON error that explains it.
  server_.set_logger([this](const httplib::Request& req, const httplib::Response& res) {
    // A 503 from /healthz is the normal answer while starting, polled often: not a failure.
    if (res.status < 400 || req.path == "/healthz") return;
    std::string body =
        res.body.size() > kMaxLoggedBody ? res.body.substr(0, kMaxLoggedBody) + "..." : res.body;
    auto level = res.status >= 500 ? spdlog::level::err : spdlog::level::info;
    spdlog::log(level, "{} {} {} -> {} {}", component_, req.method, req.path, res.status, body);
  });

  // Components register routes on routes(); this guard takes httplib's one pre-routing slot.
  server_.set_pre_routing_handler([](const httplib::Request& req, httplib::Response& res) {
    if (!is_traversal(req.path)) return httplib::Server::HandlerResponse::Unhandled;
    write_error(res, 400, "invalid_path", "path segments \".\" and \"..\" are not allowed");
    return httplib::Server::HandlerResponse::Handled;
  });

  server_.Get("/healthz", [this](const httplib::Request&, httplib::Response& res) {
    if (ready_()) {
      res.status = 200;
      res.set_content(R"({"status":"ok"})", "application/json");
    } else {
      res.status = 503;
      res.set_content(R"({"status":"starting"})", "application/json");
    }
  });
  server_.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(registry_.render(), "text/plain; version=0.0.4");
  });
}

HttpServer::~HttpServer() {
  stop();
}

void HttpServer::set_ready(std::function<bool()> ready) {
  ready_ = std::move(ready);
}

uint16_t HttpServer::bind(const config::HostPort& address) {
  int port = address.port;
  errno = 0;
  if (address.port == 0) {
    port = server_.bind_to_any_port(address.host);
  } else if (!server_.bind_to_port(address.host, address.port)) {
    port = -1;
  }
  if (port <= 0) {
    std::string why = errno != 0 ? std::string(": ") + std::strerror(errno) : "";
    throw std::runtime_error(component_ + ": cannot listen on " + address.str() + why);
  }
  port_ = static_cast<uint16_t>(port);
  return port_;
}

void HttpServer::start() {
  if (port_ == 0) throw std::logic_error(component_ + ": HttpServer::start() before bind()");
  thread_ = std::thread([this] { server_.listen_after_bind(); });
  // httplib::Server::stop() is a no-op until the accept loop runs; wait for it so an early
  // stop() cannot leave the thread running forever.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!server_.is_running()) {
    if (std::chrono::steady_clock::now() > deadline) {
      throw std::runtime_error(component_ + ": HTTP server did not start");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

void HttpServer::stop() {
  server_.stop();
  if (thread_.joinable()) thread_.join();
}

}  // namespace fanout::http
