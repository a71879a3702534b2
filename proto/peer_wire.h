#pragma once
// fanout's peer protocol frames. Every frame is
//   u32 length (big endian; bytes after this field) | u8 version | u8 type | body
// and every length is checked against the frame type's bound before anything is allocated.
#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/digest/digest.h"
#include "proto/proto_error.h"

namespace fanout::proto::wire {

constexpr uint8_t kVersion = 1;
constexpr uint32_t kMaxBlock = 1u << 20;          // largest DATA payload (1 MiB)
constexpr uint32_t kMaxPieces = 16384;           // matches Metainfo::kTargetMaxPieces
constexpr uint32_t kMaxErrorMessage = 1024;
constexpr size_t kHeaderSize = 6;                // length + version + type
constexpr size_t kDataPrefix = 8;                // DATA body: piece, offset, then the payload
constexpr size_t kPeerIdSize = 20;

enum class FrameType : uint8_t {
  kHello = 1,   // peer id, digest, flags, bitfield
  kHave = 2,    // piece index; for a piece the receiver has too, may come only once the
                // sender's whole copy is verified (it tells the receiver nothing it needs before)
  kRequest = 3, // piece, offset, length
  kData = 4,    // piece, offset, payload
  kCancel = 5,  // piece, offset, length
  kBye = 6,     // no body: orderly close
  kError = 7,   // u16 code, message
};

enum HelloFlags : uint8_t {
  kFlagOrigin = 1,  // the sender is an origin seeder (agents count its bytes apart)
};

enum class ErrorCode : uint16_t {
  kUnknownBlob = 1,
  kProtocol = 2,
  kBanned = 3,
  kBusy = 4,
};

using PeerId = std::array<uint8_t, kPeerIdSize>;

struct FrameHeader {
  uint32_t body_size = 0;  // bytes after the 6-byte header
  FrameType type{};
};

struct Hello {
  PeerId peer_id{};
  Digest digest;
  uint8_t flags = 0;
  std::vector<uint8_t> bitfield;  // ceil(pieces / 8) bytes, most significant bit = piece 0
};
struct Have { uint32_t piece = 0; };
struct Request {
  uint32_t piece = 0, offset = 0, length = 0;
  friend bool operator==(const Request&, const Request&) = default;
};
struct DataPrefix { uint32_t piece = 0, offset = 0; };
struct Error {
  ErrorCode code{};
  std::string message;
};

// Largest body a frame of this type may have; the header parser rejects anything larger.
uint32_t max_body_size(FrameType type);
// Parses and bounds-checks the 6-byte header; throws ProtoError on a bad version, unknown type or
// a length above the type's bound.
FrameHeader parse_header(const uint8_t* header);

std::string encode(const Hello& m);
std::string encode(const Have& m);
std::string encode_request(const Request& m);
std::string encode_cancel(const Request& m);
std::string encode_bye();
std::string encode(const Error& m);
// Header plus piece and offset of a DATA frame; the payload is sent after it unchanged
// (scatter-gather), so the block is never copied into a frame buffer.
std::string encode_data_prefix(uint32_t piece, uint32_t offset, uint32_t payload_size);

// Body decoders; each throws ProtoError when the body does not have the exact expected shape.
Hello decode_hello(std::string_view body);
Have decode_have(std::string_view body);
Request decode_request(std::string_view body);  // REQUEST and CANCEL share a body
DataPrefix decode_data_prefix(std::string_view body);  // first kDataPrefix bytes
Error decode_error(std::string_view body);

// Bitfield helpers (BitTorrent order: bit 7 of byte 0 is piece 0).
size_t bitfield_bytes(uint32_t pieces);
inline bool bit_get(const std::vector<uint8_t>& bits, uint32_t i) {
  return bits[i / 8] & (0x80u >> (i % 8));
}
inline void bit_set(std::vector<uint8_t>& bits, uint32_t i) { bits[i / 8] |= (0x80u >> (i % 8)); }

}  // namespace fanout::proto::wire
