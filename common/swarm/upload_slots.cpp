#include "common/swarm/upload_slots.h"

#include <algorithm>

namespace fanout::swarm {

bool UploadSlots::acquire(Key key) {
  if (holders_.count(key)) return true;
  if (std::find(line_.begin(), line_.end(), key) != line_.end()) return false;
  if (slots_ == 0 || (line_.empty() && holders_.size() < slots_)) {
    holders_.insert(key);
    return true;
  }
  line_.push_back(key);
  return false;
}

std::vector<UploadSlots::Key> UploadSlots::release(Key key) {
  holders_.erase(key);
  line_.erase(std::remove(line_.begin(), line_.end(), key), line_.end());
  return grant();
}

std::vector<UploadSlots::Key> UploadSlots::rotate(Key key) {
  if (!holders_.count(key) || line_.empty()) return {};
  holders_.erase(key);
  line_.push_back(key);
  return grant();
}

std::vector<UploadSlots::Key> UploadSlots::grant() {
  std::vector<Key> granted;
  while (!line_.empty() && (slots_ == 0 || holders_.size() < slots_)) {
    holders_.insert(line_.front());
    granted.push_back(line_.front());
    line_.pop_front();
  }
  return granted;
}

}  // namespace fanout::swarm
