#pragma once
// libtorrent's bencode codec behind the bounds every decoder in proto/ applies. Internal to
// proto/ (its .cpp files link libtorrent privately); the returned node points into `bytes`.
#include <libtorrent/bdecode.hpp>
#include <libtorrent/entry.hpp>
#include <string>
#include <string_view>

namespace fanout::proto {

std::string to_bencode(const lt::entry& e);

// Decodes a bencoded dictionary with bounded size, depth and token count; throws ProtoError
// "<what>: larger than N bytes", "<what>: not valid bencode at byte K: ..." or
// "<what>: not a dictionary".
lt::bdecode_node decode_bencoded_dict(std::string_view what, std::string_view bytes,
                                      size_t max_size, int depth_limit, int token_limit);

}  // namespace fanout::proto
