#include "common/swarm/piece_picker.h"

namespace fanout::swarm {

PiecePicker::PiecePicker(uint32_t pieces, uint64_t seed)
    : have_(pieces, 0),
      availability_(pieces, 0),
      in_flight_(pieces, 0),
      verifying_(pieces, 0),
      priority_(pieces, 0),
      missing_(pieces),
      rng_(seed) {}

void PiecePicker::set_have(uint32_t piece) {
  if (have_[piece]) return;
  have_[piece] = 1;
  --missing_;
}

}  // namespace fanout::swarm
