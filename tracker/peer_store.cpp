#include "tracker/peer_store.h"

namespace fanout::tracker {

SwarmCounts PeerStore::announce_and_select(const PeerAnnounce& a, const SelectionRequest& request,
                                           SelectedPeers& out) {
  SwarmCounts counts = announce(a);
  if (a.event == proto::AnnounceEvent::kStopped || request.num_want == 0 || !request.selector) {
    return counts;
  }
  std::vector<StoredPeer> stored = candidates(a.info_hash, a.peer_id, request.candidate_pool);
  std::vector<SelectionCandidate> candidates;
  candidates.reserve(stored.size());
  for (const auto& p : stored) {
    candidates.push_back({p.locality.zone, p.locality.rack, p.seeder, p.origin});
  }
  auto chosen = request.selector->select(candidates, a.locality, request.requester_is_seeder,
                                         request.num_want, *request.random);
  for (const auto& c : chosen) {
    const StoredPeer& p = stored[c.index];
    out.peers.push_back(
        proto::AnnouncePeer{p.ip, p.port, request.want_peer_ids ? p.peer_id : std::string()});
    ++out.by_class[static_cast<size_t>(c.locality)];
  }
  return counts;
}

}  // namespace fanout::tracker
