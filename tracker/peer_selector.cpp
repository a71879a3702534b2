#include "tracker/peer_selector.h"

#include <algorithm>
#include <array>
#include <cmath>

namespace fanout::tracker {
namespace {

// Moves up to `count` random members of `group` (a partial Fisher-Yates shuffle) into `out`.
void take_random(std::vector<size_t>& group, size_t count, LocalityClass locality,
                 PeerSelector::Random& random, std::vector<Selection>& out) {
  count = std::min(count, group.size());
  for (size_t i = 0; i < count; ++i) {
    size_t j = std::uniform_int_distribution<size_t>(i, group.size() - 1)(random);
    std::swap(group[i], group[j]);
    out.push_back({group[i], locality});
  }
  group.erase(group.begin(), group.begin() + static_cast<std::ptrdiff_t>(count));
}

size_t share_of(size_t slots, double share) {
  if (slots == 0 || share <= 0) return 0;
  return std::min(slots, static_cast<size_t>(std::ceil(static_cast<double>(slots) * share)));
}

}  // namespace

std::string_view locality_class_name(LocalityClass c) {
  switch (c) {
    case LocalityClass::kSameRack:
      return "same_rack";
    case LocalityClass::kSameZone:
      return "same_zone";
    case LocalityClass::kOther:
      return "other";
    case LocalityClass::kOrigin:
      return "origin";
  }
  return "other";
}

LocalityClass PeerSelector::classify(const SelectionCandidate& c, const Locality& requester) const {
  if (c.origin) return LocalityClass::kOrigin;
  if (requester.zone.empty() || c.zone != requester.zone) return LocalityClass::kOther;
  if (!requester.rack.empty() && c.rack == requester.rack) return LocalityClass::kSameRack;
  return LocalityClass::kSameZone;
}

std::vector<Selection> PeerSelector::select(std::span<const SelectionCandidate> candidates,
                                            const Locality& requester, bool requester_is_seeder,
                                            uint32_t num_want, Random& random) const {
  std::vector<Selection> out;
  size_t slots = std::min(num_want, policy_.max_num_want);
  if (slots == 0 || candidates.empty()) return out;

  std::array<std::vector<size_t>, kLocalityClassCount> groups;
  uint32_t agent_seeders = 0;
  for (size_t i = 0; i < candidates.size(); ++i) {
    const SelectionCandidate& c = candidates[i];
    if (c.seeder && !c.origin) ++agent_seeders;
    if (requester_is_seeder && (c.seeder || c.origin)) continue;
    groups[static_cast<size_t>(classify(c, requester))].push_back(i);
  }
  auto& origins = groups[static_cast<size_t>(LocalityClass::kOrigin)];
  auto& rack = groups[static_cast<size_t>(LocalityClass::kSameRack)];
  auto& zone = groups[static_cast<size_t>(LocalityClass::kSameZone)];
  auto& other = groups[static_cast<size_t>(LocalityClass::kOther)];
  out.reserve(std::min(slots, candidates.size()));

  if (agent_seeders < policy_.origins_until_seeders) {
    take_random(origins, std::min<size_t>(policy_.max_origins, slots), LocalityClass::kOrigin,
                random, out);
  }
  size_t left = slots - out.size();
  // Keep the outside shares only as far as there are peers to fill them.
  size_t keep_outside_rack =
      std::min(share_of(left, policy_.outside_rack_share), zone.size() + other.size());
  take_random(rack, left - keep_outside_rack, LocalityClass::kSameRack, random, out);
  left = slots - out.size();
  size_t keep_outside_zone = std::min(share_of(left, policy_.outside_zone_share), other.size());
  take_random(zone, left - keep_outside_zone, LocalityClass::kSameZone, random, out);
  take_random(other, slots - out.size(), LocalityClass::kOther, random, out);
  // Only reachable when a group ran short: give the slots back to nearer peers.
  take_random(rack, slots - out.size(), LocalityClass::kSameRack, random, out);
  take_random(zone, slots - out.size(), LocalityClass::kSameZone, random, out);
  // Back-filled peers joined last: restore the documented order (random within each class).
  auto rank = [](const Selection& s) {
    return s.locality == LocalityClass::kOrigin ? 0 : static_cast<int>(s.locality) + 1;
  };
  std::stable_sort(out.begin(), out.end(),
                   [&](const Selection& a, const Selection& b) { return rank(a) < rank(b); });
  return out;
}

}  // namespace fanout::tracker
