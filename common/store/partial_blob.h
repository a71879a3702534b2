#pragma once
// A blob being downloaded piece by piece, in any order. Only pieces the caller has verified are
// written, so the partial file never holds an unverified byte. Unless the store says otherwise
// (BlobStore::set_whole_blob_hash), the sha256 of the whole blob is computed over the contiguous
// prefix as it grows, and commit() publishes only if that hash equals the digest.
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
  PartialBlob(const BlobStore& store, const Digest& digest, uint64_t size, uint32_t piece_length,
              std::vector<Digest::Bytes> piece_hashes);
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
  bool has_piece(uint32_t index) const;
  uint32_t pieces_done() const;
  bool complete() const { return pieces_done() == piece_count(); }
  // Reads verified bytes (for serving peers while downloading). Thread-safe. `capacity` is what
  // `out` can hold: with a page-aligned `out` and room for whole pages the read skips the page
  // cache (direct_io.h).
  void read(uint64_t offset, void* out, size_t size, size_t capacity = 0) const;
  int fd() const { return fd_; }

  // Publishes into the store; throws CorruptBlobError (and discards the file) if the whole-blob
  // hash (when kept) does not match the digest, StoreError if pieces are missing.
  std::filesystem::path commit();
  // Removes the partial file and its bitmap.
  void discard();

 private:
  void load_resume_state();
  void save_bitmap_locked();
  void advance_frontier_locked(uint32_t index, const uint8_t* data);

  const BlobStore& store_;
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
  Sha256 frontier_hash_;        // sha256 of pieces [0, frontier_)
  uint32_t frontier_ = 0;
  fileio::AlignedBytes readback_;  // pieces read back to extend the frontier
  bool finished_ = false;
};

}  // namespace fanout
