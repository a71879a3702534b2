#pragma once
// Per-blob metainfo: digest, size, piece length and the SHA-256 of every piece. It is a pure
// function of the blob's bytes and has one canonical encoding (bencode: sorted keys), so every
// origin that builds it produces the same bytes and all origins seed one swarm.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/digest/digest.h"
#include "common/digest/sha256.h"
#include "proto/proto_error.h"

namespace fanout::proto {

struct Metainfo {
  // 1 MiB (one block): a piece is shared only once it is whole and verified, so smaller pieces
  // start the relay sooner. 4 MiB pieces left the 50-agent benchmark at p99 1.67-1.72 and 1.27-1.41
  // origin copies; 1 MiB at 1.49-1.51 and 1.07-1.11 (bench/README.md, "Piece size").
  static constexpr uint32_t kMinPieceLength = 1u << 20;
  static constexpr uint32_t kMaxPieceLength = 1u << 30;   // 1 GiB
  static constexpr uint32_t kTargetMaxPieces = 16384;     // keeps the piece table ~512 KiB
  static constexpr uint64_t kMaxSize = uint64_t{kTargetMaxPieces} * kMaxPieceLength;  // 16 TiB
  static constexpr size_t kMaxEncodedSize = 1u << 20;

  Digest digest;
  uint64_t size = 0;
  uint32_t piece_length = kMinPieceLength;
  std::vector<Digest::Bytes> pieces;

  // The piece length for a blob of `size` bytes: 1 MiB, doubled until there are at most
  // kTargetMaxPieces pieces.
  static uint32_t piece_length_for(uint64_t size);
  static uint32_t piece_count_for(uint64_t size, uint32_t piece_length);

  uint32_t piece_count() const { return static_cast<uint32_t>(pieces.size()); }
  uint64_t piece_offset(uint32_t index) const { return uint64_t{index} * piece_length; }
  uint32_t piece_size(uint32_t index) const;

  // Canonical bencode: {"digest": "sha256:..", "length": N, "piece length": P, "pieces": 32*n bytes}.
  std::string encode() const;
  // Decodes and validates everything (digest syntax, size bound, piece length == piece_length_for,
  // piece table length); throws ProtoError naming the bad field.
  static Metainfo decode(std::string_view encoded);

  friend bool operator==(const Metainfo&, const Metainfo&) = default;
};

// Builds a blob's metainfo and its sha256 in one streaming pass over its bytes, in order.
class MetainfoBuilder {
 public:
  explicit MetainfoBuilder(uint64_t size);
  void update(const void* data, size_t size);
  uint64_t bytes_seen() const { return seen_; }
  // Throws ProtoError if fewer or more bytes than announced were fed. The metainfo's digest is
  // the sha256 of the bytes actually seen: the caller compares it with the name it expected.
  Metainfo finish();

 private:
  Metainfo info_;
  Sha256 whole_;
  Sha256 piece_;
  uint64_t seen_ = 0;
  uint32_t in_piece_ = 0;
};

}  // namespace fanout::proto
