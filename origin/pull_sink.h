#pragma once
// Where a pull's parts land. Each part is written at its offset in a CAS temp file and its whole
// pieces are hashed by the thread that fetched it, in parallel with the other parts; the parts
// then go, in order, through the one sequential pass: the whole-blob SHA-256 (plus the pieces
// that straddle two parts). Every byte is hashed twice (piece, whole) instead of three times, and
// only the whole hash waits for the order.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "common/digest/digest.h"
#include "common/digest/sha256.h"
#include "common/store/blob_store.h"
#include "common/store/direct_io.h"
#include "proto/metainfo.h"

namespace fanout::origin {

class PullSink {
 public:
  PullSink(const BlobStore& cas, const Digest& digest, uint64_t size);
  // Removes the temp file unless published.
  ~PullSink();
  PullSink(const PullSink&) = delete;
  PullSink& operator=(const PullSink&) = delete;

  // Any thread, any order; parts must not overlap. Writes the bytes and hashes every piece that
  // lies wholly inside [offset, offset + size).
  void write_part(uint64_t offset, const char* data, size_t size);
  // One thread, every part in offset order, each after its write_part().
  void hash_in_order(uint64_t offset, const char* data, size_t size);
  // The metainfo of the bytes seen; its digest is their sha256, for the caller to compare with
  // the name it expected. Throws ProtoError when fewer bytes than the size were seen.
  proto::Metainfo finish();
  // Moves the file into the CAS under `digest`, read-only, without waiting for the fsync: the
  // bytes were verified in memory and are served at once. Throws
  // CorruptBlobError when `actual` is not `digest` (the file is removed).
  std::filesystem::path publish(const Digest& actual);
  // Makes the published file and its name durable (fsync of both). Slow on a slow disk, so the
  // puller runs it after the blob is served, and only then writes the metainfo file that a
  // restart trusts; a blob found without one is hashed again before use.
  void sync();

 private:
  const BlobStore& cas_;
  Digest digest_;
  uint64_t size_;
  uint32_t piece_length_;
  std::filesystem::path tmp_;
  std::filesystem::path published_path_;
  int fd_ = -1;
  std::unique_ptr<fileio::DirectIo> io_;
  bool published_ = false;
  std::vector<Digest::Bytes> pieces_;
  Sha256 whole_;
  Sha256 straddling_;  // the piece that crosses the last part boundary hashed so far
  uint64_t seen_ = 0;
};

}  // namespace fanout::origin
