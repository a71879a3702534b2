#include "common/swarm/blob_swarm.h"

#include <fcntl.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>

#include "common/store/file_io.h"

namespace fanout::swarm {
namespace asio = boost::asio;
namespace wire = proto::wire;
using tcp = asio::ip::tcp;
using boost::system::error_code;

namespace {
constexpr auto kTick = std::chrono::milliseconds(250);
constexpr auto kHandshakeTimeout = std::chrono::seconds(10);
constexpr size_t kMaxFramesPerWrite = 32;
// Blocks read from disk and queued per peer: one being written, one ready. Each holds a buffer,
// so more only grows the memory of a node that serves many peers.
constexpr uint32_t kDataFramesInFlight = 2;
// How long a connection being closed waits for its last frame (an ERROR) to be written.
constexpr std::chrono::seconds kLastWordTimeout{2};

std::string short_id(const wire::PeerId& id) {
  return to_hex(id.data(), 4);
}

// PieceRate works in seconds as doubles (the simulator shares it).
double seconds(std::chrono::steady_clock::duration d) {
  return std::chrono::duration<double>(d).count();
}
double seconds(std::chrono::steady_clock::time_point t) {
  return seconds(t.time_since_epoch());
}
}  // namespace

BlobSwarm::BlobSwarm(EngineContext& ctx, proto::Metainfo info, int fd)
    : ctx_(ctx),
      info_(std::move(info)),
      strand_(asio::make_strand(ctx.io)),
      timer_(strand_),
      seed_fd_(fd),
      complete_(true),
      rng_(std::random_device{}()),
      result_future_(result_promise_.get_future().share()) {
  if (ctx_.settings.is_origin) {
    reveals_ = std::make_unique<RevealPolicy>(info_.piece_count(), ctx_.settings.reveal_slots,
                                              ctx_.settings.reveal_pieces, rng_());
  }
  stats_.pieces_done = info_.piece_count();
  result_set_ = true;
  result_promise_.set_value(FetchResult{true, {}, {}, {}});
}

BlobSwarm::BlobSwarm(EngineContext& ctx, proto::Metainfo info, std::shared_ptr<PartialBlob> partial)
    : ctx_(ctx),
      info_(std::move(info)),
      strand_(asio::make_strand(ctx.io)),
      timer_(strand_),
      partial_(std::move(partial)),
      rng_(std::random_device{}()),
      result_future_(result_promise_.get_future().share()) {
  picker_ = std::make_unique<PiecePicker>(info_.piece_count(), rng_());
  for (uint32_t i = 0; i < info_.piece_count(); ++i) {
    if (partial_->has_piece(i)) picker_->set_have(i);  // resumed from an earlier run
  }
}

BlobSwarm::~BlobSwarm() {
  if (seed_fd_ >= 0) ::close(seed_fd_);
}

bool BlobSwarm::have(uint32_t piece) const {
  return complete_ || picker_->have(piece);
}

uint32_t BlobSwarm::block_count(uint32_t piece) const {
  uint32_t size = info_.piece_size(piece);
  return (size + ctx_.settings.block_size - 1) / ctx_.settings.block_size;
}

uint32_t BlobSwarm::block_size(uint32_t piece, uint32_t block) const {
  uint32_t offset = block * ctx_.settings.block_size;
  return std::min(ctx_.settings.block_size, info_.piece_size(piece) - offset);
}

// ---- lifecycle --------------------------------------------------------------------------------

void BlobSwarm::start() {
  asio::post(strand_, [self = shared_from_this()] {
    if (self->complete_) {
      self->ctx_.metrics.blobs_seeding.add(1);
    } else {
      self->ctx_.metrics.blobs_downloading.add(1);
      spdlog::info("fetch {}: {} bytes, {} pieces, {} already verified", self->info_.digest.str(),
                   self->info_.size, self->info_.piece_count(),
                   self->info_.piece_count() - self->picker_->missing());
      if (self->picker_->complete()) self->commit();
    }
    self->update_stats();
    self->tick();
  });
}

std::future<void> BlobSwarm::shutdown() {
  auto done = std::make_shared<std::promise<void>>();
  auto future = done->get_future();
  asio::post(strand_, [self = shared_from_this(), done] {
    struct Signal {
      std::shared_ptr<std::promise<void>> p;
      ~Signal() { p->set_value(); }
    } signal{done};
    if (self->stopped_) return;
    self->stopped_ = true;
    self->timer_.cancel();
    self->hot_.clear();
    for (auto& p : std::vector<PeerPtr>(self->peers_)) {
      self->say_and_close(p, wire::encode_bye(), "shutting down");
    }
    if (self->complete_) {
      self->ctx_.metrics.blobs_seeding.add(-1);
    } else {
      self->ctx_.metrics.blobs_downloading.add(-1);
      self->finish(FetchResult{false, {}, "fetch stopped: the engine is shutting down", {}});
    }
    self->fail_waiters();
    if (self->ctx_.discovery && self->announced_started_) {
      AnnounceRequest req = self->announce_request();
      req.event = "stopped";
      req.num_want = 0;
      auto discovery = self->ctx_.discovery;
      asio::post(self->ctx_.announcer, [discovery, req] {
        try {
          discovery->announce(req);
        } catch (const std::exception&) {
          // Best effort: the tracker expires us after its TTL anyway.
        }
      });
    }
  });
  return future;
}

void BlobSwarm::add_peers(std::vector<PeerAddress> peers) {
  asio::post(strand_, [self = shared_from_this(), peers = std::move(peers)] {
    for (const auto& a : peers) self->learn_peer(a);
    self->maybe_connect();
  });
}

void BlobSwarm::tick() {
  if (stopped_) return;
  auto now = Clock::now();
  for (auto& p : std::vector<PeerPtr>(peers_)) {
    if (!p->hello_received && now - p->started > kHandshakeTimeout) {
      close(p, "handshake timed out", true);
    } else if (!p->downloading.empty() && now - p->last_receive > ctx_.settings.peer_timeout) {
      close(p, "timed out with requests outstanding", true);
    }
  }
  maybe_connect();
  maybe_announce();
  maybe_fallback();
  update_stats();
  timer_.expires_after(kTick);
  timer_.async_wait(asio::bind_executor(strand_, [self = shared_from_this()](error_code ec) {
    if (!ec) self->tick();
  }));
}

// ---- announcing -------------------------------------------------------------------------------

// Who we are, for every announce of this blob; callers add the event and figures.
AnnounceRequest BlobSwarm::announce_request() const {
  AnnounceRequest req;
  req.digest = info_.digest;
  req.peer_id.assign(ctx_.peer_id.begin(), ctx_.peer_id.end());
  req.port = ctx_.listen_port.load();
  req.ip = ctx_.settings.advertise_host;
  req.zone = ctx_.settings.zone;
  req.rack = ctx_.settings.rack;
  req.is_origin = ctx_.settings.is_origin;
  return req;
}

void BlobSwarm::maybe_announce() {
  if (!ctx_.discovery || announcing_ || stopped_ || Clock::now() < next_announce_) return;
  announcing_ = true;
  AnnounceRequest req = announce_request();
  {
    std::lock_guard lock(stats_mu_);
    req.uploaded = uploaded_;
    req.downloaded = downloaded_;
  }
  uint64_t left = 0;
  if (!complete_) {
    for (uint32_t i = 0; i < info_.piece_count(); ++i) {
      if (!picker_->have(i)) left += info_.piece_size(i);
    }
  }
  req.left = left;
  if (!announced_started_) {
    req.event = "started";
  } else if (announce_completed_) {
    req.event = "completed";
  }
  req.num_want = complete_ ? 0 : 50;
  auto discovery = ctx_.discovery;
  asio::post(ctx_.announcer, [self = shared_from_this(), discovery, req] {
    try {
      AnnounceResponse resp = discovery->announce(req);
      asio::post(self->strand_, [self, resp = std::move(resp)] { self->on_announce(resp); });
    } catch (const std::exception& e) {
      spdlog::warn("announce {}: {}", req.digest.str(), e.what());
      asio::post(self->strand_, [self] {
        self->announcing_ = false;
        self->next_announce_ = Clock::now() + std::chrono::seconds(1);
      });
    }
  });
}

void BlobSwarm::on_announce(AnnounceResponse response) {
  announcing_ = false;
  announced_started_ = true;
  announce_completed_ = false;
  auto interval = std::chrono::duration_cast<std::chrono::milliseconds>(response.interval);
  if (!complete_) {
    interval = std::min(interval, ctx_.settings.announce_interval);
    bool starved = std::none_of(peers_.begin(), peers_.end(),
                                [](const PeerPtr& p) { return p->hello_received; });
    if (starved) interval = ctx_.settings.starved_announce_interval;
  }
  next_announce_ = Clock::now() + interval;
  for (const auto& a : response.peers) learn_peer(a);
  maybe_connect();
}

void BlobSwarm::learn_peer(const PeerAddress& a) {
  if (a.port == ctx_.listen_port.load() && a.host == ctx_.settings.advertise_host) return;  // us
  auto [it, added] = slots_.try_emplace(a);
  if (added) it->second.order = next_slot_order_++;
}

// ---- connections ------------------------------------------------------------------------------

void BlobSwarm::maybe_connect() {
  if (stopped_ || complete_) return;  // seeders wait for leechers to come to them
  uint32_t outgoing = 0;
  std::set<wire::PeerId> connected_ids;
  for (const auto& p : peers_) {
    if (p->outgoing) ++outgoing;
    if (p->hello_received) connected_ids.insert(p->id);
  }
  auto now = Clock::now();
  std::vector<std::pair<uint64_t, PeerAddress>> candidates;
  for (auto& [address, slot] : slots_) {
    if (slot.connected || slot.banned || slot.retry_after > now) continue;
    if (slot.id && connected_ids.count(*slot.id)) continue;  // already linked the other way
    candidates.emplace_back(slot.order, address);
  }
  // In the tracker's order: it already put the same rack first, then the same zone, randomly
  // within each, so dialing in that order keeps traffic local without making a chain.
  std::sort(candidates.begin(), candidates.end());
  for (const auto& [order, address] : candidates) {
    if (outgoing >= ctx_.settings.max_peers_per_blob) break;
    if (ctx_.connections.load() >= ctx_.settings.max_connections) break;
    connect(address);
    ++outgoing;
  }
}

void BlobSwarm::connect(const PeerAddress& address) {
  error_code ec;
  auto ip = asio::ip::make_address(address.host, ec);
  Slot& slot = slots_[address];
  if (ec) {
    spdlog::warn("swarm {}: peer address {} is not an IP literal", info_.digest.str(),
                 address.str());
    slot.banned = true;
    return;
  }
  slot.connected = true;
  auto p = std::make_shared<Peer>(tcp::socket(strand_));
  p->outgoing = true;
  p->dialed = address;
  p->remote = address.str();
  peers_.push_back(p);
  ctx_.connections.fetch_add(1);
  ctx_.metrics.connections.add(1);
  p->socket.async_connect(
      tcp::endpoint(ip, address.port),
      asio::bind_executor(strand_, [self = shared_from_this(), p](error_code ec) {
        if (p->closed) return;
        if (ec) return self->close(p, "connect: " + ec.message(), true);
        self->on_connected(p);
      }));
}

void BlobSwarm::on_connected(const PeerPtr& p) {
  ctx_.metrics.connections_opened.inc();
  error_code ignored;
  p->socket.set_option(tcp::no_delay(true), ignored);
  send_hello(p);
  read_frames(p);
}

void BlobSwarm::send_hello(const PeerPtr& p) {
  wire::Hello hello;
  hello.peer_id = ctx_.peer_id;
  hello.digest = info_.digest;
  hello.flags = ctx_.settings.is_origin ? wire::kFlagOrigin : 0;
  hello.bitfield.assign(wire::bitfield_bytes(info_.piece_count()), 0);
  // An origin reveals pieces a few at a time (super-seeding) so that agents fetch different
  // pieces from it and the rest from each other; everyone else shows all it has.
  if (!ctx_.settings.is_origin) {
    for (uint32_t i = 0; i < info_.piece_count(); ++i) {
      if (have(i)) wire::bit_set(hello.bitfield, i);
    }
  }
  send(p, wire::encode(hello));
}

void BlobSwarm::attach_incoming(PeerPtr p, wire::Hello hello) {
  asio::post(strand_, [self = shared_from_this(), p, hello = std::move(hello)] {
    self->peers_.push_back(p);
    self->ctx_.connections.fetch_add(1);
    self->ctx_.metrics.connections.add(1);
    self->ctx_.metrics.connections_opened.inc();
    if (self->stopped_ || self->ctx_.connections.load() > self->ctx_.settings.max_connections) {
      return self->say_and_close(
          p, wire::encode(wire::Error{wire::ErrorCode::kBusy, "too many connections"}), "busy");
    }
    if (!self->accept_hello(p, hello)) return;
    self->send_hello(p);
    if (self->ctx_.settings.is_origin && self->complete_) self->reveal(p);
    self->read_frames(p);
    self->fill_requests(p);
  });
}

// Validates a peer's HELLO and takes its bitfield; closes the connection and returns false if the
// peer is unusable.
bool BlobSwarm::accept_hello(const PeerPtr& p, const wire::Hello& hello) {
  if (hello.digest != info_.digest) {
    protocol_error(p, "HELLO for another blob");
    return false;
  }
  if (hello.bitfield.size() != wire::bitfield_bytes(info_.piece_count())) {
    protocol_error(p, "HELLO bitfield has the wrong length");
    return false;
  }
  uint32_t spare = static_cast<uint32_t>(hello.bitfield.size() * 8) - info_.piece_count();
  if (spare && (hello.bitfield.back() & ((1u << spare) - 1))) {
    protocol_error(p, "HELLO bitfield sets bits past the last piece");
    return false;
  }
  if (hello.peer_id == ctx_.peer_id) {
    if (p->dialed) slots_[*p->dialed].banned = true;  // it is our own address
    close(p, "connected to ourselves", false);
    return false;
  }
  if (banned_.count(hello.peer_id)) {
    say_and_close(p, wire::encode(wire::Error{wire::ErrorCode::kBanned, "banned for a bad piece"}),
                  "banned peer");
    return false;
  }
  // Two connections between the same pair: both sides keep the one opened by the smaller id.
  for (const auto& other : peers_) {
    if (other == p || !other->hello_received || other->id != hello.peer_id) continue;
    auto initiator = [&](const Peer& c, const wire::PeerId& remote) {
      return c.outgoing ? ctx_.peer_id : remote;
    };
    if (initiator(*p, hello.peer_id) < initiator(*other, other->id)) {
      close(other, "duplicate connection", false);
      break;
    }
    close(p, "duplicate connection", false);
    return false;
  }
  p->hello_received = true;
  p->id = hello.peer_id;
  p->is_origin = hello.flags & wire::kFlagOrigin;
  p->bits = hello.bitfield;
  p->last_receive = Clock::now();
  if (p->dialed) slots_[*p->dialed].id = hello.peer_id;
  for (uint32_t i = 0; i < info_.piece_count(); ++i) {
    if (!wire::bit_get(p->bits, i)) continue;
    ++p->pieces_held;
    if (picker_ && !p->is_origin) picker_->peer_has(i);
    if (reveals_ && !p->is_origin) reveals_->holder_added(peer_key(p), i);
  }
  if (reveals_ && !p->is_origin) reveals_->add_peer(peer_key(p));
  spdlog::debug("swarm {}: peer {} ({}{}) connected", info_.digest.str(), short_id(p->id),
                p->remote, p->is_origin ? ", origin" : "");
  return true;
}

void BlobSwarm::close(const PeerPtr& p, const std::string& reason, bool backoff) {
  if (p->closed) return;
  p->closed = true;
  error_code ignored;
  p->read_throttle.cancel();
  p->write_throttle.cancel();
  p->socket.shutdown(tcp::socket::shutdown_both, ignored);
  p->socket.close(ignored);
  p->pipe.reset();  // closed unless empty (pipe_pool.h)
  for (auto& [piece, pending] : p->downloading) {
    if (picker_) picker_->stopped(piece);
    if (pending.stream) pending.stream->abandon();
  }
  if (!p->is_origin) pieces_in_flight_ -= static_cast<uint32_t>(p->downloading.size());
  p->downloading.clear();
  if (p->hello_received) {
    for (uint32_t i = 0; i < info_.piece_count(); ++i) {
      if (!wire::bit_get(p->bits, i)) continue;
      if (picker_ && !p->is_origin) picker_->peer_lost(i);
      if (reveals_ && !p->is_origin) reveals_->holder_removed(i);
    }
    if (reveals_ && !p->is_origin) reveals_->remove_peer(peer_key(p));
  }
  peers_.erase(std::remove(peers_.begin(), peers_.end(), p), peers_.end());
  // A complete blob with nobody left to serve needs no pieces in memory (a peer that comes
  // later is served from disk).
  if (complete_ && peers_.empty()) hot_.clear();
  resume_uploads(upload_slots_.release(peer_key(p)));
  if (reveals_) reveal_granted();  // its turn, if it had one, passed on
  ctx_.connections.fetch_sub(1);
  ctx_.metrics.connections.add(-1);
  if (p->dialed) {
    Slot& slot = slots_[*p->dialed];
    slot.connected = false;
    slot.retry_after =
        Clock::now() + (backoff ? ctx_.settings.peer_backoff : std::chrono::milliseconds(1000));
  }
  spdlog::debug("swarm {}: peer {} closed: {}", info_.digest.str(), p->remote, reason);
  if (!stopped_) fill_all();
}

void BlobSwarm::ban(const wire::PeerId& id, const std::optional<PeerAddress>& dialed,
                    const std::string& why) {
  if (!banned_.insert(id).second) return;
  ctx_.metrics.peers_banned.inc();
  {
    std::lock_guard lock(stats_mu_);
    ++peers_banned_;
  }
  if (dialed) slots_[*dialed].banned = true;
  spdlog::warn("swarm {}: banned peer {}{}: {}", info_.digest.str(), short_id(id),
               dialed ? " (" + dialed->str() + ")" : "", why);
  for (auto& p : std::vector<PeerPtr>(peers_)) {
    if (p->hello_received && p->id == id) {
      say_and_close(p, wire::encode(wire::Error{wire::ErrorCode::kBanned, why}), "banned: " + why);
    }
  }
}

void BlobSwarm::protocol_error(const PeerPtr& p, const std::string& what) {
  spdlog::warn("swarm {}: peer {}: protocol error: {}", info_.digest.str(), p->remote, what);
  say_and_close(p, wire::encode(wire::Error{wire::ErrorCode::kProtocol, what}), what, true);
}

// The last frame (an ERROR saying why) goes out before the connection closes. With a write in
// flight (our HELLO, say) it goes right after it, frames not yet started are dropped, nothing more
// is read, and the connection closes once it is written or kLastWordTimeout has passed.
void BlobSwarm::say_and_close(const PeerPtr& p, const std::string& frame, const std::string& why,
                              bool backoff) {
  if (p->closed || p->closing) return;
  if (!p->writing) {
    error_code ec;
    asio::write(p->socket, asio::buffer(frame), ec);
    return close(p, why, backoff);
  }
  p->out.erase(p->out.begin() + static_cast<std::ptrdiff_t>(p->writing), p->out.end());
  p->out.push_back({frame, nullptr});
  p->closing = Peer::Closing{why, backoff};
  // The read throttle is free: nothing is read any more (a pending ingress wait is cancelled).
  p->read_throttle.expires_after(kLastWordTimeout);
  p->read_throttle.async_wait(
      asio::bind_executor(strand_, [self = shared_from_this(), p](error_code) {
        if (!p->closed) self->close(p, p->closing->why, p->closing->backoff);
      }));
}

// ---- reading ----------------------------------------------------------------------------------

// Frames are parsed out of one input buffer per connection: read frame by frame (a header, then
// its body), every HAVE and REQUEST cost two recv calls and often an epoll_wait, and a node
// receives ~16 HAVEs per piece of a blob. Parses every whole frame the buffer holds, then reads
// more. A DATA block whose payload is not all in the buffer leaves the loop; read_frames() runs
// again once the rest is in.
void BlobSwarm::read_frames(const PeerPtr& p) {
  while (!p->closed && !p->closing) {
    size_t avail = p->rx_end - p->rx_begin;
    const uint8_t* at = p->rx.data() + p->rx_begin;
    if (avail < wire::kHeaderSize) break;
    wire::FrameHeader h;
    try {
      h = wire::parse_header(at);
    } catch (const proto::ProtoError& e) {
      return protocol_error(p, e.what());
    }
    if (h.type == wire::FrameType::kData) {
      if (h.body_size < wire::kDataPrefix) return protocol_error(p, "DATA without piece and offset");
      if (avail < wire::kHeaderSize + wire::kDataPrefix) break;
      p->last_receive = Clock::now();
      auto prefix = wire::decode_data_prefix(
          std::string_view(reinterpret_cast<const char*>(at + wire::kHeaderSize), wire::kDataPrefix));
      p->rx_begin += wire::kHeaderSize + wire::kDataPrefix;
      if (!on_data_prefix(p, prefix, h.body_size - static_cast<uint32_t>(wire::kDataPrefix))) {
        return;  // the block is still coming (or the connection is closing)
      }
      continue;
    }
    // parse_header() bounds every other frame well within the buffer.
    if (avail < wire::kHeaderSize + h.body_size) break;
    p->last_receive = Clock::now();
    p->body.assign(reinterpret_cast<const char*>(at + wire::kHeaderSize), h.body_size);
    p->rx_begin += wire::kHeaderSize + h.body_size;
    on_frame(p, h.type);
  }
  if (p->closed || p->closing) return;
  // What is left is the start of one frame: move it to the front and read the rest after it.
  size_t left = p->rx_end - p->rx_begin;
  if (left > 0 && p->rx_begin > 0) std::memmove(p->rx.data(), p->rx.data() + p->rx_begin, left);
  p->rx_begin = 0;
  p->rx_end = left;
  p->socket.async_read_some(
      asio::buffer(p->rx.data() + p->rx_end, p->rx.size() - p->rx_end),
      asio::bind_executor(strand_, [self = shared_from_this(), p](error_code ec, size_t n) {
        if (p->closed || p->closing) return;  // closing: read no more
        if (ec) return self->close(p, ec.message(), ec != asio::error::eof);
        p->rx_end += n;
        self->read_frames(p);
      }));
}

bool BlobSwarm::on_data_prefix(const PeerPtr& p, const wire::DataPrefix& prefix,
                               uint32_t payload) {
  if (!p->hello_received) return protocol_error(p, "DATA before HELLO"), false;
  if (prefix.piece >= info_.piece_count()) {
    return protocol_error(p, "DATA for a piece out of range"), false;
  }
  uint32_t piece_size = info_.piece_size(prefix.piece);
  if (payload == 0 || prefix.offset >= piece_size || payload > piece_size - prefix.offset) {
    return protocol_error(p, "DATA outside its piece"), false;
  }
  // Read straight into the piece buffer (or, streamed, a buffer for the block) when the block is
  // one we asked for; anything else (a block cancelled in the endgame) is read and dropped.
  IncomingBlock b;
  b.piece = prefix.piece, b.offset = prefix.offset, b.size = payload;
  auto it = p->downloading.find(prefix.piece);
  if (it != p->downloading.end() && prefix.offset % ctx_.settings.block_size == 0) {
    uint32_t block = prefix.offset / ctx_.settings.block_size;
    if (payload == block_size(prefix.piece, block) && !it->second.got[block]) {
      b.stream = it->second.stream;
      if (!b.stream) b.target = it->second.data, b.dest = b.target->data() + prefix.offset;
    }
  }
  if (!b.dest && !b.stream) {
    p->discard.resize(payload);
    b.dest = p->discard.data();
  }
  // Over the ingress budget: leave the bytes in the socket a while (TCP slows the sender).
  auto wait = ctx_.ingress.reserve(payload);
  if (wait.count() == 0) return receive_block(p, std::move(b));
  p->read_throttle.expires_after(wait);
  p->read_throttle.async_wait(asio::bind_executor(
      strand_, [self = shared_from_this(), p, b = std::move(b)](error_code ec) mutable {
        if (ec || p->closed || p->closing) return;
        if (self->receive_block(p, std::move(b))) self->read_frames(p);
      }));
  return false;
}

// Takes what the input buffer holds of the block, then reads the rest straight into place.
// True when the buffer held all of it (the block is handled, the caller goes on parsing); false
// otherwise: read_frames() runs again once the rest is in (possibly already, nested, when the
// socket held the rest), so the caller must stop.
bool BlobSwarm::receive_block(const PeerPtr& p, IncomingBlock b) {
  // A streamed block's buffer is taken only now, after any wait for the ingress budget.
  if (b.stream) b.target = acquire_buffer(b.size), b.dest = b.target->data();
  size_t buffered = std::min<size_t>(b.size, p->rx_end - p->rx_begin);
  std::memcpy(b.dest, p->rx.data() + p->rx_begin, buffered);
  p->rx_begin += buffered;
  if (buffered == b.size) {
    on_data(p, b);
    return true;
  }
  uint8_t* rest = b.dest + buffered;
  size_t rest_size = b.size - buffered;
  receive_payload(p, rest, rest_size, [self = shared_from_this(), p, b = std::move(b)] {
    self->on_data(p, b);
    if (!p->closed && !p->closing) self->read_frames(p);
  });
  return false;
}

// Reads exactly `size` bytes of a block into `dest`, then calls `done` on the strand (at once,
// before returning, when the socket already holds them). Woken for every segment that arrives,
// a node paid an epoll_wait and a recv per ~40 KiB; with the socket's low-water mark
// (SO_RCVLOWAT) at `receive_batch`, or the rest of the block if less, the kernel wakes it once
// that much is there (Linux 4.18 and later re-check readiness when the mark is set, which the
// wait below relies on).
void BlobSwarm::receive_payload(const PeerPtr& p, uint8_t* dest, size_t size,
                                std::function<void()> done) {
  const size_t batch = ctx_.settings.receive_batch;
  if (batch == 0) {
    asio::async_read(p->socket, asio::buffer(dest, size),
                     asio::bind_executor(strand_, [self = shared_from_this(), p,
                                                   done = std::move(done)](error_code ec, size_t) {
                       if (p->closed || p->closing) return;  // closing: read no more
                       if (ec) return self->close(p, ec.message(), true);
                       done();
                     }));
    return;
  }
  int fd = p->socket.native_handle();
  ssize_t got = ::recv(fd, dest, size, MSG_DONTWAIT);
  while (got < 0 && errno == EINTR) got = ::recv(fd, dest, size, MSG_DONTWAIT);
  if (got == 0) return close(p, "end of stream inside a block", true);
  if (got < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
    return close(p, std::string("read: ") + std::strerror(errno), true);
  }
  if (got > 0) {
    dest += got;
    size -= static_cast<size_t>(got);
  }
  if (size == 0) {
    set_receive_low_water(p, 1);  // frames are read whole again
    return done();
  }
  p->socket.async_wait(tcp::socket::wait_read,
                       asio::bind_executor(strand_, [self = shared_from_this(), p, dest, size,
                                                     done = std::move(done)](error_code ec) mutable {
                         if (p->closed || p->closing) return;
                         if (ec) return self->close(p, "read: " + ec.message(), true);
                         self->receive_payload(p, dest, size, std::move(done));
                       }));
  // Set after the wait is armed, even when unchanged: the kernel then signals at once if that
  // much is already there (the reactor sees edges, and the last segment's went to no one).
  set_receive_low_water(p, std::min(size, batch));
}

void BlobSwarm::set_receive_low_water(const PeerPtr& p, size_t bytes) {
  int value = static_cast<int>(bytes);
  if (bytes == 1 && p->low_water == 1) return;
  p->low_water = value;
  ::setsockopt(p->socket.native_handle(), SOL_SOCKET, SO_RCVLOWAT, &value, sizeof value);
}

void BlobSwarm::on_data(const PeerPtr& p, const IncomingBlock& b) {
  p->last_receive = Clock::now();
  auto it = p->downloading.find(b.piece);
  // Still the same request (not cancelled, and not asked again since)?
  if (b.target && it != p->downloading.end() &&
      (b.stream ? it->second.stream == b.stream : it->second.data == b.target)) {
    uint32_t block = b.offset / ctx_.settings.block_size;
    if (!it->second.got[block]) {
      it->second.got[block] = 1;
      if (b.stream) b.stream->add(block, b.target);
      if (--it->second.blocks_left == 0) piece_received(p, b.piece);
    }
  }
}

void BlobSwarm::on_frame(const PeerPtr& p, wire::FrameType type) {
  try {
    if (type != wire::FrameType::kHello && !p->hello_received) {
      return protocol_error(p, "first frame must be HELLO");
    }
    switch (type) {
      case wire::FrameType::kHello: {
        if (p->hello_received) return protocol_error(p, "second HELLO");
        if (!accept_hello(p, wire::decode_hello(p->body))) return;
        fill_requests(p);
        break;
      }
      case wire::FrameType::kHave: {
        uint32_t piece = wire::decode_have(p->body).piece;
        if (piece >= info_.piece_count()) return protocol_error(p, "HAVE for a piece out of range");
        if (!wire::bit_get(p->bits, piece)) {
          wire::bit_set(p->bits, piece);
          ++p->pieces_held;
          if (picker_ && !p->is_origin) picker_->peer_has(piece);
          if (reveals_ && !p->is_origin && reveals_->holder_added(peer_key(p), piece)) {
            reveal(p);
          }
        }
        if (reveals_) reveal_granted();
        // Both complete now (it finished after us, and heard only then of pieces it had; or an
        // origin revealed a piece after we finished).
        if (complete_ && has_every_piece(*p)) {
          return say_and_close(p, wire::encode_bye(), "both complete");
        }
        fill_requests(p);
        break;
      }
      case wire::FrameType::kRequest:
        on_request(p, wire::decode_request(p->body));
        break;
      case wire::FrameType::kCancel: {
        auto r = wire::decode_request(p->body);
        auto& q = p->upload_queue;
        q.erase(std::remove(q.begin(), q.end(), r), q.end());
        settle_upload_slot(p);
        break;
      }
      case wire::FrameType::kBye:
        return close(p, "peer said BYE", false);
      case wire::FrameType::kError: {
        auto e = wire::decode_error(p->body);
        return close(p, "peer sent ERROR " + std::to_string(int(e.code)) + ": " + e.message, true);
      }
      case wire::FrameType::kData:
        break;  // handled in read_frames
    }
  } catch (const proto::ProtoError& e) {
    return protocol_error(p, e.what());
  }
}

// ---- fetching ---------------------------------------------------------------------------------

void BlobSwarm::fill_all() {
  // Fastest peers first (peer_rate.h); copied, as filling may close a peer.
  double now = seconds(Clock::now());
  double trust = seconds(ctx_.settings.peer_rate_trust);
  std::vector<double> ranks;
  ranks.reserve(peers_.size());
  for (const auto& p : peers_) ranks.push_back(p->rate.rank(now, trust));
  std::vector<PeerPtr> peers(peers_);
  for (size_t i : fastest_first(ranks, rng_)) fill_requests(peers[i]);
}

void BlobSwarm::fill_requests(const PeerPtr& p) {
  if (!picker_ || complete_ || stopped_ || failed_ || p->closed || !p->hello_received) return;
  // An origin holds every piece; it reveals them a few at a time only to spread its upload,
  // so a piece a reader waits for may be asked of it before it was shown.
  auto peer_has = [&](uint32_t i) {
    return wire::bit_get(p->bits, i) || (p->is_origin && picker_->priority(i));
  };
  auto fetching = [&](uint32_t i) { return p->downloading.count(i) > 0; };
  while (p->downloading.size() < ctx_.settings.pipeline_pieces &&
         (p->is_origin || pieces_in_flight_ < ctx_.settings.max_pieces_in_flight)) {
    auto piece = picker_->pick(peer_has, p->is_origin);
    if (!piece) piece = picker_->pick_endgame(peer_has, fetching, p->is_origin);
    if (!piece) break;
    start_piece(p, *piece);
  }
  // A waited-for piece does not queue behind a full pipeline: up to two go out on top of it.
  if (!picker_->any_priority()) return;  // (pick() would scan every piece for none)
  auto has_wanted = [&](uint32_t i) { return picker_->priority(i) && peer_has(i); };
  while (p->downloading.size() < ctx_.settings.pipeline_pieces + 2) {
    auto piece = picker_->pick(has_wanted, p->is_origin);
    if (!piece) break;
    start_piece(p, *piece);
  }
}

bool BlobSwarm::streaming(uint32_t piece) const {
  for (const auto& p : peers_) {
    auto it = p->downloading.find(piece);
    if (it != p->downloading.end() && it->second.stream) return true;
  }
  return false;
}

void BlobSwarm::start_piece(const PeerPtr& p, uint32_t piece) {
  if (p->downloading.empty()) p->last_receive = Clock::now();  // the timeout starts now
  picker_->started(piece);
  Peer::Pending pending;
  // Streamed unless another peer is streaming it (the endgame: one writer per piece) or the
  // verified piece is to be kept in memory anyway (hot_pieces).
  if (ctx_.settings.hot_piece_bytes == 0 && !streaming(piece)) {
    pending.stream =
        std::make_shared<PieceStream>(ctx_.disk, partial_, piece, ctx_.settings.block_size);
  } else {
    pending.data = acquire_buffer(info_.piece_size(piece));
  }
  pending.blocks_left = block_count(piece);
  pending.got.assign(pending.blocks_left, 0);
  p->downloading.emplace(piece, std::move(pending));
  if (!p->is_origin) ++pieces_in_flight_;
  std::string frames;
  for (uint32_t b = 0; b < block_count(piece); ++b) {
    frames += wire::encode_request({piece, b * ctx_.settings.block_size, block_size(piece, b)});
  }
  send(p, std::move(frames));
}

void BlobSwarm::cancel_piece(const PeerPtr& p, uint32_t piece) {
  auto it = p->downloading.find(piece);
  if (it == p->downloading.end()) return;
  std::string frames;
  for (uint32_t b = 0; b < block_count(piece); ++b) {
    if (it->second.got[b]) continue;
    frames += wire::encode_cancel({piece, b * ctx_.settings.block_size, block_size(piece, b)});
  }
  if (it->second.stream) it->second.stream->abandon();
  p->downloading.erase(it);
  if (!p->is_origin) --pieces_in_flight_;
  picker_->stopped(piece);
  if (!frames.empty()) send(p, std::move(frames));
}

void BlobSwarm::piece_received(const PeerPtr& p, uint32_t piece) {
  auto node = p->downloading.extract(piece);
  if (!p->is_origin) --pieces_in_flight_;
  auto data = node.mapped().data;
  auto arrived = Clock::now();
  p->rate.sample(info_.piece_size(piece), seconds(arrived - node.mapped().asked),
                 seconds(arrived), seconds(ctx_.settings.peer_rate_trust));
  // Until verification reports back the piece is asked of no one else.
  picker_->stopped(piece);
  picker_->set_verifying(piece, true);
  auto partial = partial_;
  Source source = p->is_origin ? Source::kOrigin : Source::kPeer;
  if (auto stream = node.mapped().stream) {  // (verifying: nobody else is asked for it meanwhile)
    stream->finish([self = shared_from_this(), piece, from = p->id, dialed = p->dialed,
                    source](PieceStream::Outcome o) {
      asio::post(self->strand_, [self, piece, o, from, dialed, source] {
        if (o.ok || o.bad_hash || !o.error.empty()) {
          return self->on_verified(piece, nullptr, o.ok, from, dialed, source, o.error);
        }
        // Taken over by another writer: neither good nor bad, ask again.
        if (self->stopped_ || self->complete_) return;
        self->picker_->set_verifying(piece, false);
        self->fill_all();
      });
    });
    return fill_all();  // the free place goes to the fastest peer, not back to this one
  }
  asio::post(ctx_.disk, [self = shared_from_this(), partial, data, piece, from = p->id,
                         dialed = p->dialed, source] {
    bool ok = false;
    std::string error;
    try {
      ok = partial->write_piece(piece, data->data(), data->size());
    } catch (const std::exception& e) {
      error = e.what();
    }
    asio::post(self->strand_, [self, piece, data, ok, from, dialed, source, error] {
      self->on_verified(piece, data, ok, from, dialed, source, error);
    });
  });
  fill_all();  // the free place goes to the fastest peer, not back to this one
}

void BlobSwarm::on_verified(uint32_t piece, BufferPtr data, bool ok, wire::PeerId from,
                            std::optional<PeerAddress> dialed, Source source, std::string error) {
  if (stopped_ || complete_) return;
  picker_->set_verifying(piece, false);
  if (!error.empty()) {
    spdlog::error("fetch {}: cannot write piece {}: {}", info_.digest.str(), piece, error);
    return fail_fetch("cannot write piece: " + error);
  }
  if (!ok) {
    ctx_.metrics.pieces_failed.inc();
    {
      std::lock_guard lock(stats_mu_);
      ++pieces_failed_;
    }
    ban(from, dialed, "piece " + std::to_string(piece) + " failed SHA-256 verification");
    fill_all();
    return;
  }
  if (picker_->have(piece)) return;  // an endgame duplicate lost the race
  last_progress_ = Clock::now();
  if (data) hot_.put(piece, std::move(data));
  piece_done(piece, source);
}

// A verified piece from any source: count it, tell every peer, and finish when it was the last.
void BlobSwarm::piece_done(uint32_t piece, Source source) {
  picker_->set_have(piece);
  uint32_t size = info_.piece_size(piece);
  ctx_.metrics.pieces_verified.inc();
  {
    std::lock_guard lock(stats_mu_);
    downloaded_ += size;
    switch (source) {
      case Source::kPeer:
        from_peers_ += size, ctx_.metrics.bytes_from_peers.inc(size);
        break;
      case Source::kOrigin:
        from_origins_ += size, ctx_.metrics.bytes_from_origins.inc(size);
        break;
      case Source::kFallback:
        from_fallback_ += size, ctx_.metrics.bytes_from_fallback.inc(size);
        break;
    }
  }
  check_waiters();
  std::string have = wire::encode(wire::Have{piece});
  for (auto& p : std::vector<PeerPtr>(peers_)) {
    if (!p->hello_received) continue;
    cancel_piece(p, piece);
    // A peer that has the piece only needs to learn, in the end, that we are complete (links
    // between complete peers close): it hears of the piece when we are. Sent at once, every
    // piece woke each of a node's ~16 peers, on average half of them for nothing. Origins need
    // every HAVE at once to pace their reveals.
    if (!p->is_origin && wire::bit_get(p->bits, piece)) {
      p->deferred_haves += have;
      continue;
    }
    send(p, have);
  }
  if (picker_->complete() && !committing_) return commit();
  fill_all();
}

// Every piece is verified: publish into the CAS on the disk pool (fsync, rename; the whole-blob
// hash too where the store keeps it).
void BlobSwarm::commit() {
  committing_ = true;
  asio::post(ctx_.disk, [self = shared_from_this(), partial = partial_] {
    try {
      auto path = partial->commit();
      asio::post(self->strand_, [self, path] { self->on_committed(path, ""); });
    } catch (const std::exception& e) {
      asio::post(self->strand_,
                 [self, err = std::string(e.what())] { self->on_committed({}, err); });
    }
  });
}

// Every stream of this swarm stops writing before anyone learns of the failure: a retry opens
// the same partial file anew, and no block of ours may land in it afterwards.
void BlobSwarm::fail_fetch(const std::string& error) {
  failed_ = true;
  for (auto& p : std::vector<PeerPtr>(peers_)) close(p, "fetch failed", false);
  if (partial_) partial_->retire();
  finish(FetchResult{false, {}, error, {}});
  fail_waiters();
}

void BlobSwarm::on_committed(std::filesystem::path path, std::string error) {
  if (!error.empty()) {
    spdlog::error("fetch {}: {}", info_.digest.str(), error);
    return fail_fetch(error);
  }
  complete_ = true;
  check_waiters();
  ctx_.metrics.blobs_downloading.add(-1);
  ctx_.metrics.blobs_seeding.add(1);
  announce_completed_ = true;
  next_announce_ = Clock::now();
  update_stats();
  spdlog::info("fetch {}: complete and verified ({} from peers, {} from origins)",
               info_.digest.str(), from_peers_, from_origins_);
  finish(FetchResult{true, path, "", stats()});
  // Connections to origins and to other complete peers carry nothing any more. The others hear
  // every HAVE we held back, so they know we are complete; a link to one that completes later
  // closes when its last HAVE arrives (on_frame).
  for (auto& p : std::vector<PeerPtr>(peers_)) {
    if (!p->hello_received) continue;
    if (has_every_piece(*p)) {
      say_and_close(p, wire::encode_bye(), "both complete");
    } else if (!p->deferred_haves.empty()) {
      send(p, std::move(p->deferred_haves));
      p->deferred_haves.clear();
    }
  }
}

void BlobSwarm::finish(FetchResult result) {
  if (result_set_) return;
  result_set_ = true;
  result.stats = stats();
  result_promise_.set_value(std::move(result));
}

// ---- serving ----------------------------------------------------------------------------------

void BlobSwarm::on_request(const PeerPtr& p, const wire::Request& r) {
  if (r.piece >= info_.piece_count()) return protocol_error(p, "REQUEST for a piece out of range");
  uint32_t piece_size = info_.piece_size(r.piece);
  if (r.length == 0 || r.length > wire::kMaxBlock || r.offset >= piece_size ||
      r.length > piece_size - r.offset) {
    return protocol_error(p, "REQUEST outside its piece or larger than a block");
  }
  if (!have(r.piece)) return protocol_error(p, "REQUEST for a piece we never announced");
  if (p->upload_queue.size() >= ctx_.settings.max_queued_requests) {
    return protocol_error(p, "too many queued REQUESTs");
  }
  p->upload_queue.push_back(r);
  serve_uploads(p);
}

void BlobSwarm::serve_uploads(const PeerPtr& p) {
  if (p->closed || p->closing || p->upload_queue.empty()) return settle_upload_slot(p);
  if (!upload_slots_.acquire(peer_key(p))) return;  // waits its turn in line
  while (!p->closed && !p->write_throttled && p->data_in_flight < kDataFramesInFlight &&
         !p->upload_queue.empty() && upload_slots_.holds(peer_key(p))) {
    auto wait = ctx_.egress.reserve(p->upload_queue.front().length);
    if (wait.count() > 0) {
      p->write_throttled = true;
      p->write_throttle.expires_after(wait);
      p->write_throttle.async_wait(
          asio::bind_executor(strand_, [self = shared_from_this(), p](error_code ec) {
            p->write_throttled = false;
            if (ec || p->closed) return;
            self->send_block(p);
            self->serve_uploads(p);
          }));
      return;
    }
    send_block(p);
  }
}

void BlobSwarm::send_block(const PeerPtr& p) {
  if (p->upload_queue.empty()) return;  // cancelled while we waited for tokens
  wire::Request r = p->upload_queue.front();
  p->upload_queue.pop_front();
  if (p->upload_queue.empty()) {
    settle_upload_slot(p);
  } else if (p->upload_queue.front().piece != r.piece) {
    resume_uploads(upload_slots_.rotate(peer_key(p)));  // a piece sent: the next in line's turn
  }
  // A piece still in memory is sent from its own buffer; any other block is spliced from disk
  // (zero-copy, pipe_pool.h), or read into a buffer where that is off or no pipe is to be had.
  uint64_t at = info_.piece_offset(r.piece) + r.offset;
  BufferPtr block = hot_.get(r.piece);
  size_t offset = r.offset;
  bool from_file = !block && ctx_.settings.zero_copy_uploads && verified(at, r.length) &&
                   (p->pipe || (p->pipe = acquire_pipe()));
  if (block) {
    ctx_.metrics.bytes_to_peers_from_memory.inc(r.length);
  } else if (from_file) {
    ctx_.metrics.bytes_to_peers_zero_copy.inc(r.length);
  } else {
    block = acquire_buffer(r.length);
    offset = 0;
    try {
      if (!read(at, block->data(), r.length, block->capacity())) {
        throw std::runtime_error("block not verified here");
      }
    } catch (const std::exception& e) {
      spdlog::error("swarm {}: cannot read block to serve: {}", info_.digest.str(), e.what());
      return close(p, "local read error", false);
    }
  }
  ++p->data_in_flight;
  std::string header = wire::encode_data_prefix(r.piece, r.offset, r.length);
  if (from_file) {
    send_from_file(p, std::move(header), at, r.length);
  } else {
    send(p, std::move(header), std::move(block), offset, r.length);
  }
  ctx_.metrics.bytes_to_peers.inc(r.length);
  std::lock_guard lock(stats_mu_);
  uploaded_ += r.length;
}

void BlobSwarm::settle_upload_slot(const PeerPtr& p) {
  if (p->closed || p->upload_queue.empty()) resume_uploads(upload_slots_.release(peer_key(p)));
}

void BlobSwarm::resume_uploads(const std::vector<UploadSlots::Key>& granted) {
  for (UploadSlots::Key key : granted) {
    PeerPtr p = find_peer(key);
    if (!p) continue;
    // On the strand, later: the caller may be in the middle of serving another peer.
    asio::post(strand_, [self = shared_from_this(), p] { self->serve_uploads(p); });
  }
}

// Origin side (super-seeding, see reveal_policy.h): show this agent the pieces its turn brings.
void BlobSwarm::reveal(const PeerPtr& p) {
  if (!reveals_ || !complete_ || p->is_origin || p->closed || !p->hello_received) return;
  auto shown = reveals_->next(peer_key(p), [&](uint32_t i) { return wire::bit_get(p->bits, i); });
  std::string frames;
  for (uint32_t piece : shown) frames += wire::encode(wire::Have{piece});
  if (!frames.empty()) send(p, std::move(frames));
  reveal_granted();
}

// Agents whose turn came when another's ended or it went away.
void BlobSwarm::reveal_granted() {
  for (RevealPolicy::PeerKey key : reveals_->take_granted()) {
    if (PeerPtr p = find_peer(key)) reveal(p);
  }
}

PeerPtr BlobSwarm::find_peer(uint64_t key) const {
  auto it = std::find_if(peers_.begin(), peers_.end(),
                         [key](const PeerPtr& p) { return peer_key(p) == key; });
  return it == peers_.end() ? nullptr : *it;
}

// ---- writing ----------------------------------------------------------------------------------

void BlobSwarm::send(const PeerPtr& p, std::string frame, BufferPtr payload, size_t offset,
                     size_t length) {
  if (p->closed || p->closing) return;
  if (payload && length == 0) length = payload->size() - offset;
  p->out.push_back({std::move(frame), std::move(payload), offset, length});
  if (!p->writing) do_write(p);
}

void BlobSwarm::send_from_file(const PeerPtr& p, std::string header, uint64_t offset,
                               size_t length) {
  if (p->closed || p->closing) return;
  Peer::OutFrame f{std::move(header), nullptr, 0, length};
  f.from_file = true;
  f.file_offset = offset;
  p->out.push_back(std::move(f));
  if (!p->writing) do_write(p);
}

void BlobSwarm::do_write(const PeerPtr& p) {
  if (p->closed || p->writing || p->out.empty()) return;  // one write at a time
  // Frames go out together, up to a block spliced from the file: its header ends this write.
  std::vector<asio::const_buffer> buffers;
  size_t n = 0;
  bool then_splice = false;
  while (n < p->out.size() && n < kMaxFramesPerWrite && !then_splice) {
    const auto& f = p->out[n++];
    buffers.push_back(asio::buffer(f.frame));
    if (f.payload) buffers.push_back(asio::buffer(f.payload->data() + f.offset, f.length));
    then_splice = f.from_file;
  }
  p->writing = n;
  asio::async_write(
      p->socket, buffers,
      asio::bind_executor(strand_, [self = shared_from_this(), p, then_splice](error_code ec,
                                                                              size_t) {
        if (p->closed) return;
        if (ec) return self->close(p, "write: " + ec.message(), true);
        size_t done = then_splice ? p->writing - 1 : p->writing;
        uint32_t data_frames = 0;
        for (size_t i = 0; i < done; ++i) {
          if (p->out.front().payload) ++data_frames;
          p->out.pop_front();
        }
        if (then_splice) {
          p->data_in_flight -= data_frames;
          p->writing = 1;
          p->spliced_in = p->spliced_out = 0;
          // splice(2) must not block the strand on a full socket.
          if (!p->socket.native_non_blocking()) p->socket.native_non_blocking(true, ec);
          if (ec) return self->close(p, "socket: " + ec.message(), true);
          if (data_frames) self->serve_uploads(p);  // queued behind the block being spliced
          if (p->closed) return;
          return self->splice_payload(p);
        }
        self->wrote(p, data_frames);
      }));
}

// The block at the front of `out` goes file -> pipe -> socket until the socket is full, then
// again once it can take more. The pipe is refilled only when empty, so a block that starts on a
// page is read in whole pages, around the page cache (DirectIo::splice_to_pipe).
void BlobSwarm::splice_payload(const PeerPtr& p) {
  const Peer::OutFrame& f = p->out.front();
  Pipe& pipe = *p->pipe;
  int socket = p->socket.native_handle();
  while (p->spliced_out < f.length) {
    if (pipe.held == 0) {
      if (ctx_.settings.read_threads > 0) return fill_pipe(p);  // comes back once it holds bytes
      auto [want, offset] = next_block_part(p);  // read on the event loop
      std::string error = read_into(pipe, offset, want);
      if (!error.empty()) return read_failed(p, error);
      p->spliced_in += pipe.held;
      continue;
    }
    ssize_t sent = ::splice(pipe.read_fd, nullptr, socket, nullptr, pipe.held,
                            SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
    if (sent < 0 && errno == EINTR) continue;
    if (sent < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return wait_writable(p);
    if (sent < 0) return close(p, std::string("write: ") + std::strerror(errno), true);
    if (sent == 0) return close(p, "write: the socket took nothing", true);
    pipe.held -= static_cast<size_t>(sent);
    p->spliced_out += static_cast<size_t>(sent);
  }
  p->out.pop_front();
  // The pipe is empty: back to the pool unless another block will use it.
  if (std::none_of(p->out.begin(), p->out.end(), [](const auto& o) { return o.from_file; })) {
    p->pipe.reset();
  }
  wrote(p, 1);
}

void BlobSwarm::wait_writable(const PeerPtr& p) {
  uint64_t wait = ++p->splice_wait;
  p->socket.async_wait(
      tcp::socket::wait_write,
      asio::bind_executor(strand_, [self = shared_from_this(), p, wait](error_code ec) {
        if (p->closed || wait != p->splice_wait) return;  // stale: the splice went on without it
        if (ec) return self->close(p, "write: " + ec.message(), true);
        self->splice_payload(p);
      }));
  // The reactor watches for edges: had the socket drained between the EAGAIN and the wait above,
  // its edge went to no one and the wait could last until the peer next sends us something.
  pollfd socket{p->socket.native_handle(), POLLOUT, 0};
  if (::poll(&socket, 1, 0) == 1 && (socket.revents & POLLOUT)) {
    ++p->splice_wait;
    asio::post(strand_, [self = shared_from_this(), p] {
      if (!p->closed) self->splice_payload(p);
    });
  }
}

// The next part of the block at the front of `out` into the empty pipe, on the read pool: a disk
// read waits on the device, and on the event loop it would stall every connection of this node.
void BlobSwarm::fill_pipe(const PeerPtr& p) {
  auto [want, offset] = next_block_part(p);
  asio::post(ctx_.reads, [self = shared_from_this(), p, pipe = p->pipe, want, offset] {
    std::string error = self->read_into(*pipe, offset, want);
    size_t got = pipe->held;
    asio::post(self->strand_, [self, p, error, got] {
      if (p->closed) return;
      if (!error.empty()) return self->read_failed(p, error);
      p->spliced_in += got;
      self->splice_payload(p);
    });
  });
}

std::pair<size_t, uint64_t> BlobSwarm::next_block_part(const PeerPtr& p) const {
  const Peer::OutFrame& f = p->out.front();
  return {std::min(p->pipe->capacity, f.length - p->spliced_in), f.file_offset + p->spliced_in};
}

std::string BlobSwarm::read_into(Pipe& pipe, uint64_t offset, size_t size) const {
  try {
    size_t got = read_into_pipe(pipe.write_fd, offset, size);
    if (got == 0) return "file ends before the block";
    // Counted before a reading thread lets go of the pipe: one with bytes in it is never reused.
    pipe.held += got;
    return {};
  } catch (const std::exception& e) {
    return e.what();
  }
}

void BlobSwarm::read_failed(const PeerPtr& p, const std::string& error) {
  spdlog::error("swarm {}: cannot read block to serve: {}", info_.digest.str(), error);
  close(p, "local read error", false);
}

size_t BlobSwarm::read_into_pipe(int pipe_w, uint64_t offset, size_t size) const {
  if (seed_fd_ >= 0) {
    return fileio::splice_to_pipe(seed_fd_, pipe_w, size, static_cast<off_t>(offset),
                                  info_.digest.str());
  }
  return partial_->splice_to(pipe_w, offset, size);
}

void BlobSwarm::wrote(const PeerPtr& p, uint32_t data_frames) {
  p->writing = 0;
  p->data_in_flight -= data_frames;
  if (p->closing && p->out.empty()) return close(p, p->closing->why, p->closing->backoff);
  if (data_frames) serve_uploads(p);
  do_write(p);
}

// ---- figures ----------------------------------------------------------------------------------

void BlobSwarm::update_stats() {
  std::lock_guard lock(stats_mu_);
  stats_.size = info_.size;
  stats_.pieces_total = info_.piece_count();
  stats_.pieces_done = complete_ ? info_.piece_count() : info_.piece_count() - picker_->missing();
  stats_.connections = static_cast<uint32_t>(peers_.size());
  stats_.complete = complete_;
}

BlobStats BlobSwarm::stats() const {
  std::lock_guard lock(stats_mu_);
  BlobStats s = stats_;
  s.bytes_from_peers = from_peers_;
  s.bytes_from_origins = from_origins_;
  s.bytes_from_fallback = from_fallback_;
  s.bytes_uploaded = uploaded_;
  s.pieces_failed = pieces_failed_;
  s.peers_banned = peers_banned_;
  return s;
}

}  // namespace fanout::swarm

namespace fanout::swarm {

// ---- streaming reads --------------------------------------------------------------------------

std::shared_future<bool> BlobSwarm::prioritize(uint64_t offset, uint64_t length) {
  auto promise = std::make_shared<std::promise<bool>>();
  auto future = promise->get_future().share();
  asio::post(strand_, [self = shared_from_this(), promise, offset, length] {
    const auto& info = self->info_;
    if (self->failed_ || self->stopped_ || offset > info.size || length > info.size - offset) {
      return promise->set_value(false);
    }
    if (self->complete_ || length == 0) return promise->set_value(true);
    uint32_t first = static_cast<uint32_t>(offset / info.piece_length);
    uint32_t last = static_cast<uint32_t>((offset + length - 1) / info.piece_length);
    bool ready = true;
    for (uint32_t i = first; i <= last; ++i) {
      if (self->picker_->have(i)) continue;
      self->picker_->set_priority(i);
      ready = false;
    }
    if (ready) return promise->set_value(true);
    self->waiters_.push_back({first, last, promise});
    self->fill_all();
  });
  return future;
}

bool BlobSwarm::verified(uint64_t offset, uint64_t length) const {
  if (offset > info_.size || length > info_.size - offset) return false;
  if (length == 0 || seed_fd_ >= 0) return true;
  uint32_t first = static_cast<uint32_t>(offset / info_.piece_length);
  uint32_t last = static_cast<uint32_t>((offset + length - 1) / info_.piece_length);
  for (uint32_t i = first; i <= last; ++i) {
    if (!partial_->has_piece(i)) return false;
  }
  return true;
}

bool BlobSwarm::read(uint64_t offset, void* out, size_t length, size_t capacity) const {
  if (!verified(offset, length)) return false;
  if (length == 0) return true;
  if (seed_fd_ >= 0) {
    fileio::pread_all(seed_fd_, out, length, static_cast<off_t>(offset), info_.digest.str());
  } else {
    partial_->read(offset, out, length, capacity);
  }
  return true;
}

void BlobSwarm::check_waiters() {
  auto ready = [&](const RangeWaiter& w) {
    if (complete_) return true;
    for (uint32_t i = w.first; i <= w.last; ++i) {
      if (!picker_->have(i)) return false;
    }
    return true;
  };
  for (auto it = waiters_.begin(); it != waiters_.end();) {
    if (ready(*it)) {
      it->promise->set_value(true);
      it = waiters_.erase(it);
    } else {
      ++it;
    }
  }
}

void BlobSwarm::fail_waiters() {
  for (auto& w : waiters_) w.promise->set_value(false);
  waiters_.clear();
}

// ---- HTTP fallback ----------------------------------------------------------------------------

// When no peer has delivered a piece for `fallback_after`, missing pieces come from the fallback
// source (an origin's ranged GET), two at a time, verified like any other piece, until peers
// deliver again.
void BlobSwarm::maybe_fallback() {
  if (!ctx_.fallback || complete_ || committing_ || stopped_ || failed_) return;
  auto now = Clock::now();
  if (now - last_progress_ < ctx_.settings.fallback_after || now < fallback_retry_after_) return;
  while (fallback_running_ < 2) {
    auto piece = picker_->pick_any();
    if (!piece) break;
    if (fallback_running_ == 0) {
      spdlog::info("fetch {}: no progress from the swarm for {} ms, using the fallback",
                   info_.digest.str(), ctx_.settings.fallback_after.count());
    }
    picker_->started(*piece);
    ++fallback_running_;
    uint64_t offset = info_.piece_offset(*piece);
    uint32_t size = info_.piece_size(*piece);
    asio::post(ctx_.disk, [self = shared_from_this(), fallback = ctx_.fallback, partial = partial_,
                           piece = *piece, offset, size] {
      bool ok = false;
      std::string error;
      try {
        auto data = acquire_buffer(size);
        fallback->read(self->info_.digest, offset, size, data->data());
        ok = partial->write_piece(piece, data->data(), size);
      } catch (const std::exception& e) {
        error = e.what();
      }
      asio::post(self->strand_,
                 [self, piece, ok, error] { self->on_fallback_piece(piece, ok, error); });
    });
  }
}

void BlobSwarm::on_fallback_piece(uint32_t piece, bool ok, std::string error) {
  --fallback_running_;
  picker_->stopped(piece);
  if (stopped_ || complete_ || failed_) return;
  if (!error.empty() || !ok) {
    if (!ok && error.empty()) {
      ctx_.metrics.pieces_failed.inc();
      std::lock_guard lock(stats_mu_);
      ++pieces_failed_;
    }
    spdlog::warn("fetch {}: fallback piece {}: {}", info_.digest.str(), piece,
                 error.empty() ? "failed SHA-256 verification" : error);
    fallback_retry_after_ = Clock::now() + std::chrono::seconds(1);
    fill_all();
    return;
  }
  if (picker_->have(piece)) return;
  piece_done(piece, Source::kFallback);
}

}  // namespace fanout::swarm
