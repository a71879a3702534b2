#pragma once
// All state of one blob's swarm on this node: who we are connected to, which pieces we have and
// are fetching, what we serve. Everything runs on the blob's strand, so none of it needs locks;
// piece hashing and disk writes go to the disk pool and come back as events.
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <set>

#include "common/store/partial_blob.h"
#include "common/swarm/engine_context.h"
#include "common/swarm/hot_pieces.h"
#include "common/swarm/peer.h"
#include "common/swarm/piece_picker.h"
#include "common/swarm/reveal_policy.h"
#include "common/swarm/upload_slots.h"
#include "proto/metainfo.h"

namespace fanout::swarm {

class BlobSwarm : public std::enable_shared_from_this<BlobSwarm> {
 public:
  using Strand = boost::asio::strand<boost::asio::io_context::executor_type>;
  using Clock = std::chrono::steady_clock;

  // Seeds a complete blob read from `fd` (owned).
  BlobSwarm(EngineContext& ctx, proto::Metainfo info, int fd);
  // Fetches into `partial`, then seeds it.
  BlobSwarm(EngineContext& ctx, proto::Metainfo info, std::shared_ptr<PartialBlob> partial);
  ~BlobSwarm();

  // All of these may be called from any thread; they hop onto the strand.
  void start();
  void attach_incoming(PeerPtr peer, proto::wire::Hello hello);
  void add_peers(std::vector<PeerAddress> peers);
  // Closes every connection, fails an unfinished fetch, announces "stopped"; the future is ready
  // once that ran on the strand.
  std::future<void> shutdown();

  // See Engine::prioritize / Engine::read. `capacity`: what `out` can hold (a page-aligned `out`
  // with room for whole pages is read around the page cache, see PartialBlob::read).
  std::shared_future<bool> prioritize(uint64_t offset, uint64_t length);
  bool read(uint64_t offset, void* out, size_t length, size_t capacity = 0) const;
  // Whether every byte of [offset, offset + length) is ours to serve (its pieces verified).
  bool verified(uint64_t offset, uint64_t length) const;

  std::shared_future<FetchResult> result() const { return result_future_; }
  BlobStats stats() const;
  bool failed() const { return failed_.load(); }
  const proto::Metainfo& info() const { return info_; }

 private:
  struct Slot {  // a peer's listen address we may dial
    Clock::time_point retry_after{};
    bool connected = false;
    bool banned = false;
    std::optional<proto::wire::PeerId> id;
    uint64_t order = 0;  // when the tracker first named it: its answers put nearby peers first
  };
  uint64_t next_slot_order_ = 0;
  void learn_peer(const PeerAddress& address);

  bool seeding() const { return complete_; }
  bool have(uint32_t piece) const;
  uint32_t block_count(uint32_t piece) const;
  uint32_t block_size(uint32_t piece, uint32_t block) const;

  // Connections.
  void connect(const PeerAddress& address);
  void on_connected(const PeerPtr& p);
  bool accept_hello(const PeerPtr& p, const proto::wire::Hello& hello);
  void send_hello(const PeerPtr& p);
  void close(const PeerPtr& p, const std::string& reason, bool backoff);
  void say_and_close(const PeerPtr& p, const std::string& frame, const std::string& why,
                     bool backoff = false);
  void ban(const proto::wire::PeerId& id, const std::optional<PeerAddress>& dialed,
           const std::string& why);
  void maybe_connect();

  // Reading frames.
  void read_frames(const PeerPtr& p);
  // A DATA block on its way in: where its bytes go.
  struct IncomingBlock {
    uint32_t piece = 0, offset = 0, size = 0;
    BufferPtr target;  // null: the block is dropped (into the peer's discard buffer)
    std::shared_ptr<PieceStream> stream;  // the piece's, if streamed
    uint8_t* dest = nullptr;
  };
  // Both return true when the block was wholly in the input buffer and is handled; false when
  // the caller must stop parsing: the rest is coming (read_frames() runs again once it is in,
  // maybe already has) or the connection is closing.
  bool on_data_prefix(const PeerPtr& p, const proto::wire::DataPrefix& prefix, uint32_t payload);
  bool receive_block(const PeerPtr& p, IncomingBlock b);
  void receive_payload(const PeerPtr& p, uint8_t* dest, size_t size, std::function<void()> done);
  void set_receive_low_water(const PeerPtr& p, size_t bytes);
  void on_data(const PeerPtr& p, const IncomingBlock& b);
  void on_frame(const PeerPtr& p, proto::wire::FrameType type);
  void protocol_error(const PeerPtr& p, const std::string& what);
  // An origin (origins only seed, never fetch), or an agent whose HELLO and HAVEs name every
  // piece: it wants nothing from us.
  bool has_every_piece(const Peer& p) const {
    return p.is_origin || p.pieces_held == info_.piece_count();
  }

  // Fetching.
  void fill_requests(const PeerPtr& p);
  void fill_all();
  void start_piece(const PeerPtr& p, uint32_t piece);
  // Whether some peer's PieceStream is writing `piece` (one writer per piece).
  bool streaming(uint32_t piece) const;
  void piece_received(const PeerPtr& p, uint32_t piece);
  enum class Source { kPeer, kOrigin, kFallback };
  void on_verified(uint32_t piece, BufferPtr data, bool ok, proto::wire::PeerId from,
                   std::optional<PeerAddress> dialed, Source source, std::string error);
  void piece_done(uint32_t piece, Source source);
  void maybe_fallback();
  void on_fallback_piece(uint32_t piece, bool ok, std::string error);
  void check_waiters();
  void fail_waiters();
  // Stops the fetch for good: peers closed, the partial file retired, waiters told.
  void fail_fetch(const std::string& error);
  void cancel_piece(const PeerPtr& p, uint32_t piece);
  void commit();
  void on_committed(std::filesystem::path path, std::string error);
  void finish(FetchResult result);

  // Serving.
  void on_request(const PeerPtr& p, const proto::wire::Request& r);
  void serve_uploads(const PeerPtr& p);
  // Gives up p's upload slot once its queue is empty, and resumes whoever got a slot.
  void settle_upload_slot(const PeerPtr& p);
  void resume_uploads(const std::vector<UploadSlots::Key>& granted);
  void send_block(const PeerPtr& p);
  void reveal(const PeerPtr& p);
  void reveal_granted();
  // A connection's key in RevealPolicy and UploadSlots, and the connection back from its key
  // (nullptr once it is gone).
  static uint64_t peer_key(const PeerPtr& p) { return reinterpret_cast<uintptr_t>(p.get()); }
  PeerPtr find_peer(uint64_t key) const;

  // Writing.
  // Queues `frame`, then payload[offset, offset + length) if any (length 0: to its end).
  void send(const PeerPtr& p, std::string frame, BufferPtr payload = nullptr, size_t offset = 0,
            size_t length = 0);
  // Queues a DATA block sent straight from the blob's file (`header`, then `length` bytes at
  // `offset`; zero-copy, p->pipe set).
  void send_from_file(const PeerPtr& p, std::string header, uint64_t offset, size_t length);
  void do_write(const PeerPtr& p);
  void splice_payload(const PeerPtr& p);
  // Resumes splice_payload once the socket can take more.
  void wait_writable(const PeerPtr& p);
  // Refills p's empty pipe on the read pool, then splices on.
  void fill_pipe(const PeerPtr& p);
  // What to read next of the block at the front of p->out: {bytes, blob offset}.
  std::pair<size_t, uint64_t> next_block_part(const PeerPtr& p) const;
  // Reads `size` bytes from `offset` into the empty `pipe` (thread-safe); the error, or empty.
  std::string read_into(Pipe& pipe, uint64_t offset, size_t size) const;
  void read_failed(const PeerPtr& p, const std::string& error);
  // Moves up to `size` bytes of the blob from `offset` into a pipe; returns how many. Thread-safe.
  size_t read_into_pipe(int pipe_w, uint64_t offset, size_t size) const;
  // A write (or splice) finished, taking `data_frames` DATA blocks off `out`: what comes next.
  void wrote(const PeerPtr& p, uint32_t data_frames);

  // Housekeeping.
  void tick();
  AnnounceRequest announce_request() const;
  void maybe_announce();
  void on_announce(AnnounceResponse response);
  void update_stats();

  EngineContext& ctx_;
  proto::Metainfo info_;
  Strand strand_;
  boost::asio::steady_timer timer_;
  int seed_fd_ = -1;
  std::shared_ptr<PartialBlob> partial_;
  std::unique_ptr<PiecePicker> picker_;  // only while fetching
  uint32_t pieces_in_flight_ = 0;  // entries of every agent peer's `downloading` (not origins')
  bool complete_ = false;
  bool committing_ = false;
  bool stopped_ = false;
  std::atomic<bool> failed_{false};
  std::mt19937_64 rng_;

  std::vector<PeerPtr> peers_;
  std::map<PeerAddress, Slot> slots_;
  std::set<proto::wire::PeerId> banned_;
  std::unique_ptr<RevealPolicy> reveals_;  // origins: whom to show which pieces
  UploadSlots upload_slots_{ctx_.settings.upload_slots};
  HotPieces hot_{ctx_.settings.hot_piece_bytes};  // verified pieces served from memory

  // Streaming readers waiting for pieces [first, last] to be verified.
  struct RangeWaiter {
    uint32_t first, last;
    std::shared_ptr<std::promise<bool>> promise;
  };
  std::vector<RangeWaiter> waiters_;

  // Fallback: progress means a piece verified from a peer; fallback pieces do not count.
  Clock::time_point last_progress_ = Clock::now();
  Clock::time_point fallback_retry_after_{};
  uint32_t fallback_running_ = 0;

  // Announcing.
  bool announcing_ = false;
  bool announced_started_ = false;
  bool announce_completed_ = false;
  Clock::time_point next_announce_{};

  // Figures, readable from any thread.
  mutable std::mutex stats_mu_;
  BlobStats stats_;
  uint64_t downloaded_ = 0, uploaded_ = 0, from_origins_ = 0, from_peers_ = 0, from_fallback_ = 0;
  uint32_t pieces_failed_ = 0, peers_banned_ = 0;

  std::promise<FetchResult> result_promise_;
  std::shared_future<FetchResult> result_future_;
  bool result_set_ = false;
};

}  // namespace fanout::swarm
