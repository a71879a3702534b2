#pragma once
// Copies each blob this origin fetched (from the object store or an upload) to the other owners
// of its digest: they are told to prefetch it *from this origin*, so all R owners seed one swarm
// while the object store is read once. Best effort: an owner that misses the message pulls the
// blob itself on its first request, as before.
#include <condition_variable>
#include <deque>
#include <mutex>
#include <stop_token>
#include <thread>

#include "common/digest/digest.h"
#include "common/placement/ring.h"
#include "origin/config.h"

namespace fanout::origin {

class Replicator {
 public:
  // Does nothing when the ring is empty or has one owner per digest.
  explicit Replicator(ClusterConfig cluster);
  ~Replicator();  // drops what is still queued
  Replicator(const Replicator&) = delete;
  Replicator& operator=(const Replicator&) = delete;

  // Queues POST {owner}/v1/blobs/{digest}/prefetch?from={self} to every other owner; returns at
  // once.
  void replicate(const Digest& digest);

 private:
  void run(std::stop_token stop);
  void tell_owners(const Digest& digest);

  ClusterConfig cluster_;
  placement::Ring ring_;
  std::mutex mu_;
  std::condition_variable_any cv_;
  std::deque<Digest> queue_;
  std::jthread worker_;  // last: started after everything it uses
};

}  // namespace fanout::origin
