#pragma once
// The engine's fallback when the swarm makes no progress: ranged HTTP GETs of
// {origin}/v1/blobs/{digest} ("Range: bytes=a-b"). The engine verifies every piece it gets from
// here, so an origin serving wrong bytes costs a retry, never a corrupt blob.
#include <chrono>
#include <string>
#include <vector>

#include "common/placement/ring.h"
#include "common/swarm/engine.h"
#include "proto/metainfo.h"
#include "proto/metainfo_signature.h"

namespace fanout::agent {

class OriginRangeSource : public swarm::RangeSource {
 public:
  // origins: base URLs ("http://host:port"). Each read asks them in the rendezvous order of the
  // digest (its owning origin first: the one most likely to hold the blob already).
  explicit OriginRangeSource(std::vector<std::string> origins,
                             std::chrono::milliseconds timeout = std::chrono::seconds(30));

  // Fills exactly `length` bytes at `offset`, or throws std::runtime_error naming every origin
  // tried and why it failed.
  void read(const Digest& digest, uint64_t offset, uint32_t length, uint8_t* out) override;

  // The blob's metainfo straight from an origin ({origin}/v1/blobs/{digest}/metainfo), for when
  // the tracker cannot be reached. The origin built it from bytes it verified, as it does for the
  // tracker, and with its signature when it signs (the caller checks it, as for the tracker's).
  // Throws std::runtime_error naming every origin tried.
  proto::MetainfoWithSignature metainfo(const Digest& digest);

 private:
  placement::Ring ring_;
  std::chrono::milliseconds timeout_;
};

}  // namespace fanout::agent
