#pragma once
// Every knob of the peer engine, in one place, each documented where it is declared.
#include <chrono>
#include <cstdint>
#include <string>

namespace fanout::swarm {

struct Settings {
  // Address the peer protocol listens on. Port 0 picks a free port (see Engine::listen_port()).
  std::string listen_host = "0.0.0.0";
  uint16_t listen_port = 0;
  // Address announced to the tracker as `ip`; empty lets the tracker use the connection's source.
  std::string advertise_host;
  // Event-loop threads; 0 means one per core.
  unsigned threads = 0;
  // Threads that hash pieces and write them; 0 means four, or one per event-loop thread if that is
  // more. More than the cores: a direct write holds its thread until the device has the data, and
  // with one such thread per agent, blocks waited seconds in its queue in the 50-agent benchmark.
  unsigned disk_threads = 0;
  // Threads that read blocks being uploaded from disk (zero_copy_uploads), apart from the disk
  // threads so they do not queue behind writes. Read on the event loop, a block stalled every
  // connection of the node while the device answered: in the 50-agent benchmark the loops spent
  // a third of their waits in those reads (bench/README.md, "Zero-copy uploads"). 0: read on the
  // event loop all the same.
  unsigned read_threads = 2;
  // Bytes of a block left to pile up in the kernel before the event loop is woken to read them
  // (SO_RCVLOWAT, lowered to what is left of the block). Woken for every segment, a node paid an
  // epoll_wait and a recv per ~40 KiB; in the 50-agent benchmark this halved the system calls
  // (bench/README.md, "Fewer wake-ups, fewer faults"). 0 wakes it for every segment.
  uint32_t receive_batch = 256u << 10;
  // Size of one REQUEST/DATA block. Pieces are fetched in blocks so a slow peer holds little.
  uint32_t block_size = 1u << 20;
  // Pieces requested ahead from one peer. One: the node's in-flight pieces (below) are then
  // spread over as many peers, so one overloaded peer holds one of them, not all. With 4, a node
  // that queued its whole in-flight allowance at a peer serving a dozen others waited 11-13 s for
  // every piece's first byte and finished last (bench/README.md, "Stragglers").
  uint32_t pipeline_pieces = 1;
  // Origins: pieces shown to an agent per super-seeding turn (reveal_policy.h).
  uint32_t reveal_pieces = 4;
  // Origins: agents shown pieces at once (super-seeding turns, see reveal_policy.h). A few
  // agents fed at full speed spread the blob faster, and with fewer duplicates, than every
  // connected agent fed a sliver of the origin's upload.
  uint32_t reveal_slots = 16;
  // Pieces of one blob being fetched at once from agent peers. Kept small so each piece
  // arrives quickly and can be shared at once: a node that asks every peer for several pieces
  // splits its link over dozens of half-done pieces and has nothing to upload for a long time.
  // Requests to origins do not count: an origin's reveals already bound them, and an origin
  // link left idle while the cap is full of agent pieces starves the whole swarm of new pieces.
  uint32_t max_pieces_in_flight = 6;
  // How long a peer's measured piece rate is trusted when choosing whom to ask next
  // (peer_rate.h); after that, or before the first piece, it ranks as untried and is asked first.
  std::chrono::milliseconds peer_rate_trust{std::chrono::seconds(10)};
  // Requesters served at once per blob, one piece per turn (upload_slots.h says why); the rest
  // wait in line. 0 = all at once, the default: on the 50-agent benchmark 2 or 4 slots moved the
  // figures by less than run-to-run noise (bench/README.md), though the simulator favours 8 (with
  // max_pieces_in_flight 8) at 1,000 nodes.
  uint32_t upload_slots = 0;
  // Verified pieces of each blob being fetched kept in memory, newest first, to serve peers
  // without reading the file back (hot_pieces.h). 0, the default: pieces are streamed to disk
  // block by block as they arrive and served from the file (piece_stream.h says why); above 0
  // each piece in flight is received into a buffer of its own so it can be kept.
  uint64_t hot_piece_bytes = 0;
  // Blocks served from disk go file -> pipe -> socket with splice(2), never copied through our
  // memory (pipe_pool.h); off, they are read into a buffer and sent from it.
  bool zero_copy_uploads = true;
  // Outgoing connections this node opens per blob; incoming ones are capped by max_connections.
  uint32_t max_peers_per_blob = 8;
  // Hard cap on connections (incoming + outgoing) across all blobs on this node.
  uint32_t max_connections = 512;
  // Queued REQUESTs we serve per connection before treating the peer as abusive.
  uint32_t max_queued_requests = 256;
  // Re-announce at least this often while downloading (the tracker's interval applies otherwise).
  std::chrono::milliseconds announce_interval{std::chrono::seconds(5)};
  // Re-announce quickly when a download has no usable peer.
  std::chrono::milliseconds starved_announce_interval{std::chrono::milliseconds(500)};
  // A connection that sends nothing for this long while we wait on it is dropped.
  std::chrono::milliseconds peer_timeout{std::chrono::seconds(30)};
  // How long a peer that timed out or failed to connect is skipped.
  std::chrono::milliseconds peer_backoff{std::chrono::seconds(10)};
  // Set on origins: marks this node's HELLO so agents count origin bytes apart, and its
  // announces so the tracker hands it out only while few agents have a blob.
  bool is_origin = false;
  // Locality labels sent with every announce; the tracker prefers peers of the same rack, then
  // the same zone. Empty = unknown.
  std::string zone;
  std::string rack;
  // Token-bucket caps for payload bytes across every peer and blob on this node; 0 = unlimited.
  // The benchmark uses them to stand in for NIC speeds.
  uint64_t ingress_bytes_per_sec = 0;
  uint64_t egress_bytes_per_sec = 0;
  // With a fallback source set (Engine constructor), a fetch that verifies no piece for this
  // long fetches its missing pieces from the fallback (an origin over HTTP), still verified.
  std::chrono::milliseconds fallback_after{std::chrono::seconds(10)};
};

}  // namespace fanout::swarm
