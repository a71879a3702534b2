#include "common/swarm/hot_pieces.h"

namespace fanout::swarm {

void HotPieces::put(uint32_t piece, BufferPtr data) {
  if (!data) return;
  size_t size = data->size();
  if (size > capacity_) return;
  if (auto it = index_.find(piece); it != index_.end()) {
    bytes_ -= it->second->data->size();
    lru_.erase(it->second);
    index_.erase(it);
  }
  while (bytes_ + size > capacity_ && !lru_.empty()) {
    bytes_ -= lru_.back().data->size();
    index_.erase(lru_.back().piece);
    lru_.pop_back();
  }
  lru_.push_front({piece, std::move(data)});
  index_[piece] = lru_.begin();
  bytes_ += size;
}

BufferPtr HotPieces::get(uint32_t piece) {
  auto it = index_.find(piece);
  if (it == index_.end()) return nullptr;
  lru_.splice(lru_.begin(), lru_, it->second);
  return it->second->data;
}

void HotPieces::clear() {
  lru_.clear();
  index_.clear();
  bytes_ = 0;
}

}  // namespace fanout::swarm
