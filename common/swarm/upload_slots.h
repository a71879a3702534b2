#pragma once
// Upload slots: how many requesters a node serves at once, one piece per turn.
//
// Every new piece is the rarest piece there is, so the moment its holder announces it, each
// neighbour with a free fetch slot asks the holder for it. Served all at once, N requesters
// share the holder's link and all finish after N piece-times; only then can any of them pass the
// piece on. Served a few at a time, the first copies land after one piece-time and start
// spreading while the rest wait their turn (the same reason BitTorrent unchokes only 4 peers).
// A slot is held for one piece; with others waiting, the holder goes to the back of the line.
#include <cstddef>
#include <cstdint>
#include <deque>
#include <unordered_set>
#include <vector>

namespace fanout::swarm {

class UploadSlots {
 public:
  using Key = uint64_t;  // one per connection

  // slots == 0: everyone is served at once.
  explicit UploadSlots(uint32_t slots) : slots_(slots) {}

  // True when `key` holds a slot (already, or now); otherwise it waits in line (once).
  bool acquire(Key key);
  // `key` has nothing more to send, or went away: gives up its slot or its place in line.
  // Returns the keys that got a slot as a result, to resume serving them.
  std::vector<Key> release(Key key);
  // `key` finished a piece: with others in line it goes to the back and the first moves up.
  // Returns the keys that got a slot; `key` keeps its slot when no one waits.
  std::vector<Key> rotate(Key key);

  bool holds(Key key) const { return holders_.count(key) > 0; }
  size_t waiting() const { return line_.size(); }

 private:
  std::vector<Key> grant();

  uint32_t slots_;
  std::unordered_set<Key> holders_;
  std::deque<Key> line_;
};

}  // namespace fanout::swarm
