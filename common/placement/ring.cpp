#include "common/placement/ring.h"

#include <xxhash.h>

#include <algorithm>
#include <numeric>
#include <stdexcept>

namespace fanout::placement {
namespace {

uint64_t member_seed(std::string_view member_id) {
  return XXH64(member_id.data(), member_id.size(), 0);
}

uint64_t score_with_seed(const Digest& digest, uint64_t seed) {
  return XXH64(digest.bytes().data(), digest.bytes().size(), seed);
}

}  // namespace

Ring::Ring(std::vector<std::string> member_ids) : members_(std::move(member_ids)) {
  std::sort(members_.begin(), members_.end());
  for (size_t i = 0; i < members_.size(); ++i) {
    if (members_[i].empty()) throw std::invalid_argument("ring: a member id is empty");
    if (i > 0 && members_[i] == members_[i - 1]) {
      throw std::invalid_argument("ring: member \"" + members_[i] + "\" is listed twice");
    }
  }
  seeds_.reserve(members_.size());
  for (const auto& m : members_) seeds_.push_back(member_seed(m));
}

uint64_t Ring::score(const Digest& digest, std::string_view member_id) {
  return score_with_seed(digest, member_seed(member_id));
}

std::vector<std::string> Ring::owners(const Digest& digest, size_t r) const {
  r = std::min(r, members_.size());
  std::vector<std::pair<uint64_t, size_t>> scored;  // (score, index into members_)
  scored.reserve(members_.size());
  for (size_t i = 0; i < members_.size(); ++i) {
    scored.emplace_back(score_with_seed(digest, seeds_[i]), i);
  }
  // Higher score first; members_ is sorted, so a smaller index is a smaller id.
  auto better = [](const auto& a, const auto& b) {
    return a.first != b.first ? a.first > b.first : a.second < b.second;
  };
  std::partial_sort(scored.begin(), scored.begin() + static_cast<std::ptrdiff_t>(r), scored.end(),
                    better);
  std::vector<std::string> out;
  out.reserve(r);
  for (size_t i = 0; i < r; ++i) out.push_back(members_[scored[i].second]);
  return out;
}

const std::string& Ring::owner(const Digest& digest) const {
  if (members_.empty()) throw std::logic_error("ring: no members");
  size_t best = 0;
  uint64_t best_score = score_with_seed(digest, seeds_[0]);
  for (size_t i = 1; i < members_.size(); ++i) {
    uint64_t s = score_with_seed(digest, seeds_[i]);
    if (s > best_score) {
      best = i;
      best_score = s;
    }
  }
  return members_[best];
}

bool Ring::is_owner(std::string_view member, const Digest& digest, size_t r) const {
  for (const auto& m : owners(digest, r)) {
    if (m == member) return true;
  }
  return false;
}

}  // namespace fanout::placement
