#include "proto/peer_wire.h"

#include <gtest/gtest.h>

namespace fanout::proto::wire {
namespace {

std::string_view body_of(const std::string& frame) { return std::string_view(frame).substr(kHeaderSize); }
FrameHeader header_of(const std::string& frame) {
  return parse_header(reinterpret_cast<const uint8_t*>(frame.data()));
}

TEST(PeerWireTest, HelloRoundTrips) {
  Hello h;
  h.peer_id.fill(7);
  h.digest = Digest::parse("sha256:" + std::string(64, 'a'));
  h.flags = kFlagOrigin;
  h.bitfield = {0xff, 0x80};
  std::string f = encode(h);
  auto hdr = header_of(f);
  EXPECT_EQ(hdr.type, FrameType::kHello);
  EXPECT_EQ(hdr.body_size, f.size() - kHeaderSize);
  Hello d = decode_hello(body_of(f));
  EXPECT_EQ(d.peer_id, h.peer_id);
  EXPECT_EQ(d.digest, h.digest);
  EXPECT_EQ(d.flags, kFlagOrigin);
  EXPECT_EQ(d.bitfield, h.bitfield);
}

TEST(PeerWireTest, SmallFramesRoundTrip) {
  EXPECT_EQ(decode_have(body_of(encode(Have{42}))).piece, 42u);
  Request r{1, 2 << 20, 1 << 20};
  EXPECT_EQ(decode_request(body_of(encode_request(r))), r);
  EXPECT_EQ(header_of(encode_cancel(r)).type, FrameType::kCancel);
  EXPECT_EQ(header_of(encode_bye()).body_size, 0u);
  Error e = decode_error(body_of(encode(Error{ErrorCode::kBanned, "bad piece"})));
  EXPECT_EQ(e.code, ErrorCode::kBanned);
  EXPECT_EQ(e.message, "bad piece");
  std::string data = encode_data_prefix(3, 4096, 100);
  auto hdr = header_of(data);
  EXPECT_EQ(hdr.type, FrameType::kData);
  EXPECT_EQ(hdr.body_size, kDataPrefix + 100);
  auto prefix = decode_data_prefix(body_of(data));
  EXPECT_EQ(prefix.piece, 3u);
  EXPECT_EQ(prefix.offset, 4096u);
}

TEST(PeerWireTest, HeaderBoundsAreCheckedBeforeAnyAllocation) {
  auto header = [](uint32_t length, uint8_t version, uint8_t type) {
    std::array<uint8_t, 6> h{uint8_t(length >> 24), uint8_t(length >> 16), uint8_t(length >> 8),
                             uint8_t(length), version, type};
    return h;
  };
  EXPECT_THROW(parse_header(header(2, 9, 1).data()), ProtoError);           // version
  EXPECT_THROW(parse_header(header(2, kVersion, 0).data()), ProtoError);    // type
  EXPECT_THROW(parse_header(header(2, kVersion, 99).data()), ProtoError);
  EXPECT_THROW(parse_header(header(1, kVersion, 2).data()), ProtoError);    // shorter than header
  EXPECT_THROW(parse_header(header(0xffffffff, kVersion, 4).data()), ProtoError);  // 4 GiB DATA
  EXPECT_THROW(parse_header(header(2 + 5, kVersion, 2).data()), ProtoError);  // HAVE of 5 bytes
  EXPECT_THROW(parse_header(header(2 + 1, kVersion, 6).data()), ProtoError);  // BYE with a body
  EXPECT_NO_THROW(parse_header(header(2 + kDataPrefix + kMaxBlock, kVersion, 4).data()));
  EXPECT_THROW(parse_header(header(2 + kDataPrefix + kMaxBlock + 1, kVersion, 4).data()),
               ProtoError);
}

TEST(PeerWireTest, BodyDecodersRejectWrongShapes) {
  EXPECT_THROW(decode_hello("short"), ProtoError);
  EXPECT_THROW(decode_have("abc"), ProtoError);
  EXPECT_THROW(decode_request(std::string(11, '\0')), ProtoError);
  EXPECT_THROW(decode_data_prefix("1234567"), ProtoError);
  EXPECT_THROW(decode_error("x"), ProtoError);
}

TEST(PeerWireTest, BitfieldUsesBitTorrentOrder) {
  std::vector<uint8_t> bits(bitfield_bytes(10), 0);
  EXPECT_EQ(bits.size(), 2u);
  bit_set(bits, 0);
  bit_set(bits, 9);
  EXPECT_EQ(bits[0], 0x80);
  EXPECT_EQ(bits[1], 0x40);
  EXPECT_TRUE(bit_get(bits, 9));
  EXPECT_FALSE(bit_get(bits, 8));
}

}  // namespace
}  // namespace fanout::proto::wire
