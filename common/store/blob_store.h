#pragma once
// The content-addressed store: blobs/sha256/<2 hex>/<64 hex>. A blob is written to a temp file,
// fsynced, verified against its name, made read-only and renamed into place; a blob whose bytes
// do not hash to its name is never published. (A caller that trusts where a partial blob's
// metainfo came from may publish it on its verified pieces alone: set_whole_blob_hash, or per
// blob open_partial's pieces_bound_to_digest.)
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <stdexcept>

#include "common/digest/digest.h"
#include "common/digest/sha256.h"

namespace fanout {

class StoreError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The bytes did not hash to the digest they were written under; nothing was published.
class CorruptBlobError : public StoreError {
 public:
  using StoreError::StoreError;
};

class PartialBlob;

class BlobStore {
 public:
  // Streaming writer for bytes that arrive in order (object-store pulls, uploads).
  class Writer {
   public:
    ~Writer();  // removes the temp file unless committed
    void write(const void* data, size_t size);
    uint64_t written() const { return written_; }
    // Verifies, fsyncs and publishes; throws CorruptBlobError when the bytes do not match.
    std::filesystem::path commit();

   private:
    friend class BlobStore;
    Writer(const BlobStore& store, const Digest& digest);
    const BlobStore& store_;
    Digest digest_;
    std::filesystem::path tmp_;
    int fd_ = -1;
    Sha256 hash_;
    uint64_t written_ = 0;
    bool committed_ = false;
  };

  explicit BlobStore(std::filesystem::path root);

  const std::filesystem::path& root() const { return root_; }
  // Pieces of partial blobs are written and read with O_DIRECT where the file system allows it
  // (see direct_io.h). On by default; off makes every piece go through the page cache.
  void set_direct_io(bool on) { direct_io_ = on; }
  bool direct_io() const { return direct_io_; }
  // Partial blobs also hash the whole blob, in order, and publish only if it equals the digest
  // (on by default). Off, a partial blob is published on its pieces alone, each checked against
  // the metainfo: right only when that metainfo is trusted, since nothing here ties its piece
  // hashes to the digest. Off saves a second pass over every byte and the read-back of pieces
  // that arrived ahead of the in-order frontier.
  void set_whole_blob_hash(bool on) { whole_blob_hash_ = on; }
  bool whole_blob_hash() const { return whole_blob_hash_; }
  std::filesystem::path path_of(const Digest& digest) const;
  bool contains(const Digest& digest) const;
  std::optional<uint64_t> size_of(const Digest& digest) const;
  // Total bytes of published blobs (walks the tree; for metrics and tests).
  uint64_t total_bytes() const;

  std::unique_ptr<Writer> begin(const Digest& digest) const;
  // A piece-addressed download target. `piece_hashes` are the expected SHA-256 of each piece;
  // pieces already verified by an earlier run are kept (resume), everything else is refetched.
  // pieces_bound_to_digest: the caller checked that the piece hashes belong to the digest (an
  // origin-signed metainfo), so this blob skips the whole-blob hash whatever
  // set_whole_blob_hash says.
  std::unique_ptr<PartialBlob> open_partial(const Digest& digest, uint64_t size,
                                            uint32_t piece_length,
                                            std::vector<Digest::Bytes> piece_hashes,
                                            bool pieces_bound_to_digest = false) const;
  // Publishes a file already in the store's tmp/ after checking its hash (`actual`; none when
  // the caller verified every piece instead, see set_whole_blob_hash); used by PartialBlob.
  std::filesystem::path publish(const Digest& digest, const std::filesystem::path& tmp,
                                int fd, const std::optional<Digest>& actual) const;
  std::filesystem::path tmp_dir() const { return root_ / "tmp"; }
  std::filesystem::path partial_dir() const { return root_ / "partial"; }

 private:
  std::filesystem::path root_;
  bool direct_io_ = true;
  bool whole_blob_hash_ = true;
};

}  // namespace fanout
