#include "common/swarm/piece_picker.h"

namespace fanout::swarm {

PiecePicker::PiecePicker(uint32_t pieces, uint64_t seed)
    : have_(pieces, 0),
      availability_(pieces, 0),
      in_flight_(pieces, 0),
      verifying_(pieces, 0),
      priority_(pieces, 0),
      buckets_(1),
      slot_(pieces, kNotPickable),
      bucket_of_(pieces, 0),
      missing_(pieces),
      rng_(seed) {
  for (uint32_t i = 0; i < pieces; ++i) refresh(i);
}

void PiecePicker::set_have(uint32_t piece) {
  if (have_[piece]) return;
  have_[piece] = 1;
  --missing_;
  refresh(piece);
}

void PiecePicker::peer_has(uint32_t piece) {
  ++availability_[piece];
  refresh(piece);
}

void PiecePicker::peer_lost(uint32_t piece) {
  --availability_[piece];
  refresh(piece);
}

void PiecePicker::set_priority(uint32_t piece) {
  if (priority_[piece]) return;
  priority_[piece] = 1;
  priority_list_.push_back(piece);
}

void PiecePicker::set_verifying(uint32_t piece, bool on) {
  verifying_[piece] = on;
  refresh(piece);
}

void PiecePicker::started(uint32_t piece) {
  ++in_flight_[piece];
  refresh(piece);
}

void PiecePicker::stopped(uint32_t piece) {
  --in_flight_[piece];
  refresh(piece);
}

std::optional<uint32_t> PiecePicker::pick_any() {
  if (pickable_ == 0) return std::nullopt;
  auto any = [](uint32_t) { return true; };
  if (!priority_list_.empty()) {
    if (auto piece = pick_priority(any)) return piece;
  }
  for (uint32_t level = 0; level < buckets_.size(); ++level) {
    if (auto piece = first_in_bucket(level, any)) return piece;
  }
  return std::nullopt;
}

void PiecePicker::refresh(uint32_t piece) {
  bool in = slot_[piece] != kNotPickable;
  if (in && (!pickable(piece) || bucket_of_[piece] != availability_[piece])) unlink(piece);
  if (slot_[piece] != kNotPickable || !pickable(piece)) return;
  uint32_t level = availability_[piece];
  if (level >= buckets_.size()) buckets_.resize(level + 1);
  slot_[piece] = static_cast<uint32_t>(buckets_[level].size());
  bucket_of_[piece] = level;
  buckets_[level].push_back(piece);
  ++pickable_;
}

void PiecePicker::unlink(uint32_t piece) {
  auto& bucket = buckets_[bucket_of_[piece]];
  uint32_t at = slot_[piece];
  bucket[at] = bucket.back();
  slot_[bucket[at]] = at;
  bucket.pop_back();
  slot_[piece] = kNotPickable;
  --pickable_;
}

}  // namespace fanout::swarm
