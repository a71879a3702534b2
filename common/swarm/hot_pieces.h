#pragma once
// Verified pieces kept in memory after they were written, newest first, to serve peers without
// a disk read.
//
// The piece a node just verified is the one its neighbours ask for next: rarest-first makes
// every new piece the rarest there is. Served from the file, each piece is written once and read
// back once per upload: in the 50-agent benchmark, about a third of the traffic of a disk that
// was saturated (bench/README.md). Kept as the buffer it arrived in, it costs no copy at all.
// Off by default since pieces are streamed to disk (piece_stream.h): on a node that starts cold
// its memory cost more CPU, in fresh pages, than the disk reads it saved.
#include <cstddef>
#include <cstdint>
#include <list>
#include <unordered_map>

#include "common/swarm/buffer.h"

namespace fanout::swarm {

class HotPieces {
 public:
  // Keeps pieces up to `capacity_bytes` in all; 0 keeps none.
  explicit HotPieces(size_t capacity_bytes) : capacity_(capacity_bytes) {}

  // Adds a verified piece (its buffer is shared, not copied; its size() is the piece's), dropping
  // the least recently used ones beyond the capacity. A piece larger than the capacity is not
  // kept.
  void put(uint32_t piece, BufferPtr data);
  // The piece's buffer, or null; a hit makes it the most recently used.
  BufferPtr get(uint32_t piece);
  // Drops everything (the blob went on disk for good, or the swarm stops).
  void clear();

  size_t bytes() const { return bytes_; }
  size_t count() const { return index_.size(); }

 private:
  struct Entry {
    uint32_t piece;
    BufferPtr data;
  };
  size_t capacity_;
  size_t bytes_ = 0;
  std::list<Entry> lru_;  // most recently used first
  std::unordered_map<uint32_t, std::list<Entry>::iterator> index_;
};

}  // namespace fanout::swarm
