#include "proto/peer_wire.h"

#include <cstring>

namespace fanout::proto::wire {
namespace {

void put32(std::string& out, uint32_t v) {
  char b[4] = {char(v >> 24), char(v >> 16), char(v >> 8), char(v)};
  out.append(b, 4);
}
void put16(std::string& out, uint16_t v) {
  char b[2] = {char(v >> 8), char(v)};
  out.append(b, 2);
}
uint32_t get32(const void* p) {
  auto* b = static_cast<const uint8_t*>(p);
  return uint32_t{b[0]} << 24 | uint32_t{b[1]} << 16 | uint32_t{b[2]} << 8 | b[3];
}

std::string frame(FrameType type, size_t body_size) {
  std::string out;
  out.reserve(kHeaderSize + body_size);
  put32(out, static_cast<uint32_t>(2 + body_size));
  out.push_back(static_cast<char>(kVersion));
  out.push_back(static_cast<char>(type));
  return out;
}

std::string encode_triple(FrameType type, const Request& m) {
  std::string out = frame(type, 12);
  put32(out, m.piece);
  put32(out, m.offset);
  put32(out, m.length);
  return out;
}

}  // namespace

uint32_t max_body_size(FrameType type) {
  switch (type) {
    case FrameType::kHello: return kPeerIdSize + Digest::kSize + 1 + kMaxPieces / 8;
    case FrameType::kHave: return 4;
    case FrameType::kRequest:
    case FrameType::kCancel: return 12;
    case FrameType::kData: return kDataPrefix + kMaxBlock;
    case FrameType::kBye: return 0;
    case FrameType::kError: return 2 + kMaxErrorMessage;
  }
  return 0;
}

FrameHeader parse_header(const uint8_t* header) {
  uint32_t length = get32(header);
  if (header[4] != kVersion) {
    throw ProtoError("peer frame: unsupported version " + std::to_string(header[4]));
  }
  uint8_t type = header[5];
  if (type < uint8_t(FrameType::kHello) || type > uint8_t(FrameType::kError)) {
    throw ProtoError("peer frame: unknown type " + std::to_string(type));
  }
  if (length < 2) throw ProtoError("peer frame: length shorter than its header");
  FrameHeader h{length - 2, FrameType(type)};
  if (h.body_size > max_body_size(h.type)) {
    throw ProtoError("peer frame: body of " + std::to_string(h.body_size) +
                     " bytes exceeds the bound for type " + std::to_string(type));
  }
  return h;
}

std::string encode(const Hello& m) {
  std::string out = frame(FrameType::kHello, kPeerIdSize + Digest::kSize + 1 + m.bitfield.size());
  out.append(reinterpret_cast<const char*>(m.peer_id.data()), m.peer_id.size());
  out.append(reinterpret_cast<const char*>(m.digest.bytes().data()), Digest::kSize);
  out.push_back(static_cast<char>(m.flags));
  out.append(reinterpret_cast<const char*>(m.bitfield.data()), m.bitfield.size());
  return out;
}

std::string encode(const Have& m) {
  std::string out = frame(FrameType::kHave, 4);
  put32(out, m.piece);
  return out;
}

std::string encode_request(const Request& m) { return encode_triple(FrameType::kRequest, m); }
std::string encode_cancel(const Request& m) { return encode_triple(FrameType::kCancel, m); }
std::string encode_bye() { return frame(FrameType::kBye, 0); }

std::string encode(const Error& m) {
  std::string msg = m.message.substr(0, kMaxErrorMessage);
  std::string out = frame(FrameType::kError, 2 + msg.size());
  put16(out, static_cast<uint16_t>(m.code));
  out += msg;
  return out;
}

std::string encode_data_prefix(uint32_t piece, uint32_t offset, uint32_t payload_size) {
  std::string out;
  out.reserve(kHeaderSize + kDataPrefix);
  put32(out, static_cast<uint32_t>(2 + kDataPrefix + payload_size));
  out.push_back(static_cast<char>(kVersion));
  out.push_back(static_cast<char>(FrameType::kData));
  put32(out, piece);
  put32(out, offset);
  return out;
}

Hello decode_hello(std::string_view body) {
  constexpr size_t fixed = kPeerIdSize + Digest::kSize + 1;
  if (body.size() < fixed) throw ProtoError("HELLO: body shorter than peer id, digest and flags");
  Hello m;
  std::memcpy(m.peer_id.data(), body.data(), kPeerIdSize);
  m.digest = Digest::from_bytes(reinterpret_cast<const uint8_t*>(body.data()) + kPeerIdSize);
  m.flags = static_cast<uint8_t>(body[kPeerIdSize + Digest::kSize]);
  m.bitfield.assign(body.begin() + fixed, body.end());
  return m;
}

Have decode_have(std::string_view body) {
  if (body.size() != 4) throw ProtoError("HAVE: body must be 4 bytes");
  return Have{get32(body.data())};
}

Request decode_request(std::string_view body) {
  if (body.size() != 12) throw ProtoError("REQUEST/CANCEL: body must be 12 bytes");
  return Request{get32(body.data()), get32(body.data() + 4), get32(body.data() + 8)};
}

DataPrefix decode_data_prefix(std::string_view body) {
  if (body.size() < kDataPrefix) throw ProtoError("DATA: body shorter than piece and offset");
  return DataPrefix{get32(body.data()), get32(body.data() + 4)};
}

Error decode_error(std::string_view body) {
  if (body.size() < 2) throw ProtoError("ERROR: body shorter than its code");
  auto* b = reinterpret_cast<const uint8_t*>(body.data());
  return Error{ErrorCode(uint16_t(b[0] << 8 | b[1])), std::string(body.substr(2))};
}

size_t bitfield_bytes(uint32_t pieces) { return (pieces + 7) / 8; }

}  // namespace fanout::proto::wire
