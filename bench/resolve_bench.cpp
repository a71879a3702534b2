// fanout-resolve-bench: latency of GET /v1/models/{name}/aliases/{alias} as an agent sees it
// (HTTP over loopback, keep-alive), answered from the resolver's cache and, with a zero TTL,
// from the registry database on every request. Targets: p99 < 1 ms cached, < 5 ms uncached.
#include <httplib.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <vector>

#include "common/digest/sha256.h"
#include "common/http/http_server.h"
#include "common/log/log.h"
#include "common/registry/registry_db.h"
#include "proto/manifest.h"
#include "tracker/alias_routes.h"

using namespace fanout;

namespace {

void report(const char* label, std::vector<double> us) {
  std::sort(us.begin(), us.end());
  auto pct = [&](double p) {
    return us[std::min(us.size() - 1, static_cast<size_t>(p * us.size()))];
  };
  std::printf("%-9s n=%zu  p50 %.1f us  p90 %.1f us  p99 %.1f us  max %.1f us\n", label, us.size(),
              pct(0.50), pct(0.90), pct(0.99), us.back());
}

std::vector<double> measure(httplib::Client& client, const std::string& path, int n) {
  std::vector<double> us;
  us.reserve(n);
  for (int i = 0; i < n; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    auto r = client.Get(path);
    auto t1 = std::chrono::steady_clock::now();
    if (!r || r->status != 200) {
      std::fprintf(stderr, "request failed: %s\n", r ? r->body.c_str() : "no answer");
      std::exit(1);
    }
    us.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
  }
  return us;
}

}  // namespace

int main(int argc, char** argv) {
  std::string url;
  int requests = 20000, models = 100;
  bool nodelay = true;
  CLI::App app{"fanout-resolve-bench: alias resolve latency, cached and uncached"};
  app.add_option("--registry", url, "Registry URL (default: a fresh SQLite file in /tmp)");
  app.add_option("--requests", requests, "Requests per measurement")->capture_default_str();
  app.add_option("--models", models, "Models (each with 3 versions and a prod alias)")
      ->capture_default_str();
  app.add_option("--nodelay", nodelay,
                 "TCP_NODELAY on both ends (false shows the ~40 ms Nagle/delayed-ACK stall the "
                 "tracker's keep-alive answers hit without it)")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  spdlog::set_level(spdlog::level::warn);

  std::filesystem::path tmp;
  if (url.empty()) {
    tmp = std::filesystem::temp_directory_path() /
          ("fanout-resolve-bench-" + std::to_string(::getpid()));
    std::filesystem::create_directories(tmp);
    url = (tmp / "registry.db").string();
  }
  registry::RegistryOptions options;
  options.url = url;
  auto db = registry::open_registry(options);
  std::string token =
      db->create_token("bench-" + std::to_string(::getpid()), registry::Scope::kPromote);
  for (int m = 0; m < models; ++m) {
    std::string model = "model" + std::to_string(m) + "-" + std::to_string(::getpid());
    for (int v = 0; v < 3; ++v) {
      std::string bytes = model + "/" + std::to_string(v);
      proto::Manifest manifest{
          {{Sha256::of(bytes), bytes.size(), "application/octet-stream", "w"}}};
      registry::Artifact a{
          manifest.digest().str(),
          std::string(proto::kManifestMediaType),
          manifest.encode(),
          {{Sha256::of(bytes).str(), bytes.size(), "application/octet-stream", "w"}}};
      db->register_version({model, a, std::nullopt, {}}, token);
    }
    db->flip({model, "prod", 2, "bench"}, token);
  }
  std::string path = "/v1/models/model" + std::to_string(models / 2) + "-" +
                     std::to_string(::getpid()) + "/aliases/prod";

  std::printf("registry: %s, %d models, %d requests each, HTTP keep-alive over loopback\n",
              db->describe().c_str(), models, requests);
  for (auto [label, ttl] : {std::pair{"cached", std::chrono::milliseconds(std::chrono::hours(1))},
                            std::pair{"uncached", std::chrono::milliseconds(0)}}) {
    metrics::Registry metrics;
    tracker::AliasResolver resolver(*db, {ttl, false}, metrics);
    http::HttpServer server("tracker", metrics);
    tracker::register_alias_routes(server.routes(), resolver, metrics);
    server.routes().set_tcp_nodelay(nodelay);
    server.bind({"127.0.0.1", 0});
    server.start();
    httplib::Client client("127.0.0.1", server.port());
    client.set_keep_alive(true);
    client.set_tcp_nodelay(nodelay);
    measure(client, path, std::min(requests, 1000));  // warm-up
    report(label, measure(client, path, requests));
    // In-process, without HTTP: what the resolver itself costs.
    std::vector<double> us;
    for (int i = 0; i < requests; ++i) {
      auto t0 = std::chrono::steady_clock::now();
      resolver.resolve("model" + std::to_string(models / 2) + "-" + std::to_string(::getpid()),
                       "prod");
      us.push_back(
          std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count());
    }
    report((std::string(label) + "/fn").c_str(), us);
    server.stop();
  }
  if (!tmp.empty()) std::filesystem::remove_all(tmp);
  return 0;
}
