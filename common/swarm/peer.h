#pragma once
// One connection to one peer about one blob. Plain state: the BlobSwarm that owns it runs all of
// its logic on the blob's strand.
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include <array>
#include <chrono>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/swarm/buffer.h"
#include "common/swarm/peer_discovery.h"
#include "common/swarm/peer_rate.h"
#include "common/swarm/pipe_pool.h"
#include "common/swarm/piece_stream.h"
#include "proto/peer_wire.h"

namespace fanout::swarm {

struct Peer {
  using Clock = std::chrono::steady_clock;

  explicit Peer(boost::asio::ip::tcp::socket s)
      : socket(std::move(s)), read_throttle(socket.get_executor()),
        write_throttle(socket.get_executor()) {}

  boost::asio::ip::tcp::socket socket;
  // Waits imposed by the node's ingress/egress token buckets.
  boost::asio::steady_timer read_throttle;
  boost::asio::steady_timer write_throttle;
  bool write_throttled = false;
  int low_water = 1;  // the socket's SO_RCVLOWAT (receive_payload)
  bool outgoing = false;
  std::optional<PeerAddress> dialed;  // the listen address we connected to (outgoing only)
  std::string remote;                 // for logs
  Clock::time_point started = Clock::now();
  Clock::time_point last_receive = Clock::now();
  bool closed = false;
  // Set by say_and_close() while a write was in flight: the last frame waits for it, then the
  // connection closes with this reason.
  struct Closing {
    std::string why;
    bool backoff = false;
  };
  std::optional<Closing> closing;

  // Known once HELLO arrived.
  bool hello_received = false;
  proto::wire::PeerId id{};
  bool is_origin = false;
  std::vector<uint8_t> bits;  // pieces the peer told us it has
  uint32_t pieces_held = 0;   // bits set in `bits`

  // Reading: bytes received and not parsed yet are rx[rx_begin, rx_end) (BlobSwarm::read_frames).
  // Big enough for any frame but DATA (HELLO with 16,384 pieces is ~2 KiB); a DATA block's
  // payload is read past it, straight into its buffer.
  static constexpr size_t kInputBuffer = 16 << 10;
  static_assert(proto::wire::kHeaderSize + proto::wire::kPeerIdSize + Digest::kSize + 1 +
                    proto::wire::kMaxPieces / 8 <= kInputBuffer);
  std::vector<uint8_t> rx = std::vector<uint8_t>(kInputBuffer);
  size_t rx_begin = 0, rx_end = 0;
  std::array<uint8_t, proto::wire::kHeaderSize> header{};  // the incoming handshake's HELLO
  std::string body;  // the frame being handled
  std::vector<uint8_t> discard;  // late DATA for cancelled blocks is read into here and dropped

  // Pieces we are fetching from this peer: streamed to the partial file block by block, or (in
  // the endgame, or when verified pieces are kept in memory) into one buffer for the piece. The
  // buffers are shared with any read in progress, so a cancelled piece's memory outlives the
  // socket operation writing into it.
  struct Pending {
    std::shared_ptr<PieceStream> stream;
    BufferPtr data;  // when not streamed
    std::vector<uint8_t> got;  // per block
    uint32_t blocks_left = 0;
    Clock::time_point asked = Clock::now();
  };
  std::map<uint32_t, Pending> downloading;
  PieceRate rate;  // how fast its recent pieces arrived: the fastest peers are asked first

  // HAVEs for pieces the peer has too, held back until our copy is complete (piece_done holds
  // them, on_committed sends them).
  std::string deferred_haves;

  // Serving.
  std::deque<proto::wire::Request> upload_queue;
  uint32_t data_in_flight = 0;

  // Writing: frames go out in order, several per syscall.
  struct OutFrame {
    std::string frame;
    BufferPtr payload;  // DATA block, sent after `frame`: payload[offset, offset + length)
    size_t offset = 0;
    size_t length = 0;
    // Or a DATA block spliced from the blob's file at `file_offset` (zero-copy uploads): `frame`
    // ends one write, then the block's `length` bytes go file -> pipe -> socket.
    bool from_file = false;
    uint64_t file_offset = 0;
  };
  std::deque<OutFrame> out;
  size_t writing = 0;  // frames of `out` in the current async_write or splice
  // Zero-copy uploads: the pipe blocks go through (kept while more are queued), and how far the
  // block at the front of `out` has got into it and out of it.
  PipePtr pipe;
  size_t spliced_in = 0;
  size_t spliced_out = 0;
  uint64_t splice_wait = 0;  // which wait for a writable socket is the live one

};

using PeerPtr = std::shared_ptr<Peer>;

}  // namespace fanout::swarm
