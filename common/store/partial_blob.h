#pragma once
// A blob being downloaded piece by piece, in any order. A piece is marked done (and from then on
// read, served, resumed and published) only once its bytes hashed to the metainfo's; bytes of a
// piece that is not done are never read out. Pieces arrive either whole (write_piece: hashed,
// then written) or streamed block by block as they come off the network (begin_stream,
// write_block, finish_stream: written as they arrive, marked done when the hash of exactly what
// was written matches), which keeps a node's memory at a block per connection instead of a piece
// per request. Unless the store says otherwise
// (BlobStore::set_whole_blob_hash), the sha256 of the whole blob is computed over the contiguous
// prefix as it grows, and commit() publishes only if that hash equals the digest.
#include <array>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <vector>

#include "common/digest/digest.h"
#include "common/digest/sha256.h"
#include "common/store/direct_io.h"

namespace fanout {

class BlobStore;

class PartialBlob {
 public:
  // pieces_bound_to_digest: publish on verified pieces alone, whatever the store's default
  // (BlobStore::open_partial).
  PartialBlob(const BlobStore& store, const Digest& digest, uint64_t size, uint32_t piece_length,
              std::vector<Digest::Bytes> piece_hashes, bool pieces_bound_to_digest = false);
  ~PartialBlob();
  PartialBlob(const PartialBlob&) = delete;
  PartialBlob& operator=(const PartialBlob&) = delete;

  const Digest& digest() const { return digest_; }
  uint64_t size() const { return size_; }
  uint32_t piece_length() const { return piece_length_; }
  uint32_t piece_count() const { return static_cast<uint32_t>(hashes_.size()); }
  uint32_t piece_size(uint32_t index) const;

  // Checks `data` against the piece's expected hash; false (and nothing written) on mismatch.
  // Thread-safe; safe to call from a hashing thread pool.
  bool write_piece(uint32_t index, const uint8_t* data, size_t size);

  // Streaming a piece. begin_stream() makes the caller the piece's only writer and returns its
  // token; an earlier writer's later blocks are dropped, so bytes of an abandoned stream (a peer
  // that went away mid-piece) never land over a newer one's. write_block() writes `size` bytes at
  // `offset` inside the piece, or nothing (false) once the piece is done or the token is stale.
  // finish_stream() marks the piece done if `hash` (of every block written, in order) is the
  // piece's. Thread-safe; one stream's calls must not overlap each other.
  uint64_t begin_stream(uint32_t index);
  bool write_block(uint32_t index, uint64_t token, uint32_t offset, const uint8_t* data,
                   size_t size);
  enum class StreamResult { kVerified, kBadHash, kStale };
  StreamResult finish_stream(uint32_t index, uint64_t token, const Digest& hash);
  bool has_piece(uint32_t index) const;
  uint32_t pieces_done() const;
  bool complete() const { return pieces_done() == piece_count(); }
  // Reads verified bytes (for serving peers while downloading). Thread-safe. `capacity` is what
  // `out` can hold: with a page-aligned `out` and room for whole pages the read skips the page
  // cache (direct_io.h).
  void read(uint64_t offset, void* out, size_t size, size_t capacity = 0) const;
  // Moves up to `size` bytes from `offset` into the pipe `pipe_w` without copying them through
  // memory (zero-copy uploads, common/swarm/pipe_pool.h); returns how many. Like read(), only for
  // bytes of verified pieces. Thread-safe.
  size_t splice_to(int pipe_w, uint64_t offset, size_t size) const;
  int fd() const { return fd_; }

  // Publishes into the store; throws CorruptBlobError (and discards the file) if the whole-blob
  // hash (when kept) does not match the digest, StoreError if pieces are missing.
  std::filesystem::path commit();
  // Removes the partial file and its bitmap.
  void discard();
  // No byte is written through this object any more (streams go stale, write_piece refuses, the
  // record of done pieces is saved now and never again); returns once writes already under way
  // have finished. A fetch that failed calls it before
  // reporting, because a retry opens the same file through a new object.
  void retire();

 private:
  void load_resume_state();
  void save_bitmap_locked();
  void maybe_save_bitmap_locked();
  void flush_bitmap_locked();
  // A verified piece's bytes are on disk: it counts from now on.
  void mark_done_locked(uint32_t index);
  static constexpr std::chrono::seconds kBitmapSaveInterval{1};
  // Extends the whole-blob hash over the pieces done in order from the frontier (`data`: piece
  // `index`'s bytes, or null to read them back). Takes frontier_mu_, then mu_ briefly.
  void advance_frontier(uint32_t index, const uint8_t* data);
  // Reads back and hashes the done pieces from the frontier on; frontier_mu_ held.
  void read_back_to_frontier_locked();

  const BlobStore& store_;
  bool whole_blob_hash_;  // the store's default, unless the pieces are bound to the digest
  Digest digest_;
  uint64_t size_;
  uint32_t piece_length_;
  std::vector<Digest::Bytes> hashes_;
  std::filesystem::path path_;
  std::filesystem::path bitmap_path_;
  int fd_ = -1;
  std::unique_ptr<fileio::DirectIo> io_;

  mutable std::mutex mu_;
  std::vector<uint8_t> done_;  // one byte per piece
  uint32_t done_count_ = 0;
  std::mutex frontier_mu_;  // taken before mu_, never after it
  Sha256 frontier_hash_;        // sha256 of pieces [0, frontier_)
  uint32_t frontier_ = 0;
  fileio::AlignedBytes readback_;  // pieces read back to extend the frontier
  bool finished_ = false;
  bool retired_ = false;
  bool bitmap_dirty_ = false;
  std::chrono::steady_clock::time_point last_bitmap_save_{};
  std::vector<uint64_t> stream_token_;  // per piece: its current writer (0 = none)
  uint64_t next_token_ = 1;
  // Held across a write into a piece's bytes and the check that it may still write there, so a
  // write cannot land after the piece was marked done. Striped by piece.
  std::mutex& region_mu(uint32_t index) const { return region_mu_[index % region_mu_.size()]; }
  mutable std::array<std::mutex, 16> region_mu_;
};

}  // namespace fanout
