#pragma once
// A tracker, one origin (or a ring of several) over a directory object store and any number of
// agents, each a real process on loopback with ports of its own, all stopped when the Cluster
// goes away.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "common/digest/digest.h"
#include "tests/support/child_process.h"

namespace fanout::test {

class Cluster {
 public:
  // Everything (object store, caches, logs) lives under root, which the caller owns.
  explicit Cluster(std::filesystem::path root);
  // Stops the agents first, then the origin and the tracker.
  ~Cluster();
  Cluster(const Cluster&) = delete;
  Cluster& operator=(const Cluster&) = delete;

  // Starts the tracker and the origin and waits until both answer /healthz.
  ::testing::AssertionResult start_tracker_and_origin();
  // Starts the tracker and `count` origins that form one placement ring (ids "origin-0", ...,
  // `replicas` owners per digest) over the shared object store, and waits until all answer
  // /healthz. The tracker and the agents started afterwards know every origin.
  ::testing::AssertionResult start_tracker_and_origins(int count, uint32_t replicas);
  // Extra flags for the tracker (e.g. {"--registry", path}); call before starting it.
  void set_tracker_args(std::vector<std::string> args) { tracker_args_ = std::move(args); }
  // Extra flags for every origin (e.g. {"--set", "metainfo_signing_key=..."}); call before
  // starting them.
  void set_origin_args(std::vector<std::string> args) { origin_args_ = std::move(args); }
  // Starts `count` more agents and waits until all of them answer /healthz.
  // `extra` flags are appended to every agent's command line.
  ::testing::AssertionResult start_agents(int count, const std::vector<std::string>& extra = {});

  const std::string& tracker_url() const { return tracker_url_; }
  const std::string& origin_url() const { return origin_url_; }
  const std::string& origin_url(size_t i) const { return origins_.at(i).url; }
  size_t origin_count() const { return origins_.size(); }
  // Restarts the single origin of start_tracker_and_origin() on the same address with these
  // extra flags instead of set_origin_args()'s, and waits until it answers /healthz.
  ::testing::AssertionResult restart_origin(std::vector<std::string> args);
  // Stops origin i: SIGTERM and a wait of `grace` before SIGKILL (0: SIGKILL at once).
  void stop_origin(size_t i, std::chrono::milliseconds grace);
  const std::string& agent_url(size_t i) const { return agents_.at(i).url; }
  const std::filesystem::path& agent_cache_dir(size_t i) const { return agents_.at(i).cache_dir; }
  size_t agent_count() const { return agents_.size(); }
  std::filesystem::path origin_cache_dir() const { return root_ / "origin-cache"; }
  std::filesystem::path origin_cache_dir(size_t i) const { return origins_.at(i).cache_dir; }
  std::filesystem::path object_store_dir() const { return root_ / "objects"; }

  // Where the directory object store keeps the object named by digest.
  std::filesystem::path object_path(const Digest& digest) const;
  // Writes `size` random bytes into the object store under their own digest.
  Digest put_random_object(uint64_t size);

  // State and log tail of every process, for failure messages.
  std::string logs(size_t lines_each = 25);

 private:
  struct Node {
    std::string url;
    std::filesystem::path cache_dir;
    std::unique_ptr<ChildProcess> process;
  };
  ::testing::AssertionResult start(Node& node, const std::string& name, const char* binary,
                                   std::vector<std::string> args);
  ::testing::AssertionResult start_single_origin();

  std::filesystem::path root_;
  std::string tracker_url_;
  std::vector<std::string> tracker_args_;
  std::vector<std::string> origin_args_;
  std::string origin_url_;
  Node tracker_;
  // origins_[0] is the single origin of start_tracker_and_origin(), or the first of a ring.
  std::vector<Node> origins_;
  std::vector<Node> agents_;
};

}  // namespace fanout::test
