#pragma once
// What every BlobSwarm shares with the engine that owns it (internal to common/swarm/).
#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>

#include <atomic>
#include <memory>
#include <string>

#include "common/swarm/engine.h"
#include "common/swarm/token_bucket.h"
#include "proto/peer_wire.h"

namespace fanout::swarm {

struct EngineContext {
  boost::asio::io_context& io;
  boost::asio::thread_pool& disk;      // piece hashing, disk writes, commits
  boost::asio::thread_pool& reads;     // disk reads of blocks being uploaded (zero-copy)
  boost::asio::thread_pool& announcer; // blocking tracker calls
  const Settings& settings;
  std::shared_ptr<PeerDiscovery> discovery;
  EngineMetrics& metrics;
  proto::wire::PeerId peer_id{};
  std::atomic<uint16_t> listen_port{0};
  std::atomic<uint32_t> connections{0};
  TokenBucket ingress{settings.ingress_bytes_per_sec};
  TokenBucket egress{settings.egress_bytes_per_sec};
  std::shared_ptr<RangeSource> fallback{};  // may be null; set after construction
};

}  // namespace fanout::swarm
