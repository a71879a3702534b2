#include "proto/metainfo.h"

#include <libtorrent/entry.hpp>

#include <cstring>

#include "proto/bencode.h"

namespace fanout::proto {

uint32_t Metainfo::piece_length_for(uint64_t size) {
  uint64_t length = kMinPieceLength;
  while (length < kMaxPieceLength && (size + length - 1) / length > kTargetMaxPieces) length *= 2;
  return static_cast<uint32_t>(length);
}

uint32_t Metainfo::piece_count_for(uint64_t size, uint32_t piece_length) {
  return static_cast<uint32_t>((size + piece_length - 1) / piece_length);
}

uint32_t Metainfo::piece_size(uint32_t index) const {
  uint64_t offset = piece_offset(index);
  return static_cast<uint32_t>(std::min<uint64_t>(piece_length, size - offset));
}

std::string Metainfo::encode() const {
  lt::entry e(lt::entry::dictionary_t);
  e["digest"] = digest.str();
  e["length"] = static_cast<std::int64_t>(size);
  e["piece length"] = static_cast<std::int64_t>(piece_length);
  std::string table;
  table.reserve(pieces.size() * Digest::kSize);
  for (const auto& p : pieces) table.append(reinterpret_cast<const char*>(p.data()), p.size());
  e["pieces"] = table;
  return to_bencode(e);
}

Metainfo Metainfo::decode(std::string_view encoded) {
  lt::bdecode_node root = decode_bencoded_dict("metainfo", encoded, kMaxEncodedSize,
                                               /*depth_limit=*/4, /*token_limit=*/16);
  Metainfo m;
  auto digest = root.dict_find_string_value("digest");
  if (!Digest::try_parse(std::string_view(digest.data(), digest.size()), m.digest)) {
    throw ProtoError("metainfo: field \"digest\" is missing or not a sha256 digest");
  }
  auto length = root.dict_find_int("length");
  if (!length || length.int_value() < 0 || uint64_t(length.int_value()) > kMaxSize) {
    throw ProtoError("metainfo: field \"length\" is missing or out of range");
  }
  m.size = static_cast<uint64_t>(length.int_value());
  m.piece_length = piece_length_for(m.size);
  auto piece_length = root.dict_find_int("piece length");
  if (!piece_length || piece_length.int_value() != m.piece_length) {
    throw ProtoError("metainfo: field \"piece length\" is missing or not " +
                     std::to_string(m.piece_length) + " for this length");
  }
  auto table = root.dict_find_string("pieces");
  uint32_t count = piece_count_for(m.size, m.piece_length);
  if (!table || size_t(table.string_length()) != size_t{count} * Digest::kSize) {
    throw ProtoError("metainfo: field \"pieces\" must hold " + std::to_string(count) +
                     " sha256 hashes");
  }
  m.pieces.resize(count);
  const char* raw = table.string_ptr();
  for (uint32_t i = 0; i < count; ++i) std::memcpy(m.pieces[i].data(), raw + i * 32, 32);
  if (m.encode() != encoded) throw ProtoError("metainfo: not in canonical encoding");
  return m;
}

MetainfoBuilder::MetainfoBuilder(uint64_t size) {
  if (size > Metainfo::kMaxSize) throw ProtoError("metainfo: blob larger than 16 TiB");
  info_.size = size;
  info_.piece_length = Metainfo::piece_length_for(size);
  info_.pieces.reserve(Metainfo::piece_count_for(size, info_.piece_length));
}

void MetainfoBuilder::update(const void* data, size_t size) {
  if (seen_ + size > info_.size) throw ProtoError("metainfo: more bytes than the announced size");
  whole_.update(data, size);
  auto* p = static_cast<const uint8_t*>(data);
  while (size > 0) {
    size_t take = std::min<size_t>(size, info_.piece_length - in_piece_);
    piece_.update(p, take);
    p += take;
    size -= take;
    seen_ += take;
    in_piece_ += static_cast<uint32_t>(take);
    if (in_piece_ == info_.piece_length || seen_ == info_.size) {
      info_.pieces.push_back(piece_.finish().bytes());
      in_piece_ = 0;
    }
  }
}

Metainfo MetainfoBuilder::finish() {
  if (seen_ != info_.size) {
    throw ProtoError("metainfo: got " + std::to_string(seen_) + " bytes, expected " +
                     std::to_string(info_.size));
  }
  info_.digest = whole_.finish();
  return std::move(info_);
}

}  // namespace fanout::proto
