#include "agent/pull_service.h"

#include <algorithm>
#include <fstream>
#include <iterator>
#include <system_error>

#include "common/http/http_error.h"
#include "common/log/log.h"

namespace fanout::agent {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// Finished pulls kept for GET /v1/pulls/{id}; the oldest go first.
constexpr size_t kMaxFinishedPulls = 1000;

bool safe_relative(const std::string& name) {
  if (name.empty() || name.front() == '/') return false;
  for (const auto& part : fs::path(name)) {
    if (part == ".." || part == ".") return false;
  }
  return true;
}

}  // namespace

std::vector<ManifestLayer> parse_manifest(const std::string& text) {
  json doc = json::parse(text, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) {
    throw std::invalid_argument("manifest is not a JSON object");
  }
  if (!doc.contains("layers") || !doc["layers"].is_array()) {
    throw std::invalid_argument("manifest has no \"layers\" list");
  }
  std::vector<ManifestLayer> layers;
  for (const auto& l : doc["layers"]) {
    if (!l.is_object() || !l.contains("digest") || !l["digest"].is_string()) {
      throw std::invalid_argument("manifest layer without a \"digest\"");
    }
    ManifestLayer layer;
    Digest d;
    if (!Digest::try_parse(l["digest"].get<std::string>(), d)) {
      throw std::invalid_argument("manifest layer digest \"" + l["digest"].get<std::string>() +
                                  "\" is malformed");
    }
    layer.digest = d;
    if (l.contains("size") && l["size"].is_number_unsigned()) layer.size = l["size"];
    for (const char* key : {"file_name", "name", "path"}) {
      if (l.contains(key) && l[key].is_string()) {
        layer.file_name = l[key];
        break;
      }
    }
    if (layer.file_name.empty()) layer.file_name = d.hex();
    if (!safe_relative(layer.file_name)) {
      throw std::invalid_argument("manifest file name \"" + layer.file_name +
                                  "\" would leave the model directory");
    }
    layers.push_back(std::move(layer));
  }
  return layers;
}

PullService::PullService(BlobFetcher& fetcher, BlobCache& cache, AgentMetrics& metrics,
                         ResolveFn resolve, fs::path models_dir, fs::path watch_state)
    : fetcher_(fetcher),
      cache_(cache),
      metrics_(metrics),
      resolve_(std::move(resolve)),
      models_dir_(std::move(models_dir)),
      watch_state_(std::move(watch_state)) {
  restore_watch_state();
}

PullService::~PullService() {
  shutdown();
  std::unique_lock lock(mu_);
  changed_.wait(lock, [this] { return running_ == 0; });
}

void PullService::shutdown() {
  stopping_ = true;
  changed_.notify_all();
  if (watcher_.joinable() && watcher_.get_id() != std::this_thread::get_id()) watcher_.join();
}

void PullService::add_routes(httplib::Server& server) {
  server.Post("/v1/pulls", [this](const httplib::Request& req, httplib::Response& res) {
    json body = json::parse(req.body, nullptr, false);
    if (body.is_discarded() || !body.is_object()) {
      throw http::HttpError(400, "invalid_request", "the body is not a JSON object");
    }
    auto text = [&](const char* key) -> std::string {
      if (!body.contains(key)) return "";
      if (!body[key].is_string()) {
        throw http::HttpError(400, "invalid_request", std::string(key) + " must be a string");
      }
      return body[key];
    };
    std::string model = text("model");
    std::string alias = text("alias");
    int64_t version = 0;
    if (body.contains("version")) {
      if (!body["version"].is_number_integer() || body["version"].get<int64_t>() <= 0) {
        throw http::HttpError(400, "invalid_request", "version must be a positive integer");
      }
      version = body["version"];
    }
    if (model.empty()) throw http::HttpError(400, "invalid_request", "model is required");
    if (alias.empty() == (version == 0)) {
      throw http::HttpError(400, "invalid_request", "give exactly one of alias and version");
    }
    bool wait = !body.contains("wait") || body["wait"] == true;
    if (stopping_) throw http::HttpError(503, "shutting_down", "the agent is stopping");
    auto pull = start(model, alias, version);
    if (!wait) {
      res.status = 202;
      res.set_content(json{{"id", pull->id}}.dump(), "application/json");
      return;
    }
    std::unique_lock lock(mu_);
    changed_.wait(lock,
                  [&] { return stopping_ || pull->state == "done" || pull->state == "failed"; });
    json out = describe(*pull);
    lock.unlock();
    res.status = out["state"] == "done" ? 200 : 502;
    if (out["state"] == "failed" && out["error_kind"] == "not_found") res.status = 404;
    if (stopping_ && out["state"] != "done" && out["state"] != "failed") res.status = 503;
    res.set_content(out.dump(), "application/json");
  });
  server.Get(R"(/v1/pulls/([^/]+))", [this](const httplib::Request& req, httplib::Response& res) {
    std::lock_guard lock(mu_);
    auto it = pulls_.find(req.matches[1]);
    if (it == pulls_.end()) {
      throw http::HttpError(404, "pull_not_found", "no pull " + std::string(req.matches[1]));
    }
    res.set_content(describe(*it->second).dump(), "application/json");
  });
}

std::shared_ptr<PullService::Pull> PullService::start(const std::string& model,
                                                      const std::string& alias, int64_t version,
                                                      bool keep_pins) {
  auto pull = std::make_shared<Pull>();
  pull->keep_pins = keep_pins;
  pull->model = model;
  pull->alias = alias;
  pull->version = version;
  {
    std::lock_guard lock(mu_);
    pull->id = "p" + std::to_string(next_id_++);
    if (pulls_.size() >= kMaxFinishedPulls) {
      for (auto it = pulls_.begin(); it != pulls_.end(); ++it) {
        if (it->second->state == "done" || it->second->state == "failed") {
          pulls_.erase(it);
          break;
        }
      }
    }
    pulls_[pull->id] = pull;
    ++running_;
  }
  metrics_.pulls.inc();
  metrics_.pulls_in_flight.add(1);
  std::thread([this, pull] { run(pull); }).detach();
  return pull;
}

nlohmann::json PullService::pull_now(const std::string& model, const std::string& alias,
                                     int64_t version) {
  auto pull = start(model, alias, version);
  std::unique_lock lock(mu_);
  changed_.wait(lock, [&] { return pull->state == "done" || pull->state == "failed"; });
  return describe(*pull);
}

void PullService::run(std::shared_ptr<Pull> pull) {
  std::string error, kind;
  try {
    ResolvedVersion resolved = resolve_(pull->model, pull->alias, pull->version);
    auto manifest_pin = cache_.pin(resolved.manifest);
    fs::path manifest_path = fetcher_.get(resolved.manifest);
    std::string text;
    {
      std::ifstream in(manifest_path, std::ios::binary);
      text.assign(std::istreambuf_iterator<char>(in), {});
    }
    auto layers = parse_manifest(text);
    std::vector<std::unique_ptr<cache::CachePin>> pins;
    pins.push_back(std::move(manifest_pin));
    for (const auto& l : layers) pins.push_back(cache_.pin(l.digest));
    {
      std::lock_guard lock(mu_);
      pull->version = resolved.version;
      pull->manifest = resolved.manifest;
      pull->layers = layers;
      pull->state = "fetching";
    }
    changed_.notify_all();
    // Every missing layer is fetched at once (the swarm spreads them over peers); a layer listed
    // twice, or shared with another pull, is one fetch.
    std::vector<std::shared_future<fs::path>> flights;
    for (const auto& l : layers) {
      flights.push_back(fetcher_.cas().contains(l.digest) ? std::shared_future<fs::path>{}
                                                          : fetcher_.begin(l.digest));
    }
    std::vector<fs::path> paths;
    for (size_t i = 0; i < layers.size(); ++i) {
      paths.push_back(flights[i].valid() ? fetcher_.wait(layers[i].digest, flights[i])
                                         : fetcher_.get(layers[i].digest));
      std::lock_guard lock(mu_);
      pull->layers_done = i + 1;
      changed_.notify_all();
    }
    {
      std::lock_guard lock(mu_);
      pull->paths = paths;
      pull->pins = std::move(pins);
    }
    fs::path dir = materialise(*pull);
    std::lock_guard lock(mu_);
    pull->directory = dir;
    pull->state = "done";
    if (!pull->keep_pins) pull->pins.clear();
  } catch (const ResolveNotFound& e) {
    error = e.what();
    kind = "not_found";
  } catch (const FetchError& e) {
    error = e.what();
    kind = e.kind() == FetchError::Kind::kNotFound ? "not_found" : "fetch_failed";
  } catch (const std::exception& e) {
    error = e.what();
    kind = "pull_failed";
  }
  {
    std::lock_guard lock(mu_);
    if (!error.empty()) {
      pull->state = "failed";
      pull->error = kind + ": " + error;
      pull->pins.clear();
    }
    --running_;
  }
  if (!error.empty()) {
    metrics_.pull_failures.inc();
    spdlog::warn("pull {} of {}@{} failed: {}", pull->id, pull->model,
                 pull->alias.empty() ? std::to_string(pull->version) : pull->alias, error);
  } else {
    spdlog::info("pull {}: {} version {} ready in {}", pull->id, pull->model, pull->version,
                 pull->directory.string());
  }
  metrics_.pulls_in_flight.add(-1);
  changed_.notify_all();
}

fs::path PullService::materialise(const Pull& pull) {
  // Built beside the final name and renamed into place, so a reader never sees half a directory.
  fs::path dir = models_dir_ / pull.model / std::to_string(pull.version);
  if (fs::exists(dir)) return dir;
  fs::path tmp = dir.string() + ".tmp-" + pull.id;
  fs::remove_all(tmp);
  fs::create_directories(tmp);
  for (size_t i = 0; i < pull.layers.size(); ++i) {
    fs::path link = tmp / pull.layers[i].file_name;
    fs::create_directories(link.parent_path());
    std::error_code ec;
    fs::create_hard_link(pull.paths[i], link, ec);
    if (ec) fs::copy_file(pull.paths[i], link, fs::copy_options::overwrite_existing);
  }
  std::error_code ec;
  fs::rename(tmp, dir, ec);
  if (ec) {
    fs::remove_all(tmp);
    if (!fs::exists(dir)) throw std::system_error(ec, "materialising " + dir.string());
  }
  return dir;
}

nlohmann::json PullService::describe(const Pull& pull) const {
  json j{{"id", pull.id},
         {"model", pull.model},
         {"state", pull.state},
         {"layers_total", pull.layers.size()},
         {"layers_done", pull.layers_done}};
  if (!pull.alias.empty()) j["alias"] = pull.alias;
  if (pull.version) j["version"] = pull.version;
  if (pull.manifest) j["manifest"] = pull.manifest->str();
  if (!pull.error.empty()) {
    j["error"] = pull.error;
    j["error_kind"] = pull.error.substr(0, pull.error.find(':'));
  }
  if (pull.state == "done") {
    j["directory"] = pull.directory.string();
    json layers = json::array();
    for (size_t i = 0; i < pull.layers.size(); ++i) {
      layers.push_back({{"digest", pull.layers[i].digest.str()},
                        {"file_name", pull.layers[i].file_name},
                        {"path", pull.paths[i].string()}});
    }
    j["layers"] = layers;
  }
  return j;
}

void PullService::watch(std::vector<std::string> aliases, std::chrono::milliseconds interval) {
  {
    // Aliases no longer watched (the config changed across a restart) let go of their pins.
    std::lock_guard lock(mu_);
    std::erase_if(watched_, [&](const auto& entry) {
      return std::find(aliases.begin(), aliases.end(), entry.first) == aliases.end();
    });
    save_watch_state_locked();
  }
  if (aliases.empty()) return;
  watcher_ = std::thread(
      [this, aliases = std::move(aliases), interval] { watch_loop(aliases, interval); });
}

void PullService::watch_loop(std::vector<std::string> aliases, std::chrono::milliseconds interval) {
  while (!stopping_) {
    for (const auto& w : aliases) {
      if (stopping_) break;
      auto at = w.find('@');
      std::string model = w.substr(0, at), alias = w.substr(at + 1);
      try {
        ResolvedVersion now = resolve_(model, alias, 0);
        {
          std::lock_guard lock(mu_);
          auto& watched = watched_[w];
          if (watched.current && watched.current->manifest == now.manifest) continue;
        }
        spdlog::info("watch {}: pulling version {}", w, now.version);
        auto pull = start(model, "", now.version, /*keep_pins=*/true);
        std::unique_lock lock(mu_);
        changed_.wait(
            lock, [&] { return stopping_ || pull->state == "done" || pull->state == "failed"; });
        if (pull->state != "done") continue;  // retried next round
        auto& watched = watched_[w];
        // The version before the current one loses its pins; the current becomes the rollback.
        // (No current: a restart found it incomplete, so the previous one stays the rollback.)
        if (watched.current) {
          if (watched.previous && watched.previous != watched.current) {
            watched.previous->pins.clear();
          }
          watched.previous = watched.current;
        }
        watched.current = pull;
        save_watch_state_locked();
      } catch (const std::exception& e) {
        spdlog::warn("watch {}: {}", w, e.what());
      }
    }
    std::unique_lock lock(mu_);
    changed_.wait_for(lock, interval, [this] { return stopping_.load(); });
  }
}

std::pair<int64_t, int64_t> PullService::watched_versions(const std::string& alias) const {
  std::lock_guard lock(mu_);
  auto it = watched_.find(alias);
  if (it == watched_.end()) return {0, 0};
  return {it->second.current ? it->second.current->version : 0,
          it->second.previous ? it->second.previous->version : 0};
}

void PullService::save_watch_state_locked() const {
  if (watch_state_.empty()) return;
  json state = json::object();
  auto entry = [](const std::shared_ptr<Pull>& p) -> json {
    if (!p || !p->manifest) return nullptr;
    return {{"version", p->version}, {"manifest", p->manifest->str()}};
  };
  for (const auto& [alias, w] : watched_) {
    state[alias] = {{"current", entry(w.current)}, {"previous", entry(w.previous)}};
  }
  // Temp file and rename: a crash leaves the old state or the new one, never half of one.
  fs::path tmp = watch_state_.string() + ".tmp";
  try {
    {
      std::ofstream out(tmp, std::ios::trunc);
      out << state.dump(2) << "\n";
      if (!out.flush()) throw std::runtime_error("write failed");
    }
    fs::rename(tmp, watch_state_);
  } catch (const std::exception& e) {
    // The pins hold in memory; only a restart would lose them.
    spdlog::warn("saving watch state to {}: {}", watch_state_.string(), e.what());
  }
}

std::shared_ptr<PullService::Pull> PullService::restore_pull(const std::string& model,
                                                             int64_t version,
                                                             const Digest& manifest,
                                                             bool complete) {
  if (!fetcher_.cas().contains(manifest)) return nullptr;
  auto pull = std::make_shared<Pull>();
  pull->id = "restored";
  pull->model = model;
  pull->version = version;
  pull->manifest = manifest;
  pull->state = "done";
  pull->keep_pins = true;
  pull->pins.push_back(cache_.pin(manifest));
  std::string text;
  {
    std::ifstream in(fetcher_.cas().path_of(manifest), std::ios::binary);
    text.assign(std::istreambuf_iterator<char>(in), {});
  }
  pull->layers = parse_manifest(text);
  for (const auto& l : pull->layers) {
    if (complete && !fetcher_.cas().contains(l.digest)) return nullptr;  // pull it again
    pull->pins.push_back(cache_.pin(l.digest));
    pull->paths.push_back(fetcher_.cas().path_of(l.digest));
  }
  pull->layers_done = pull->layers.size();
  pull->directory = models_dir_ / model / std::to_string(version);
  return pull;
}

void PullService::restore_watch_state() {
  if (watch_state_.empty() || !fs::exists(watch_state_)) return;
  std::ifstream in(watch_state_);
  json state = json::parse(in, nullptr, false);
  if (state.is_discarded() || !state.is_object()) {
    spdlog::warn("ignoring unreadable watch state {}", watch_state_.string());
    return;
  }
  std::lock_guard lock(mu_);
  for (const auto& [alias, entry] : state.items()) {
    auto at = alias.find('@');
    if (at == std::string::npos || !entry.is_object()) continue;
    auto restore = [&](const char* key, bool complete) -> std::shared_ptr<Pull> {
      const json& e = entry.value(key, json());
      Digest manifest;
      if (!e.is_object() || !e.contains("version") || !e["version"].is_number_integer() ||
          !Digest::try_parse(e.value("manifest", ""), manifest)) {
        return nullptr;
      }
      try {
        return restore_pull(alias.substr(0, at), e["version"], manifest, complete);
      } catch (const std::exception& ex) {
        spdlog::warn("watch state {}: {}: {}", alias, key, ex.what());
        return nullptr;
      }
    };
    Watched w;
    // A current version with a layer missing is left to the watch loop to pull again; the
    // previous one pins whatever of it is still here.
    w.current = restore("current", true);
    w.previous = restore("previous", false);
    if (!w.current && !w.previous) continue;
    spdlog::info("watch {}: pinned version {} (current) and {} (previous) from {}", alias,
                 w.current ? w.current->version : 0, w.previous ? w.previous->version : 0,
                 watch_state_.string());
    watched_[alias] = std::move(w);
  }
}

}  // namespace fanout::agent
