#include "bench/sim/simulator.h"

#include <algorithm>
#include <cmath>
#include <deque>
#include <memory>
#include <numeric>
#include <optional>
#include <random>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include "common/swarm/peer_rate.h"
#include "common/swarm/piece_picker.h"
#include "common/swarm/reveal_policy.h"
#include "proto/metainfo.h"

namespace fanout::sim {
namespace {

constexpr uint32_t kNone = UINT32_MAX;

struct Request {
  uint32_t piece;
  double done;   // bytes received so far
  double asked;  // when it was requested
};

// One direction of a connection: `from` uploads to `to`, serving `to`'s requests in order.
struct Link {
  uint32_t from = kNone, to = kNone;
  std::deque<Request> queue;
  bool starved = false;   // the last fill found nothing to ask for
  bool has_slot = false;  // holds one of the uploader's upload slots
  double rate = 0;
  swarm::PieceRate piece_rate;  // how fast its pieces arrived (the engine's Peer::rate)
};

struct Conn {
  uint32_t a = kNone, b = kNone;  // a dialed b
  bool open = true;
  Link to_a, to_b;  // b -> a, a -> b
  // When one end is an origin: what it revealed to the agent.
  std::vector<uint8_t> revealed;
  Link& into(uint32_t node) { return node == a ? to_a : to_b; }
  uint32_t other(uint32_t node) const { return node == a ? b : a; }
};

struct Node {
  bool origin = false;
  bool started = false, announced = false, complete = false;
  double start_at = 0;
  double next_announce = 0;
  double up = 0, down = 0;
  tracker::Locality locality;
  std::unique_ptr<swarm::PiecePicker> picker;      // agents
  std::unordered_map<uint32_t, uint32_t> conn_to;  // peer -> open conn
  std::vector<uint32_t> known;                     // peers the tracker handed out
  std::unordered_set<uint32_t> known_set;
  std::unordered_map<uint32_t, double> retry_after;
  uint32_t outgoing = 0;
  uint32_t in_flight = 0;  // requests queued on all links from agents into this node
  uint64_t sent = 0;
  // Origins: the engine's super-seeding policy, keyed by connection.
  std::unique_ptr<swarm::RevealPolicy> reveals;
  // Upload slots (upload_slots > 0): links served now and links waiting.
  uint32_t serving = 0;
  std::deque<std::pair<uint32_t, bool>> slot_waiters;  // (conn, into a?)

  bool known_to_tracker() const { return origin || announced; }
};

class Simulation {
 public:
  explicit Simulation(const SimConfig& c) : c_(c), rng_(c.seed), selector_(c.selection) {
    piece_bytes_ = c.piece_bytes ? c.piece_bytes : proto::Metainfo::piece_length_for(c.size_bytes);
    pieces_ = static_cast<uint32_t>((c.size_bytes + piece_bytes_ - 1) / piece_bytes_);
    double fastest = std::max(c.node_down_bytes_per_sec, c.node_up_bytes_per_sec);
    tick_ = c.tick_sec > 0 ? c.tick_sec : double(piece_bytes_) / fastest / 8;
    double single = double(c.size_bytes) / std::min(c.node_down_bytes_per_sec, origin_up());
    limit_ = c.time_limit_sec > 0 ? c.time_limit_sec : 100 * single + 60;

    uint32_t racks = std::max(1u, c.zones) * std::max(1u, c.racks_per_zone);
    std::uniform_real_distribution<double> spread(0, c.start_spread_sec);
    for (uint32_t i = 0; i < c.origins; ++i) {
      Node& o = nodes_.emplace_back();
      o.origin = o.started = o.complete = true;
      o.up = origin_up();
      o.reveals =
          std::make_unique<swarm::RevealPolicy>(pieces_, c.reveal_slots, c.reveal_pieces, rng_());
    }
    for (uint32_t i = 0; i < c.nodes; ++i) {
      Node& n = nodes_.emplace_back();
      n.up = c.node_up_bytes_per_sec;
      n.down = c.node_down_bytes_per_sec;
      n.picker = std::make_unique<swarm::PiecePicker>(pieces_, rng_());
      n.start_at = c.start_spread_sec > 0 ? spread(rng_) : 0;
      n.next_announce = n.start_at + c.startup_sec;
      uint32_t rack = i % racks;
      if (c.zones > 1 || c.racks_per_zone > 1) {
        n.locality.zone = "z" + std::to_string(rack / std::max(1u, c.racks_per_zone));
        n.locality.rack = "r" + std::to_string(rack % std::max(1u, c.racks_per_zone));
      }
    }
    result_.completion_sec.assign(c.nodes, -1);
    result_.piece_bytes = piece_bytes_;
    result_.pieces = pieces_;
    result_.tick_sec = tick_;
  }

  SimResult run() {
    double next_sample = 0;
    double sample_every = std::max(tick_, double(c_.size_bytes) / c_.node_down_bytes_per_sec / 40);
    for (now_ = 0; completed_ < c_.nodes && now_ < limit_; now_ += tick_) {
      for (uint32_t i = c_.origins; i < nodes_.size(); ++i) {
        Node& n = nodes_[i];
        if (!n.started && now_ >= n.start_at) n.started = true;
        if (n.started && !n.complete && now_ >= n.next_announce) announce(i);
      }
      allocate_rates();
      for (size_t k = 0; k < conns_.size(); ++k) {
        if (!conns_[k].open) continue;
        advance(static_cast<uint32_t>(k), true);
        if (conns_[k].open) advance(static_cast<uint32_t>(k), false);
      }
      if (now_ >= next_sample) {
        sample_graph();
        next_sample = now_ + sample_every;
      }
    }
    result_.unfinished = c_.nodes - completed_;
    result_.simulated_sec = now_;
    for (uint32_t i = 0; i < c_.origins; ++i) result_.origin_bytes_sent += nodes_[i].sent;
    for (uint32_t i = c_.origins; i < nodes_.size(); ++i) {
      result_.peer_bytes_sent += nodes_[i].sent;
    }
    return std::move(result_);
  }

 private:
  double origin_up() const {
    return c_.origin_up_bytes_per_sec > 0 ? c_.origin_up_bytes_per_sec : c_.node_up_bytes_per_sec;
  }
  uint32_t piece_size(uint32_t piece) const {
    uint64_t offset = uint64_t{piece} * piece_bytes_;
    return static_cast<uint32_t>(std::min<uint64_t>(piece_bytes_, c_.size_bytes - offset));
  }
  bool node_has(uint32_t node, uint32_t piece) const {
    const Node& n = nodes_[node];
    return n.origin || n.complete || n.picker->have(piece);
  }

  // ---- tracker ----------------------------------------------------------------------------

  void announce(uint32_t id) {
    Node& n = nodes_[id];
    n.announced = true;
    // The PeerStore's candidates: every live peer when few, else a random sample plus origins.
    std::vector<uint32_t> pool;
    for (uint32_t i = 0; i < nodes_.size(); ++i) {
      if (i != id && nodes_[i].known_to_tracker()) pool.push_back(i);
    }
    if (pool.size() > c_.candidate_pool) {
      std::vector<uint32_t> sample;
      std::vector<uint32_t> agents;
      for (uint32_t i : pool) (nodes_[i].origin ? sample : agents).push_back(i);
      for (size_t i = 0; i < c_.candidate_pool && i < agents.size(); ++i) {
        size_t j = std::uniform_int_distribution<size_t>(i, agents.size() - 1)(rng_);
        std::swap(agents[i], agents[j]);
        sample.push_back(agents[i]);
      }
      pool = std::move(sample);
    }
    std::vector<tracker::SelectionCandidate> candidates;
    candidates.reserve(pool.size());
    for (uint32_t i : pool) {
      const Node& p = nodes_[i];
      candidates.push_back({p.locality.zone, p.locality.rack, p.complete, p.origin});
    }
    auto chosen = selector_.select(candidates, n.locality, n.complete, c_.num_want, rng_);
    for (const auto& s : chosen) {
      uint32_t peer = pool[s.index];
      if (n.known_set.insert(peer).second) n.known.push_back(peer);
    }
    maybe_connect(id);
    bool starved = n.conn_to.empty();
    n.next_announce =
        now_ + (starved ? c_.starved_announce_interval_sec : c_.announce_interval_sec);
  }

  // ---- connections ------------------------------------------------------------------------

  void maybe_connect(uint32_t id) {
    Node& n = nodes_[id];
    if (n.complete) return;  // seeders wait for leechers to come to them
    std::vector<uint32_t> candidates;
    for (uint32_t peer : n.known) {
      if (n.conn_to.count(peer)) continue;
      auto it = n.retry_after.find(peer);
      if (it != n.retry_after.end() && it->second > now_) continue;
      candidates.push_back(peer);
    }
    std::shuffle(candidates.begin(), candidates.end(), rng_);
    for (uint32_t peer : candidates) {
      if (n.outgoing >= c_.peers_per_node) break;
      if (n.conn_to.size() >= c_.max_connections) break;
      if (nodes_[peer].conn_to.size() >= c_.max_connections) {
        n.retry_after[peer] = now_ + c_.peer_backoff_sec;  // ERROR busy
        continue;
      }
      open(id, peer);
    }
  }

  void open(uint32_t a, uint32_t b) {
    uint32_t k = static_cast<uint32_t>(conns_.size());
    Conn& c = conns_.emplace_back();
    c.a = a;
    c.b = b;
    c.to_a.from = b, c.to_a.to = a;
    c.to_b.from = a, c.to_b.to = b;
    nodes_[a].conn_to[b] = k;
    nodes_[b].conn_to[a] = k;
    ++nodes_[a].outgoing;
    result_.max_connections_per_node =
        std::max<double>(result_.max_connections_per_node,
                         double(std::max(nodes_[a].conn_to.size(), nodes_[b].conn_to.size())));
    // HELLO both ways: bitfields (an origin shows nothing and reveals instead).
    for (uint32_t self : {a, b}) {
      uint32_t peer = c.other(self);
      Node& s = nodes_[self];
      if (s.origin) {
        for (uint32_t i = 0; i < pieces_; ++i) {
          if (node_has(peer, i)) s.reveals->holder_added(k, i);
        }
        s.reveals->add_peer(k);
      } else if (!s.complete && !nodes_[peer].origin) {
        for (uint32_t i = 0; i < pieces_; ++i) {
          if (node_has(peer, i)) s.picker->peer_has(i);
        }
      }
    }
    for (uint32_t self : {a, b}) {
      if (nodes_[self].origin) reveal(self, k);
    }
    fill(a, k);
    fill(b, k);
  }

  void close(uint32_t k) {
    Conn& c = conns_[k];
    if (!c.open) return;
    c.open = false;
    nodes_[c.a].conn_to.erase(c.b);
    nodes_[c.b].conn_to.erase(c.a);
    --nodes_[c.a].outgoing;
    for (uint32_t self : {c.a, c.b}) {
      uint32_t peer = c.other(self);
      Node& s = nodes_[self];
      Link& in = c.into(self);
      for (const auto& r : in.queue) {
        if (!s.complete) s.picker->stopped(r.piece);
      }
      if (!nodes_[peer].origin) s.in_flight -= static_cast<uint32_t>(in.queue.size());
      in.queue.clear();
      release_slot(in);
      if (s.origin) {
        for (uint32_t i = 0; i < pieces_; ++i) {
          if (node_has(peer, i)) s.reveals->holder_removed(i);
        }
        s.reveals->remove_peer(k);
      } else if (!s.complete && !nodes_[peer].origin) {
        for (uint32_t i = 0; i < pieces_; ++i) {
          if (node_has(peer, i)) s.picker->peer_lost(i);
        }
      }
    }
    for (uint32_t self : {c.a, c.b}) {
      if (nodes_[self].origin) reveal_granted(self);
      if (!nodes_[self].complete) {
        fill_all(self);  // pieces this link was fetching are free again
        maybe_connect(self);
      }
    }
  }

  // ---- fetching (BlobSwarm::fill_requests) ------------------------------------------------

  void fill(uint32_t self, uint32_t k) {
    Node& s = nodes_[self];
    Conn& c = conns_[k];
    if (s.origin || s.complete || !c.open) return;
    Link& in = c.into(self);
    uint32_t from = in.from;
    bool from_origin = nodes_[from].origin;
    auto peer_has = [&](uint32_t i) {
      return from_origin ? c.revealed[i] != 0 : node_has(from, i);
    };
    auto fetching = [&](uint32_t i) {
      return std::any_of(in.queue.begin(), in.queue.end(),
                         [i](const Request& r) { return r.piece == i; });
    };
    if (from_origin && c.revealed.empty()) return;
    bool was_idle = in.queue.empty();
    // Requests to origins are outside the cap, as in the engine.
    while (in.queue.size() < c_.pipeline_pieces &&
           (from_origin || c_.max_pieces_in_flight == 0 || s.in_flight < c_.max_pieces_in_flight)) {
      ++result_.picks;
      auto piece = s.picker->pick(peer_has, from_origin);
      if (!piece) {
        ++result_.picks;
        piece = s.picker->pick_endgame(peer_has, fetching, from_origin);
      }
      if (!piece) {
        in.starved = true;
        break;
      }
      in.starved = false;
      s.picker->started(*piece);
      in.queue.push_back({*piece, 0, now_});  // the tick's start: never after its completion
      if (!from_origin) ++s.in_flight;
    }
    if (was_idle && !in.queue.empty()) take_slot(k, self == c.a);
  }

  // Every link, fastest first (BlobSwarm::fill_all, swarm/peer_rate.h).
  void fill_all(uint32_t self) {
    std::vector<uint32_t> ks;
    std::vector<double> ranks;
    for (auto& [peer, k] : nodes_[self].conn_to) {
      ks.push_back(k);
      ranks.push_back(conns_[k].into(self).piece_rate.rank(now_in_tick_, c_.peer_rate_trust_sec));
    }
    for (size_t i : swarm::fastest_first(ranks, rng_)) {
      if (conns_[ks[i]].into(self).queue.size() < c_.pipeline_pieces) fill(self, ks[i]);
    }
  }

  // A HAVE (or an origin's reveal) of `piece` reached `self` over connection k.
  void on_have(uint32_t self, uint32_t k, uint32_t piece) {
    Node& s = nodes_[self];
    if (s.complete) return;
    Link& in = conns_[k].into(self);
    if (in.queue.size() >= c_.pipeline_pieces) return;
    // A starved link only gains the announced piece: skip the scan when it cannot be picked.
    if (in.starved && s.picker->have(piece)) return;
    fill(self, k);
  }

  void piece_done(uint32_t self, uint32_t k, uint32_t piece) {
    Node& s = nodes_[self];
    s.picker->stopped(piece);
    if (s.picker->have(piece)) return;  // an endgame duplicate lost the race
    s.picker->set_have(piece);
    // Cancel the other copies of this piece (endgame duplicates).
    for (auto& [peer, other] : s.conn_to) {
      if (other == k) continue;
      Link& in = conns_[other].into(self);
      for (auto it = in.queue.begin(); it != in.queue.end(); ++it) {
        if (it->piece != piece) continue;
        in.queue.erase(it);
        if (!nodes_[peer].origin) --s.in_flight;
        s.picker->stopped(piece);
        if (in.queue.empty()) release_slot(in);
        break;
      }
    }
    // HAVE to every connected peer.
    std::vector<std::pair<uint32_t, uint32_t>> peers(s.conn_to.begin(), s.conn_to.end());
    for (auto [peer, pk] : peers) {
      Node& p = nodes_[peer];
      if (p.origin) {
        if (p.reveals->holder_added(pk, piece)) reveal(peer, pk);
        reveal_granted(peer);
      } else if (!p.complete) {
        p.picker->peer_has(piece);
        on_have(peer, pk, piece);
      }
    }
    if (s.picker->complete()) return complete(self);
    // The free place goes to the fastest link, not back to this one (BlobSwarm::piece_received).
    fill_all(self);
  }

  void complete(uint32_t self) {
    Node& s = nodes_[self];
    s.complete = true;
    ++completed_;
    result_.completion_sec[self - c_.origins] = now_in_tick_;
    // The tracker counts it as a seeder at once (BlobSwarm announces "completed" immediately).
    // Connections to origins and to other complete peers carry nothing any more.
    std::vector<uint32_t> drop;
    for (auto& [peer, k] : s.conn_to) {
      if (nodes_[peer].origin || nodes_[peer].complete) drop.push_back(k);
    }
    for (uint32_t k : drop) close(k);
    // Links into this node are now empty; release their slots.
    for (auto& [peer, k] : s.conn_to) release_slot(conns_[k].into(self));
  }

  // ---- origins (BlobSwarm::reveal) --------------------------------------------------------

  void reveal(uint32_t origin, uint32_t k) {
    Node& o = nodes_[origin];
    Conn& c = conns_[k];
    uint32_t agent = c.other(origin);
    if (!c.open || nodes_[agent].complete) return;
    if (c.revealed.empty()) c.revealed.assign(pieces_, 0);
    auto shown = o.reveals->next(k, [&](uint32_t i) { return node_has(agent, i); });
    for (uint32_t piece : shown) {
      c.revealed[piece] = 1;
      on_have(agent, k, piece);
      if (!c.open) return;
    }
    reveal_granted(origin);
  }

  // Agents whose turn came (a slot freed): show them their pieces.
  void reveal_granted(uint32_t origin) {
    for (uint32_t k : nodes_[origin].reveals->take_granted()) reveal(origin, k);
  }

  // ---- bandwidth --------------------------------------------------------------------------

  void take_slot(uint32_t k, bool into_a) {
    Link& l = into_a ? conns_[k].to_a : conns_[k].to_b;
    Node& u = nodes_[l.from];
    if (c_.upload_slots == 0 || u.serving < c_.upload_slots) {
      l.has_slot = true;
      ++u.serving;
    } else {
      u.slot_waiters.emplace_back(k, into_a);
    }
  }

  void release_slot(Link& l) {
    if (!l.has_slot) return;
    l.has_slot = false;
    Node& u = nodes_[l.from];
    --u.serving;
    while (!u.slot_waiters.empty()) {
      auto [k, into_a] = u.slot_waiters.front();
      u.slot_waiters.pop_front();
      Link& w = into_a ? conns_[k].to_a : conns_[k].to_b;
      if (!conns_[k].open || w.queue.empty() || w.has_slot) continue;
      w.has_slot = true;
      ++u.serving;
      break;
    }
  }

  // Approximate max-min fair shares: each active link starts at the smallest of its uploader's
  // and its downloader's equal share, and of the equal share of either end's disk where that can
  // bind (node_disk_bytes_per_sec: an agent's disk writes what it receives and reads back what it
  // uploads, so all its links share it, in and out; origins seed from storage of their own);
  // spare capacity is handed out in two more rounds the same way.
  void allocate_rates() {
    size_t n = nodes_.size();
    up_spare_.assign(n, 0);
    down_spare_.assign(n, 0);
    disk_spare_.assign(n, 0);
    up_count_.assign(n, 0);
    down_count_.assign(n, 0);
    disk_count_.assign(n, 0);
    double disk = c_.node_disk_bytes_per_sec;
    bool disks = disk > 0;
    // A disk that takes in + out at line rate never binds: such a node runs as with no disk.
    disk_binds_.assign(n, 0);
    for (size_t i = 0; i < n; ++i) {
      disk_binds_[i] = disks && !nodes_[i].origin && disk < nodes_[i].up + nodes_[i].down;
    }
    active_.clear();
    for (auto& c : conns_) {
      if (!c.open) continue;
      for (Link* l : {&c.to_a, &c.to_b}) {
        l->rate = 0;
        if (l->queue.empty() || !l->has_slot) continue;
        active_.push_back(l);
        ++up_count_[l->from];
        ++down_count_[l->to];
        if (disks) ++disk_count_[l->from], ++disk_count_[l->to];
      }
    }
    auto spare_all = [&] {
      for (size_t i = 0; i < n; ++i) {
        up_spare_[i] = nodes_[i].up, down_spare_[i] = nodes_[i].down, disk_spare_[i] = disk;
      }
    };
    spare_all();
    for (int round = 0; round < 3; ++round) {
      for (Link* l : active_) {
        double add = std::min(up_spare_[l->from] / up_count_[l->from],
                              down_spare_[l->to] / down_count_[l->to]);
        for (uint32_t end : {l->from, l->to}) {
          if (disks && disk_binds_[end]) add = std::min(add, disk_spare_[end] / disk_count_[end]);
        }
        l->rate += add;
      }
      spare_all();
      for (Link* l : active_) {
        up_spare_[l->from] -= l->rate;
        down_spare_[l->to] -= l->rate;
        if (disks) disk_spare_[l->from] -= l->rate, disk_spare_[l->to] -= l->rate;
      }
      for (size_t i = 0; i < n; ++i) {
        up_spare_[i] = std::max(0.0, up_spare_[i]);
        down_spare_[i] = std::max(0.0, down_spare_[i]);
        disk_spare_[i] = std::max(0.0, disk_spare_[i]);
      }
    }
    // One machine: its cores move every byte; its disk takes every byte an agent receives
    // (written) and every byte an agent uploads (read back). What origins read is theirs.
    double host_scale = 1;
    double total = 0, host_disk = 0;
    for (Link* l : active_) {
      total += l->rate;
      host_disk += nodes_[l->from].origin ? l->rate : 2 * l->rate;
    }
    if (c_.host_bytes_per_sec > 0 && total > c_.host_bytes_per_sec) {
      host_scale = c_.host_bytes_per_sec / total;
    }
    if (c_.host_disk_bytes_per_sec > 0 && host_disk > c_.host_disk_bytes_per_sec) {
      host_scale = std::min(host_scale, c_.host_disk_bytes_per_sec / host_disk);
    }
    if (host_scale < 1) {
      for (Link* l : active_) l->rate *= host_scale;
    }
  }

  void advance(uint32_t k, bool into_a) {
    Link& l = into_a ? conns_[k].to_a : conns_[k].to_b;
    if (l.rate <= 0 || l.queue.empty()) return;
    double budget = l.rate * tick_;
    double spent = 0;
    Node& u = nodes_[l.from];
    while (budget > 0 && !l.queue.empty() && conns_[k].open && l.has_slot) {
      Request& r = l.queue.front();
      double need = piece_size(r.piece) - r.done;
      if (budget < need) {
        r.done += budget;
        u.sent += static_cast<uint64_t>(budget);
        break;
      }
      budget -= need;
      spent += need;
      u.sent += static_cast<uint64_t>(need);
      uint32_t piece = r.piece;
      double asked = r.asked;
      l.queue.pop_front();
      if (!u.origin) --nodes_[l.to].in_flight;
      // A slot is held for one piece: with others waiting, the link goes to the back of the line.
      if (l.queue.empty()) {
        release_slot(l);
      } else if (!u.slot_waiters.empty()) {
        release_slot(l);
        take_slot(k, into_a);
      }
      now_in_tick_ = now_ + spent / l.rate;
      l.piece_rate.sample(piece_size(piece), now_in_tick_ - asked, now_in_tick_,
                          c_.peer_rate_trust_sec);
      piece_done(l.to, k, piece);
    }
  }

  // ---- the peer graph ---------------------------------------------------------------------

  void sample_graph() {
    std::vector<uint32_t> parent(nodes_.size());
    std::iota(parent.begin(), parent.end(), 0);
    auto find = [&](uint32_t x) {
      while (parent[x] != x) x = parent[x] = parent[parent[x]];
      return x;
    };
    for (const auto& c : conns_) {
      if (c.open) parent[find(c.a)] = find(c.b);
    }
    std::unordered_set<uint32_t> roots;
    // An island: a component with a downloading node that holds no full copy among its members.
    std::unordered_map<uint32_t, std::vector<uint8_t>> pieces_of;
    std::unordered_set<uint32_t> has_copy, downloading;
    for (uint32_t i = 0; i < nodes_.size(); ++i) {
      const Node& n = nodes_[i];
      if (!n.announced && !n.origin) continue;
      if (n.complete && n.conn_to.empty()) continue;  // done and idle: not part of the rollout
      uint32_t root = find(i);
      roots.insert(root);
      if (n.complete) {
        has_copy.insert(root);
        continue;
      }
      downloading.insert(root);
      auto& bits = pieces_of[root];
      if (bits.empty()) bits.assign(pieces_, 0);
      for (uint32_t p = 0; p < pieces_; ++p) bits[p] |= n.picker->have(p) ? 1 : 0;
    }
    if (downloading.empty()) return;
    ++result_.graph_samples;
    uint32_t components = static_cast<uint32_t>(roots.size());
    result_.max_components = std::max(result_.max_components, components);
    if (components > 1) result_.graph_connected = false;
    uint32_t islands = 0;
    for (uint32_t root : downloading) {
      if (has_copy.count(root)) continue;
      const auto& bits = pieces_of[root];
      if (std::find(bits.begin(), bits.end(), 0) != bits.end()) ++islands;
    }
    result_.max_islands = std::max(result_.max_islands, islands);
  }

  const SimConfig& c_;
  std::mt19937_64 rng_;
  tracker::PeerSelector selector_;
  uint32_t piece_bytes_ = 0, pieces_ = 0;
  double tick_ = 0, limit_ = 0, now_ = 0, now_in_tick_ = 0;
  uint32_t completed_ = 0;
  std::vector<Node> nodes_;
  std::deque<Conn> conns_;
  std::vector<Link*> active_;
  std::vector<double> up_spare_, down_spare_;
  std::vector<double> disk_spare_;
  std::vector<uint8_t> disk_binds_;  // node_disk_bytes_per_sec can limit this node
  std::vector<uint32_t> up_count_, down_count_, disk_count_;
  SimResult result_;
};

}  // namespace

SimResult simulate(const SimConfig& config) {
  return Simulation(config).run();
}

}  // namespace fanout::sim
