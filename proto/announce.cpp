#include "proto/announce.h"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <iterator>
#include <libtorrent/bdecode.hpp>
#include <libtorrent/entry.hpp>
#include <limits>

#include "proto/bencode.h"

namespace fanout::proto {
namespace {

constexpr uint8_t kV4MappedPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Field names and values end up in failure messages and logs: show raw bytes as \xNN and cut
// long ones, so a hostile query cannot inject control characters or flood a log line.
std::string printable(std::string_view text) {
  static constexpr size_t kMax = 40;
  std::string out;
  for (size_t i = 0; i < text.size() && i < kMax; ++i) {
    auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
      out += static_cast<char>(c);
    } else {
      static constexpr char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  if (text.size() > kMax) out += "...";
  return out;
}

[[noreturn]] void fail(const std::string& message) {
  throw ProtoError("announce: " + message);
}

// Strict percent-decoding of one query component. We do it ourselves because generic URL
// decoders (httplib's included) turn '+' into a space and pass broken escapes through, which
// corrupts binary info-hashes instead of rejecting them. '+' is a literal '+' here (RFC 3986).
std::string percent_decode(std::string_view raw, const std::string& what) {
  std::string out;
  out.reserve(raw.size());
  for (size_t i = 0; i < raw.size(); ++i) {
    auto c = static_cast<unsigned char>(raw[i]);
    if (c == '%') {
      int hi = i + 1 < raw.size() ? hex_value(raw[i + 1]) : -1;
      int lo = i + 2 < raw.size() ? hex_value(raw[i + 2]) : -1;
      if (hi < 0 || lo < 0) {
        fail("bad percent-encoding in " + what + " at \"" + printable(raw.substr(i, 3)) + "\"");
      }
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else if (c <= 0x20 || c >= 0x7f || c == '#') {
      fail(what + " contains a raw byte that must be percent-encoded");
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

uint64_t parse_number(const std::string& field, const std::string& text, uint64_t min,
                      uint64_t max) {
  uint64_t value = 0;
  const char* end = text.data() + text.size();
  // from_chars also accepts nothing else but digits for unsigned types, yet a leading '+' or
  // whitespace must not slip through either: check the first character explicitly.
  bool digits = !text.empty() && text[0] >= '0' && text[0] <= '9';
  auto [p, ec] = std::from_chars(text.data(), end, value);
  if (!digits || ec != std::errc() || p != end || value < min || value > max) {
    fail("\"" + field + "\" must be a whole number from " + std::to_string(min) + " to " +
         std::to_string(max) + ", got \"" + printable(text) + "\"");
  }
  return value;
}

bool parse_flag(const std::string& field, const std::string& text) {
  if (text == "1") return true;
  if (text == "0") return false;
  fail("\"" + field + "\" must be 0 or 1, got \"" + printable(text) + "\"");
}

// The raw values of the parameters the protocol defines, each allowed once.
struct KnownParameters {
  std::optional<std::string> info_hash, peer_id, port, uploaded, downloaded, left, event, compact,
      no_peer_id, numwant, ip, digest, zone, rack, origin;

  std::optional<std::string>* find(std::string_view key) {
    if (key == "info_hash") return &info_hash;
    if (key == "peer_id") return &peer_id;
    if (key == "port") return &port;
    if (key == "uploaded") return &uploaded;
    if (key == "downloaded") return &downloaded;
    if (key == "left") return &left;
    if (key == "event") return &event;
    if (key == "compact") return &compact;
    if (key == "no_peer_id") return &no_peer_id;
    if (key == "numwant") return &numwant;
    if (key == "ip") return &ip;
    if (key == "digest") return &digest;
    if (key == "zone") return &zone;
    if (key == "rack") return &rack;
    if (key == "origin") return &origin;
    return nullptr;
  }
};

// Splits a raw query into strictly percent-decoded (key, value) pairs, within the size limits.
template <typename Fn>
void for_each_parameter(std::string_view query, Fn&& fn) {
  if (query.size() > AnnounceRequest::kMaxQueryLength) {
    fail("query longer than " + std::to_string(AnnounceRequest::kMaxQueryLength) + " bytes");
  }
  size_t count = 0;
  for (size_t start = 0; start <= query.size();) {
    size_t amp = query.find('&', start);
    if (amp == std::string_view::npos) amp = query.size();
    std::string_view pair = query.substr(start, amp - start);
    start = amp + 1;
    if (pair.empty()) continue;  // "a=1&&b=2" and a trailing '&' are harmless
    if (++count > AnnounceRequest::kMaxParameters) {
      fail("more than " + std::to_string(AnnounceRequest::kMaxParameters) + " parameters");
    }
    size_t eq = pair.find('=');
    std::string key = percent_decode(pair.substr(0, eq), "a parameter name");
    std::string value = eq == std::string_view::npos
                            ? std::string()
                            : percent_decode(pair.substr(eq + 1), "\"" + printable(key) + "\"");
    fn(std::move(key), std::move(value));
  }
}

void check_info_hash(const std::string& info_hash) {
  if (info_hash.size() != 20 && info_hash.size() != 32) {
    fail("\"info_hash\" must be 20 or 32 bytes, got " + std::to_string(info_hash.size()));
  }
}

// Labels end up in logs, metrics and Redis keys: a small safe alphabet, bounded length.
std::string parse_label(const char* field, const std::string& text) {
  bool ok = text.size() <= AnnounceRequest::kMaxLabelLength;
  for (char c : text) {
    ok = ok && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                c == '.' || c == '_' || c == ':' || c == '-');
  }
  if (!ok) {
    fail(std::string("\"") + field + "\" must be at most " +
         std::to_string(AnnounceRequest::kMaxLabelLength) +
         " characters of A-Z a-z 0-9 . _ : -, got \"" + printable(text) + "\"");
  }
  return text;
}

const std::string& required(const std::optional<std::string>& value, const char* field) {
  if (!value) fail(std::string("missing \"") + field + "\"");
  return *value;
}

void append_port(std::string& out, uint16_t port) {
  out += static_cast<char>(port >> 8);
  out += static_cast<char>(port & 0xff);
}

uint16_t read_port(const char* p) {
  return static_cast<uint16_t>((static_cast<uint8_t>(p[0]) << 8) | static_cast<uint8_t>(p[1]));
}

std::chrono::seconds read_interval(const lt::bdecode_node& root, const char* key, bool needed) {
  // A week: anything longer is a bug, not a policy.
  static constexpr int64_t kMaxInterval = int64_t{7} * 24 * 3600;
  lt::bdecode_node node = root.dict_find(key);
  if (!node) {
    if (needed) throw ProtoError(std::string("announce response: missing \"") + key + "\"");
    return std::chrono::seconds(0);
  }
  if (node.type() != lt::bdecode_node::int_t || node.int_value() < 0 ||
      node.int_value() > kMaxInterval) {
    throw ProtoError(std::string("announce response: \"") + key +
                     "\" must be a number of seconds from 0 to " + std::to_string(kMaxInterval));
  }
  return std::chrono::seconds(node.int_value());
}

uint64_t read_count(const lt::bdecode_node& root, const char* key) {
  lt::bdecode_node node = root.dict_find(key);
  if (!node) return 0;
  if (node.type() != lt::bdecode_node::int_t || node.int_value() < 0) {
    throw ProtoError(std::string("announce response: \"") + key +
                     "\" must be a non-negative number");
  }
  return static_cast<uint64_t>(node.int_value());
}

// Entries with port 0 cannot be dialled; they are dropped rather than failing the whole answer,
// which may come from a tracker we do not control.
void read_compact(const lt::bdecode_node& node, size_t entry_size, const char* key,
                  std::vector<AnnouncePeer>& out) {
  if (node.string_length() % static_cast<int>(entry_size) != 0) {
    throw ProtoError(std::string("announce response: \"") + key +
                     "\" length is not a multiple of " + std::to_string(entry_size));
  }
  const char* p = node.string_ptr();
  size_t n = static_cast<size_t>(node.string_length()) / entry_size;
  for (size_t i = 0; i < n; ++i, p += entry_size) {
    AnnouncePeer peer;
    auto* raw = reinterpret_cast<const uint8_t*>(p);
    peer.ip = entry_size == 6 ? IpAddress::from_v4(raw) : IpAddress::from_v6(raw);
    peer.port = read_port(p + entry_size - 2);
    if (peer.port != 0) out.push_back(std::move(peer));
  }
}

void read_peer_dicts(const lt::bdecode_node& list, std::vector<AnnouncePeer>& out) {
  for (int i = 0; i < list.list_size(); ++i) {
    std::string where = "announce response: peers[" + std::to_string(i) + "]";
    lt::bdecode_node entry = list.list_at(i);
    if (entry.type() != lt::bdecode_node::dict_t) throw ProtoError(where + " is not a dictionary");
    auto ip_text = entry.dict_find_string_value("ip");
    auto ip = IpAddress::parse(std::string_view(ip_text.data(), ip_text.size()));
    if (!ip) throw ProtoError(where + ": \"ip\" is not an IP address");
    lt::bdecode_node port = entry.dict_find_int("port");
    if (!port || port.int_value() < 0 || port.int_value() > 65535) {
      throw ProtoError(where + ": \"port\" is missing or not 0-65535");
    }
    if (port.int_value() == 0) continue;
    auto peer_id = entry.dict_find_string_value("peer id");
    AnnouncePeer peer{*ip, static_cast<uint16_t>(port.int_value()),
                      std::string(peer_id.data(), peer_id.size())};
    out.push_back(std::move(peer));
  }
}

}  // namespace

std::optional<IpAddress> IpAddress::parse(std::string_view text) {
  char buffer[INET6_ADDRSTRLEN] = {};
  if (text.empty() || text.size() >= sizeof(buffer)) return std::nullopt;
  std::memcpy(buffer, text.data(), text.size());
  uint8_t raw[16];
  if (inet_pton(AF_INET, buffer, raw) == 1) return from_v4(raw);
  if (inet_pton(AF_INET6, buffer, raw) == 1) return from_v6(raw);
  return std::nullopt;
}

IpAddress IpAddress::from_v4(const uint8_t* bytes) {
  IpAddress ip;
  std::memcpy(ip.bytes_.data(), bytes, 4);
  ip.size_ = 4;
  return ip;
}

IpAddress IpAddress::from_v6(const uint8_t* bytes) {
  if (std::memcmp(bytes, kV4MappedPrefix, sizeof(kV4MappedPrefix)) == 0) {
    return from_v4(bytes + sizeof(kV4MappedPrefix));
  }
  IpAddress ip;
  std::memcpy(ip.bytes_.data(), bytes, 16);
  ip.size_ = 16;
  return ip;
}

std::string IpAddress::str() const {
  if (size_ == 0) return "";
  char buffer[INET6_ADDRSTRLEN] = {};
  inet_ntop(is_v4() ? AF_INET : AF_INET6, bytes_.data(), buffer, sizeof(buffer));
  return buffer;
}

std::string_view event_name(AnnounceEvent event) {
  switch (event) {
    case AnnounceEvent::kNone:
      return "";
    case AnnounceEvent::kStarted:
      return "started";
    case AnnounceEvent::kCompleted:
      return "completed";
    case AnnounceEvent::kStopped:
      return "stopped";
    case AnnounceEvent::kPaused:
      return "paused";
  }
  return "";
}

AnnounceEvent parse_event(std::string_view text) {
  for (auto e : {AnnounceEvent::kNone, AnnounceEvent::kStarted, AnnounceEvent::kCompleted,
                 AnnounceEvent::kStopped, AnnounceEvent::kPaused}) {
    if (text == event_name(e)) return e;
  }
  fail("\"event\" must be started, completed, stopped, paused or empty, got \"" + printable(text) +
       "\"");
}

AnnounceRequest parse_announce_query(std::string_view query) {
  KnownParameters known;
  for_each_parameter(query, [&](std::string key, std::string value) {
    std::optional<std::string>* slot = known.find(key);
    if (slot == nullptr) return;  // other clients' extensions (key, trackerid, ...)
    if (*slot) fail("\"" + key + "\" given more than once");
    *slot = std::move(value);
  });

  AnnounceRequest r;
  r.info_hash = required(known.info_hash, "info_hash");
  check_info_hash(r.info_hash);
  r.peer_id = required(known.peer_id, "peer_id");
  if (r.peer_id.size() != 20) {
    fail("\"peer_id\" must be 20 bytes, got " + std::to_string(r.peer_id.size()));
  }
  r.port = static_cast<uint16_t>(parse_number("port", required(known.port, "port"), 1, 65535));
  r.left = parse_number("left", required(known.left, "left"), 0, AnnounceRequest::kMaxByteCount);
  // uploaded/downloaded are statistics only; some clients leave them out.
  if (known.uploaded) {
    r.uploaded = parse_number("uploaded", *known.uploaded, 0, AnnounceRequest::kMaxByteCount);
  }
  if (known.downloaded) {
    r.downloaded = parse_number("downloaded", *known.downloaded, 0, AnnounceRequest::kMaxByteCount);
  }
  if (known.event) r.event = parse_event(*known.event);
  if (known.compact) r.compact = parse_flag("compact", *known.compact);
  if (known.no_peer_id) r.no_peer_id = parse_flag("no_peer_id", *known.no_peer_id);
  if (known.numwant) {
    r.num_want = static_cast<uint32_t>(
        parse_number("numwant", *known.numwant, 0, std::numeric_limits<uint32_t>::max()));
  }
  if (known.ip) {
    r.ip = IpAddress::parse(*known.ip);
    if (!r.ip) fail("\"ip\" must be an IPv4 or IPv6 address, got \"" + printable(*known.ip) + "\"");
  }
  if (known.digest) {
    Digest digest;
    if (!Digest::try_parse(*known.digest, digest)) {
      fail("\"digest\" must be sha256:<64 lowercase hex>, got \"" + printable(*known.digest) +
           "\"");
    }
    if (digest.info_hash() != r.swarm_key()) fail("\"digest\" does not match \"info_hash\"");
    r.digest = digest;
  }
  if (known.zone) r.zone = parse_label("zone", *known.zone);
  if (known.rack) r.rack = parse_label("rack", *known.rack);
  if (known.origin) r.origin = parse_flag("origin", *known.origin);
  return r;
}

std::string percent_encode(std::string_view bytes) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(bytes.size() * 3);
  for (char ch : bytes) {
    auto c = static_cast<unsigned char>(ch);
    bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                      c == '-' || c == '.' || c == '_' || c == '~';
    if (unreserved) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::string encode_announce_query(const AnnounceRequest& r) {
  std::string q;
  q += "info_hash=" + percent_encode(r.info_hash);
  q += "&peer_id=" + percent_encode(r.peer_id);
  q += "&port=" + std::to_string(r.port);
  q += "&uploaded=" + std::to_string(r.uploaded);
  q += "&downloaded=" + std::to_string(r.downloaded);
  q += "&left=" + std::to_string(r.left);
  q += std::string("&compact=") + (r.compact ? "1" : "0");
  if (r.no_peer_id) q += "&no_peer_id=1";
  if (r.event != AnnounceEvent::kNone) q += "&event=" + std::string(event_name(r.event));
  if (r.num_want) q += "&numwant=" + std::to_string(*r.num_want);
  if (r.ip) q += "&ip=" + percent_encode(r.ip->str());
  if (r.digest) q += "&digest=" + percent_encode(r.digest->str());
  if (!r.zone.empty()) q += "&zone=" + percent_encode(r.zone);
  if (!r.rack.empty()) q += "&rack=" + percent_encode(r.rack);
  if (r.origin) q += "&origin=1";
  return q;
}

namespace {

// Bencode written straight into the answer: the announce answer is the tracker's hot path and a
// dictionary of a few integers and one byte string needs no tree (lt::entry) in between.
void put_string(std::string& out, std::string_view s) {
  char digits[24];
  auto [end, ec] = std::to_chars(digits, digits + sizeof(digits), s.size());
  out.append(digits, end);
  out += ':';
  out.append(s);
}

void put_int(std::string& out, int64_t v) {
  char digits[24];
  auto [end, ec] = std::to_chars(digits, digits + sizeof(digits), v);
  out += 'i';
  out.append(digits, end);
  out += 'e';
}

// Bencode integers are signed 64-bit; counts beyond that are clamped, never wrapped.
int64_t as_bencode_int(uint64_t v) {
  return static_cast<int64_t>(std::min<uint64_t>(v, std::numeric_limits<int64_t>::max()));
}

}  // namespace

// Keys in bencode dictionaries must appear in sorted (raw byte) order, as written here.
std::string encode_announce_response(const AnnounceResponse& response, bool compact,
                                     bool include_peer_id) {
  std::string out;
  size_t v4_count = 0;
  for (const auto& peer : response.peers) v4_count += peer.ip.is_v4() ? 1 : 0;
  size_t v6_count = response.peers.size() - v4_count;
  out.reserve(128 + response.warning_message.size() + 18 * response.peers.size() +
              (compact ? 0 : 64 * response.peers.size()));
  out += 'd';
  put_string(out, "complete");
  put_int(out, as_bencode_int(response.complete));
  put_string(out, "incomplete");
  put_int(out, as_bencode_int(response.incomplete));
  put_string(out, "interval");
  put_int(out, response.interval.count());
  if (response.min_interval.count() > 0) {
    put_string(out, "min interval");
    put_int(out, response.min_interval.count());
  }
  put_string(out, "peers");
  if (compact) {
    auto put_compact = [&](bool v4, size_t count) {
      char digits[24];
      auto [end, ec] = std::to_chars(digits, digits + sizeof(digits), count * (v4 ? 6 : 18));
      out.append(digits, end);
      out += ':';
      for (const auto& peer : response.peers) {
        if (peer.ip.is_v4() != v4) continue;
        out.append(reinterpret_cast<const char*>(peer.ip.data()), peer.ip.size());
        append_port(out, peer.port);
      }
    };
    put_compact(true, v4_count);
    if (v6_count > 0) {
      put_string(out, "peers6");
      put_compact(false, v6_count);
    }
  } else {
    out += 'l';
    for (const auto& peer : response.peers) {
      out += 'd';
      put_string(out, "ip");
      put_string(out, peer.ip.str());
      if (include_peer_id && !peer.peer_id.empty()) {
        put_string(out, "peer id");
        put_string(out, peer.peer_id);
      }
      put_string(out, "port");
      put_int(out, peer.port);
      out += 'e';
    }
    out += 'e';
  }
  if (!response.warning_message.empty()) {
    put_string(out, "warning message");
    put_string(out, response.warning_message);
  }
  out += 'e';
  return out;
}

std::string encode_announce_failure(std::string_view reason) {
  std::string out = "d";
  put_string(out, "failure reason");
  put_string(out, reason);
  out += 'e';
  return out;
}

AnnounceResponse decode_announce_response(std::string_view bencoded) {
  // A peer dictionary is at most ~8 tokens; the root and its scalars need a few more.
  constexpr int kTokenLimit = 64 + 8 * static_cast<int>(AnnounceResponse::kMaxPeers);
  lt::bdecode_node root = decode_bencoded_dict("announce response", bencoded,
                                               AnnounceResponse::kMaxEncodedSize, 4, kTokenLimit);

  AnnounceResponse r;
  if (lt::bdecode_node failure = root.dict_find("failure reason")) {
    if (failure.type() != lt::bdecode_node::string_t || failure.string_length() == 0) {
      r.failure_reason = "tracker refused the announce without a reason";
    } else {
      r.failure_reason = std::string(failure.string_ptr(), failure.string_length());
    }
    return r;
  }
  auto warning = root.dict_find_string_value("warning message");
  r.warning_message = std::string(warning.data(), warning.size());
  r.interval = read_interval(root, "interval", /*needed=*/true);
  r.min_interval = read_interval(root, "min interval", /*needed=*/false);
  r.complete = read_count(root, "complete");
  r.incomplete = read_count(root, "incomplete");

  if (lt::bdecode_node peers = root.dict_find("peers")) {
    if (peers.type() == lt::bdecode_node::string_t) {
      read_compact(peers, 6, "peers", r.peers);
    } else if (peers.type() == lt::bdecode_node::list_t) {
      read_peer_dicts(peers, r.peers);
    } else {
      throw ProtoError("announce response: \"peers\" must be a string or a list");
    }
  }
  if (lt::bdecode_node peers6 = root.dict_find("peers6")) {
    if (peers6.type() != lt::bdecode_node::string_t) {
      throw ProtoError("announce response: \"peers6\" must be a string");
    }
    read_compact(peers6, 18, "peers6", r.peers);
  }
  if (r.peers.size() > AnnounceResponse::kMaxPeers) {
    throw ProtoError("announce response: more than " + std::to_string(AnnounceResponse::kMaxPeers) +
                     " peers");
  }
  return r;
}

ScrapeRequest parse_scrape_query(std::string_view query) {
  ScrapeRequest r;
  for_each_parameter(query, [&](std::string key, std::string value) {
    if (key != "info_hash") return;
    check_info_hash(value);
    if (std::find(r.info_hashes.begin(), r.info_hashes.end(), value) == r.info_hashes.end()) {
      r.info_hashes.push_back(std::move(value));
    }
  });
  return r;
}

std::string encode_scrape_query(const ScrapeRequest& request) {
  std::string q;
  for (const auto& hash : request.info_hashes) {
    q += (q.empty() ? "info_hash=" : "&info_hash=") + percent_encode(hash);
  }
  return q;
}

std::string encode_scrape_response(const ScrapeResponse& response) {
  if (!response.failure_reason.empty()) return encode_announce_failure(response.failure_reason);
  lt::entry e(lt::entry::dictionary_t);
  lt::entry& files = e["files"];
  files = lt::entry(lt::entry::dictionary_t);
  for (const auto& [hash, file] : response.files) {
    lt::entry item(lt::entry::dictionary_t);
    item["complete"] = static_cast<std::int64_t>(file.complete);
    item["downloaded"] = static_cast<std::int64_t>(file.downloaded);
    item["incomplete"] = static_cast<std::int64_t>(file.incomplete);
    files[hash] = std::move(item);
  }
  return to_bencode(e);
}

ScrapeResponse decode_scrape_response(std::string_view bencoded) {
  constexpr int kTokenLimit = 64 + 8 * static_cast<int>(AnnounceResponse::kMaxPeers);
  lt::bdecode_node root = decode_bencoded_dict("scrape response", bencoded,
                                               AnnounceResponse::kMaxEncodedSize, 4, kTokenLimit);
  ScrapeResponse r;
  if (lt::bdecode_node failure = root.dict_find("failure reason")) {
    r.failure_reason = failure.type() == lt::bdecode_node::string_t && failure.string_length() > 0
                           ? std::string(failure.string_ptr(), failure.string_length())
                           : "tracker refused the scrape without a reason";
    return r;
  }
  lt::bdecode_node files = root.dict_find_dict("files");
  if (!files) throw ProtoError("scrape response: missing \"files\" dictionary");
  for (int i = 0; i < files.dict_size(); ++i) {
    auto [key, value] = files.dict_at(i);
    if (value.type() != lt::bdecode_node::dict_t) {
      throw ProtoError("scrape response: an entry of \"files\" is not a dictionary");
    }
    ScrapeFile file;
    file.complete = read_count(value, "complete");
    file.downloaded = read_count(value, "downloaded");
    file.incomplete = read_count(value, "incomplete");
    r.files.emplace_back(std::string(key), file);
  }
  return r;
}

}  // namespace fanout::proto
