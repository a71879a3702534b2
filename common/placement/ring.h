#pragma once
// Rendezvous (highest-random-weight) hashing: which members of a set own a blob. Every member
// scores every digest with xxHash64; a digest's owners are the members with the highest scores.
// Adding or removing a member only moves the digests that member wins or loses (about 1/n of
// them), and every process that knows the same member list computes the same owners without
// talking to anyone. Used for digest -> origins and digest -> tracker.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/digest/digest.h"

namespace fanout::placement {

class Ring {
 public:
  // member_ids: any distinct, non-empty strings (host:port, a URL, a pod name); their order does
  // not matter. Throws std::invalid_argument on an empty or duplicate id. An empty ring is
  // allowed and owns nothing.
  explicit Ring(std::vector<std::string> member_ids);

  // The min(r, size()) members with the highest scores for `digest`, best first. Ties (never
  // seen in practice with 64-bit scores) go to the smaller id, so the order is total.
  std::vector<std::string> owners(const Digest& digest, size_t r) const;
  // The best owner; throws std::logic_error on an empty ring.
  const std::string& owner(const Digest& digest) const;
  // Whether `member` is among the r owners of `digest`.
  bool is_owner(std::string_view member, const Digest& digest, size_t r) const;

  // The score of one member for one digest: xxHash64 of the digest's 32 bytes, seeded with
  // xxHash64 of the member id. Exposed so tests and tools can explain a placement.
  static uint64_t score(const Digest& digest, std::string_view member_id);

  const std::vector<std::string>& members() const { return members_; }
  size_t size() const { return members_.size(); }
  bool empty() const { return members_.empty(); }

 private:
  std::vector<std::string> members_;  // sorted
  std::vector<uint64_t> seeds_;       // xxHash64(member id), parallel to members_
};

}  // namespace fanout::placement
