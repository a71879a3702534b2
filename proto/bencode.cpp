#include "proto/bencode.h"

#include <iterator>
#include <libtorrent/bencode.hpp>

#include "proto/proto_error.h"

namespace fanout::proto {

std::string to_bencode(const lt::entry& e) {
  std::string out;
  lt::bencode(std::back_inserter(out), e);
  return out;
}

lt::bdecode_node decode_bencoded_dict(std::string_view what, std::string_view bytes,
                                      size_t max_size, int depth_limit, int token_limit) {
  std::string name(what);
  if (bytes.size() > max_size) {
    throw ProtoError(name + ": larger than " + std::to_string(max_size) + " bytes");
  }
  lt::error_code ec;
  int error_pos = 0;
  lt::bdecode_node root = lt::bdecode({bytes.data(), static_cast<long>(bytes.size())}, ec,
                                      &error_pos, depth_limit, token_limit);
  if (ec) {
    throw ProtoError(name + ": not valid bencode at byte " + std::to_string(error_pos) + ": " +
                     ec.message());
  }
  if (root.type() != lt::bdecode_node::dict_t) throw ProtoError(name + ": not a dictionary");
  return root;
}

}  // namespace fanout::proto
