#include "tests/integration/cluster.h"

#include <fstream>

#include "tests/support/bin_dir.h"
#include "tests/support/ports.h"
#include "tests/support/random_blob.h"

namespace fanout::test {
namespace {

std::string loopback(uint16_t port) {
  return "127.0.0.1:" + std::to_string(port);
}

}  // namespace

Cluster::Cluster(std::filesystem::path root) : root_(std::move(root)) {
  std::filesystem::create_directories(object_store_dir());
  tracker_.url = "http://" + loopback(free_port());
  tracker_url_ = tracker_.url;
  origins_.emplace_back().url = "http://" + loopback(free_port());
  origin_url_ = origins_[0].url;
}

Cluster::~Cluster() {
  for (auto it = agents_.rbegin(); it != agents_.rend(); ++it) it->process.reset();
  for (auto& origin : origins_) origin.process.reset();
  tracker_.process.reset();
}

void Cluster::stop_origin(size_t i, std::chrono::milliseconds grace) {
  Node& node = origins_.at(i);
  if (node.process) node.process->stop(grace);
}

::testing::AssertionResult Cluster::start(Node& node, const std::string& name, const char* binary,
                                          std::vector<std::string> args) {
  args.insert(args.end(), {"--log-level", "info"});
  try {
    node.process =
        std::make_unique<ChildProcess>(name, bin(binary), args, root_ / "logs" / (name + ".log"));
  } catch (const std::exception& e) {
    return ::testing::AssertionFailure() << "cannot start " << name << ": " << e.what();
  }
  return node.process->wait_healthy(node.url);
}

::testing::AssertionResult Cluster::start_tracker_and_origin() {
  // Both ports are known before either starts, so each can be told where the other is.
  std::vector<std::string> tracker_args{"--listen", tracker_url_.substr(7), "--origin",
                                        origin_url_};
  tracker_args.insert(tracker_args.end(), tracker_args_.begin(), tracker_args_.end());
  auto tracker = start(tracker_, "tracker", "fanout-tracker", tracker_args);
  if (!tracker) return tracker;
  return start_single_origin();
}

::testing::AssertionResult Cluster::restart_origin(std::vector<std::string> args) {
  stop_origin(0, std::chrono::seconds(5));
  origin_args_ = std::move(args);
  return start_single_origin();
}

::testing::AssertionResult Cluster::start_single_origin() {
  Node& origin = origins_[0];
  origin.cache_dir = origin_cache_dir();
  std::vector<std::string> origin_args{"--listen",           origin_url_.substr(7),
                                       "--peer-listen",      loopback(free_port()),
                                       "--advertise-host",   "127.0.0.1",
                                       "--tracker",          tracker_url_,
                                       "--object-store-dir", object_store_dir().string(),
                                       "--cache-dir",        origin.cache_dir.string()};
  origin_args.insert(origin_args.end(), origin_args_.begin(), origin_args_.end());
  return start(origin, "origin", "fanout-origin", origin_args);
}

::testing::AssertionResult Cluster::start_tracker_and_origins(int count, uint32_t replicas) {
  while (origins_.size() < static_cast<size_t>(count)) {
    origins_.emplace_back().url = "http://" + loopback(free_port());
  }
  std::vector<std::string> tracker_args{"--listen", tracker_url_.substr(7)};
  for (const auto& origin : origins_)
    tracker_args.insert(tracker_args.end(), {"--origin", origin.url});
  tracker_args.insert(tracker_args.end(), tracker_args_.begin(), tracker_args_.end());
  auto tracker = start(tracker_, "tracker", "fanout-tracker", tracker_args);
  if (!tracker) return tracker;

  // Every origin gets the same ring; only cluster.self differs.
  std::string ring = "cluster:\n  replicas: " + std::to_string(replicas) + "\n  origins:\n";
  for (size_t i = 0; i < origins_.size(); ++i) {
    ring += "    - {id: origin-" + std::to_string(i) + ", url: \"" + origins_[i].url + "\"}\n";
  }
  for (size_t i = 0; i < origins_.size(); ++i) {
    std::string name = "origin-" + std::to_string(i);
    Node& origin = origins_[i];
    origin.cache_dir = root_ / (name + "-cache");
    auto config = root_ / (name + ".yaml");
    std::ofstream(config) << ring << "  self: " << name << "\n";
    std::vector<std::string> args{"--config",           config.string(),
                                  "--listen",           origin.url.substr(7),
                                  "--peer-listen",      loopback(free_port()),
                                  "--advertise-host",   "127.0.0.1",
                                  "--tracker",          tracker_url_,
                                  "--object-store-dir", object_store_dir().string(),
                                  "--cache-dir",        origin.cache_dir.string()};
    args.insert(args.end(), origin_args_.begin(), origin_args_.end());
    auto started = start(origin, name, "fanout-origin", args);
    if (!started) return started;
  }
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult Cluster::start_agents(int count, const std::vector<std::string>& extra) {
  for (int i = 0; i < count; ++i) {
    size_t index = agents_.size();
    Node& node = agents_.emplace_back();
    node.url = "http://" + loopback(free_port());
    node.cache_dir = root_ / ("agent-" + std::to_string(index) + "-cache");
    std::vector<std::string> args{"--listen",         node.url.substr(7),
                                  "--peer-listen",    loopback(free_port()),
                                  "--advertise-host", "127.0.0.1",
                                  "--tracker",        tracker_url_,
                                  "--cache-dir",      node.cache_dir.string()};
    // The HTTP fallback goes to this cluster's origins, not the built-in default address.
    for (const auto& origin : origins_) args.insert(args.end(), {"--origin", origin.url});
    args.insert(args.end(), extra.begin(), extra.end());
    auto started = start(node, "agent-" + std::to_string(index), "fanout-agent", args);
    if (!started) return started;
  }
  return ::testing::AssertionSuccess();
}

std::filesystem::path Cluster::object_path(const Digest& digest) const {
  return object_store_dir() / "blobs" / "sha256" / digest.hex();
}

Digest Cluster::put_random_object(uint64_t size) {
  // Written beside the store and renamed in, so the origin never sees half an object.
  auto staging = root_ / "staging.tmp";
  Digest digest = write_random_file(staging, size);
  std::filesystem::create_directories(object_path(digest).parent_path());
  std::filesystem::rename(staging, object_path(digest));
  return digest;
}

std::string Cluster::logs(size_t lines_each) {
  std::string out;
  auto add = [&](Node& node) {
    if (!node.process) return;
    out += "\n===== " + node.process->describe() + "\n      " + node.process->command() + "\n" +
           node.process->log_tail(lines_each);
  };
  add(tracker_);
  for (auto& origin : origins_) add(origin);
  for (auto& agent : agents_) add(agent);
  return out;
}

}  // namespace fanout::test
