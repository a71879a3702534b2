#pragma once
// Who a peer is told to talk to: the tracker's peer-selection policy, in one class with no I/O so
// the tracker and the simulator (bench/) run the same code. Input: the swarm's candidate peers
// with their locality labels and seeder/origin flags, the requester's labels and num_want.
// Output: which candidates to hand out, each with its locality class.
//
// Policy: peers in the requester's rack first, then its zone, then the rest, drawn at random
// within each group, so the swarm is a well-connected random graph with short local edges rather
// than a chain. A share of every answer is kept for peers outside the requester's rack and
// outside its zone: without it a rack larger than num_want would only ever see itself and
// become an island (Kraken issue #162). Origins are offered while few agents hold the whole
// blob, and dropped once enough agents seed, so origins serve about one copy.
#include <cstddef>
#include <cstdint>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace fanout::tracker {

// Where a node sits, as its announce says (`zone=`, `rack=`). Empty = unknown. A rack is named
// within its zone: rack "r1" of zone "a" and rack "r1" of zone "b" are different racks.
struct Locality {
  std::string zone;
  std::string rack;
  friend bool operator==(const Locality&, const Locality&) = default;
};

enum class LocalityClass : uint8_t { kSameRack = 0, kSameZone = 1, kOther = 2, kOrigin = 3 };
inline constexpr size_t kLocalityClassCount = 4;
std::string_view locality_class_name(LocalityClass c);  // "same_rack", "same_zone", ...

struct SelectionCandidate {
  std::string_view zone;
  std::string_view rack;
  bool seeder = false;  // has the whole blob
  bool origin = false;  // an origin (announced with origin=1)
};

struct SelectionPolicy {
  // Origins are offered while fewer than this many non-origin peers have the whole blob.
  uint32_t origins_until_seeders = 3;
  // At most this many origins in one answer (they come out of num_want).
  uint32_t max_origins = 2;
  // Cap on any answer, whatever num_want asks.
  uint32_t max_num_want = 200;
  // Shares of an answer kept for peers outside the requester's rack, and outside its zone, when
  // such peers exist. Rounded up, so any answer of one peer or more keeps at least one slot.
  double outside_rack_share = 0.25;
  double outside_zone_share = 0.125;
};

struct Selection {
  size_t index = 0;  // into the candidates given to select()
  LocalityClass locality = LocalityClass::kOther;
  friend bool operator==(const Selection&, const Selection&) = default;
};

class PeerSelector {
 public:
  // The random source is passed per call so callers on many threads each use their own, and the
  // simulator can replay a run from a seed.
  using Random = std::mt19937_64;

  explicit PeerSelector(SelectionPolicy policy = {}) : policy_(policy) {}

  // Chooses up to min(num_want, max_num_want) of `candidates` for a requester at `requester`.
  // The requester itself must not be among the candidates. A seeder requester is given no other
  // seeders (neither can use the other). Result order: origins, same rack, same zone, others.
  std::vector<Selection> select(std::span<const SelectionCandidate> candidates,
                                const Locality& requester, bool requester_is_seeder,
                                uint32_t num_want, Random& random) const;

  LocalityClass classify(const SelectionCandidate& candidate, const Locality& requester) const;
  const SelectionPolicy& policy() const { return policy_; }

 private:
  SelectionPolicy policy_;
};

}  // namespace fanout::tracker
