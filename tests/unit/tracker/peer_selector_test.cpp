#include "tracker/peer_selector.h"

#include <gtest/gtest.h>

#include <deque>
#include <map>
#include <set>

namespace fanout::tracker {
namespace {

struct Node {
  std::string zone, rack;
  bool seeder = false;
  bool origin = false;
};

std::vector<SelectionCandidate> candidates_of(const std::vector<Node>& nodes) {
  std::vector<SelectionCandidate> out;
  for (const auto& n : nodes) out.push_back({n.zone, n.rack, n.seeder, n.origin});
  return out;
}

std::map<LocalityClass, int> count_classes(const std::vector<Selection>& s) {
  std::map<LocalityClass, int> out;
  for (const auto& x : s) ++out[x.locality];
  return out;
}

// 3 zones x 4 racks x `per_rack` agents.
std::vector<Node> fleet(int per_rack) {
  std::vector<Node> nodes;
  for (int z = 0; z < 3; ++z) {
    for (int r = 0; r < 4; ++r) {
      for (int i = 0; i < per_rack; ++i) {
        nodes.push_back({"z" + std::to_string(z), "r" + std::to_string(r)});
      }
    }
  }
  return nodes;
}

TEST(PeerSelectorTest, PrefersSameRackThenSameZoneAndKeepsOutsideShares) {
  PeerSelector selector(
      {.origins_until_seeders = 0, .outside_rack_share = 0.25, .outside_zone_share = 0.125});
  auto nodes = fleet(10);  // 120 agents; the requester's rack has 10
  auto c = candidates_of(nodes);
  PeerSelector::Random rng(1);
  auto s = selector.select(c, {"z0", "r0"}, false, 16, rng);
  ASSERT_EQ(s.size(), 16u);
  auto classes = count_classes(s);
  // 16 slots: 4 kept outside the rack, so 10 rack peers are all taken... up to 12 allowed.
  EXPECT_EQ(classes[LocalityClass::kSameRack], 10);
  // 6 left: 1 kept outside the zone (ceil(6/8)), 5 from the zone.
  EXPECT_EQ(classes[LocalityClass::kSameZone], 5);
  EXPECT_EQ(classes[LocalityClass::kOther], 1);
  // Ordered rack, zone, other, each classified correctly.
  for (size_t i = 0; i < s.size(); ++i) {
    const Node& n = nodes[s[i].index];
    if (i < 10) {
      EXPECT_EQ(n.zone + n.rack, "z0r0");
    } else if (i < 15) {
      EXPECT_EQ(n.zone, "z0");
      EXPECT_NE(n.rack, "r0");
    } else {
      EXPECT_NE(n.zone, "z0");
    }
  }
}

TEST(PeerSelectorTest, ALargeRackStillLeavesRoomForOtherRacks) {
  PeerSelector selector({.origins_until_seeders = 0});
  auto nodes = fleet(100);  // racks far larger than num_want
  auto c = candidates_of(nodes);
  PeerSelector::Random rng(2);
  auto classes = count_classes(selector.select(c, {"z1", "r2"}, false, 40, rng));
  EXPECT_EQ(classes[LocalityClass::kSameRack], 30);  // 40 - ceil(40 * 0.25)
  EXPECT_EQ(classes[LocalityClass::kSameZone], 8);   // 10 - ceil(10 * 0.125)
  EXPECT_EQ(classes[LocalityClass::kOther], 2);
}

TEST(PeerSelectorTest, ShortGroupsAreBackFilledFromNearerPeers) {
  PeerSelector selector({.origins_until_seeders = 0});
  std::vector<Node> nodes(30, Node{"z0", "r0"});  // everybody in one rack
  auto c = candidates_of(nodes);
  PeerSelector::Random rng(3);
  auto s = selector.select(c, {"z0", "r0"}, false, 20, rng);
  EXPECT_EQ(s.size(), 20u);
  EXPECT_EQ(count_classes(s)[LocalityClass::kSameRack], 20);
}

TEST(PeerSelectorTest, UnlabelledRequesterGetsAUniformSample) {
  PeerSelector selector({.origins_until_seeders = 0});
  auto nodes = fleet(5);
  auto c = candidates_of(nodes);
  PeerSelector::Random rng(4);
  std::map<size_t, int> hits;
  for (int round = 0; round < 3000; ++round) {
    auto s = selector.select(c, {}, false, 6, rng);
    ASSERT_EQ(s.size(), 6u);
    std::set<size_t> distinct;
    for (const auto& x : s) {
      EXPECT_EQ(x.locality, LocalityClass::kOther);
      distinct.insert(x.index);
      ++hits[x.index];
    }
    EXPECT_EQ(distinct.size(), 6u);
  }
  ASSERT_EQ(hits.size(), nodes.size());
  for (const auto& [index, n] : hits) EXPECT_NEAR(n, 3000 * 6 / 60, 60) << index;
}

TEST(PeerSelectorTest, NumWantIsCapped) {
  PeerSelector selector({.origins_until_seeders = 0, .max_num_want = 7});
  auto c = candidates_of(fleet(10));
  PeerSelector::Random rng(5);
  EXPECT_EQ(selector.select(c, {"z0", "r0"}, false, 1000000, rng).size(), 7u);
  EXPECT_TRUE(selector.select(c, {"z0", "r0"}, false, 0, rng).empty());
  EXPECT_TRUE(selector.select({}, {"z0", "r0"}, false, 10, rng).empty());
}

TEST(PeerSelectorTest, OriginsAreOfferedUntilEnoughAgentsSeed) {
  PeerSelector selector({.origins_until_seeders = 3, .max_origins = 2});
  auto nodes = fleet(10);
  nodes.push_back({"z2", "o", true, true});
  nodes.push_back({"z2", "o", true, true});
  nodes.push_back({"z2", "o", true, true});
  PeerSelector::Random rng(6);
  auto s = selector.select(candidates_of(nodes), {"z0", "r0"}, false, 10, rng);
  ASSERT_EQ(s.size(), 10u);
  EXPECT_EQ(count_classes(s)[LocalityClass::kOrigin], 2);
  EXPECT_EQ(s[0].locality, LocalityClass::kOrigin);
  EXPECT_TRUE(nodes[s[0].index].origin);

  // Three agents now hold the whole blob: origins are no longer handed out.
  for (int i = 0; i < 3; ++i) nodes[static_cast<size_t>(i) * 7].seeder = true;
  s = selector.select(candidates_of(nodes), {"z0", "r0"}, false, 200, rng);
  EXPECT_EQ(count_classes(s)[LocalityClass::kOrigin], 0);
  EXPECT_EQ(s.size(), 120u);
}

TEST(PeerSelectorTest, SeedersAreNotSentToSeeders) {
  PeerSelector selector;
  auto nodes = fleet(2);
  for (size_t i = 0; i < nodes.size(); i += 2) nodes[i].seeder = true;
  nodes.push_back({"z0", "o", true, true});
  PeerSelector::Random rng(7);
  auto s = selector.select(candidates_of(nodes), {"z0", "r0"}, true, 100, rng);
  EXPECT_EQ(s.size(), 12u);
  for (const auto& x : s) EXPECT_FALSE(nodes[x.index].seeder);
}

TEST(PeerSelectorTest, SameSeedSameAnswer) {
  PeerSelector selector;
  auto c = candidates_of(fleet(10));
  PeerSelector::Random a(42), b(42);
  EXPECT_EQ(selector.select(c, {"z1", "r1"}, false, 20, a),
            selector.select(c, {"z1", "r1"}, false, 20, b));
}

// Builds the swarm graph the way a rollout does (Kraken issue #162): nodes arrive one by one,
// each gets num_want peers from those already there and dials them, and later announces add
// more edges. Racks are larger than num_want, so a rack-only policy would make islands.
// Connectivity is checked with a BFS over the undirected graph.
size_t reachable_from_first(size_t n, const std::vector<std::set<size_t>>& edges) {
  std::vector<bool> seen(n, false);
  std::deque<size_t> queue{0};
  seen[0] = true;
  size_t count = 1;
  while (!queue.empty()) {
    size_t v = queue.front();
    queue.pop_front();
    for (size_t w : edges[v]) {
      if (!seen[w]) {
        seen[w] = true;
        ++count;
        queue.push_back(w);
      }
    }
  }
  return count;
}

TEST(PeerSelectorTest, ARolloutOf480NodesFormsOneConnectedSwarm) {
  PeerSelector selector;
  constexpr int kNumWant = 8;  // small on purpose: far below the rack size of 40
  std::vector<Node> nodes;
  nodes.push_back({"z0", "origin", true, true});
  for (int i = 0; i < 480; ++i) {
    nodes.push_back({"z" + std::to_string(i % 3), "r" + std::to_string((i / 3) % 4)});
  }
  std::vector<std::set<size_t>> edges(nodes.size());
  PeerSelector::Random rng(2024);
  auto link = [&](size_t a, size_t b) {
    edges[a].insert(b);
    edges[b].insert(a);
  };
  // Arrival: node v sees only nodes 0..v-1.
  for (size_t v = 1; v < nodes.size(); ++v) {
    std::vector<SelectionCandidate> c;
    for (size_t u = 0; u < v; ++u) {
      c.push_back({nodes[u].zone, nodes[u].rack, nodes[u].seeder, nodes[u].origin});
    }
    for (const auto& s : selector.select(c, {nodes[v].zone, nodes[v].rack}, false, kNumWant, rng)) {
      link(v, s.index);
    }
  }
  EXPECT_EQ(reachable_from_first(nodes.size(), edges), nodes.size());

  // Without the origin and arrival order, a single re-announce round over the full swarm
  // (what a steady-state swarm looks like) must be connected on its own too.
  std::vector<std::set<size_t>> steady(nodes.size());
  auto all = candidates_of(nodes);
  for (size_t v = 1; v < nodes.size(); ++v) {
    std::vector<SelectionCandidate> others;
    std::vector<size_t> index;
    for (size_t u = 1; u < nodes.size(); ++u) {
      if (u == v) continue;
      others.push_back(all[u]);
      index.push_back(u);
    }
    for (const auto& s :
         selector.select(others, {nodes[v].zone, nodes[v].rack}, false, kNumWant, rng)) {
      steady[v].insert(index[s.index]);
      steady[index[s.index]].insert(v);
    }
  }
  steady[0].insert(1);  // the origin is not part of this round; hang it on node 1
  steady[1].insert(0);
  EXPECT_EQ(reachable_from_first(nodes.size(), steady), nodes.size());
}

TEST(PeerSelectorTest, RackOnlySelectionWouldMakeIslands) {
  // The control for the test above: with no outside shares, racks of 40 and num_want 8 split
  // the swarm, which is exactly what the shares exist to prevent.
  PeerSelector selector(
      {.origins_until_seeders = 0, .outside_rack_share = 0, .outside_zone_share = 0});
  std::vector<Node> nodes;
  for (int i = 0; i < 480; ++i) {
    nodes.push_back({"z" + std::to_string(i % 3), "r" + std::to_string((i / 3) % 4)});
  }
  auto all = candidates_of(nodes);
  std::vector<std::set<size_t>> edges(nodes.size());
  PeerSelector::Random rng(1);
  for (size_t v = 0; v < nodes.size(); ++v) {
    std::vector<SelectionCandidate> others;
    std::vector<size_t> index;
    for (size_t u = 0; u < nodes.size(); ++u) {
      if (u != v) {
        others.push_back(all[u]);
        index.push_back(u);
      }
    }
    for (const auto& s : selector.select(others, {nodes[v].zone, nodes[v].rack}, false, 8, rng)) {
      edges[v].insert(index[s.index]);
      edges[index[s.index]].insert(v);
    }
  }
  EXPECT_LT(reachable_from_first(nodes.size(), edges), nodes.size());
}

}  // namespace
}  // namespace fanout::tracker
