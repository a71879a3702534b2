#pragma once
// The BitTorrent HTTP tracker protocol: the announce request (BEP 3 query parameters) and its
// bencoded answer (BEP 3, BEP 23 compact peers, BEP 7 IPv6 peers), and the scrape (BEP 48).
// Both directions live here so the tracker and our own client share one codec and one set of
// limits.
//
// fanout names a blob's swarm by the first 20 bytes of its sha256 digest (Digest::info_hash());
// fanout's own clients add extension parameters other clients never send:
//   digest=sha256:<hex>  the blob, so the tracker can map the swarm back to it
//   zone=, rack=         the peer's locality labels, for locality-aware peer selection
//   origin=1             the peer is an origin (a seeder of last resort)
#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/digest/digest.h"
#include "proto/proto_error.h"

namespace fanout::proto {

// An IPv4 or IPv6 address in network byte order. IPv4-mapped IPv6 addresses (::ffff:a.b.c.d,
// what a dual-stack socket reports for an IPv4 client) are stored as IPv4, so one peer has one
// address whichever socket it came through.
class IpAddress {
 public:
  // Parses an address literal; host names are refused (nullopt) because a compact peer list
  // can only carry addresses.
  static std::optional<IpAddress> parse(std::string_view text);
  static IpAddress from_v4(const uint8_t* bytes);  // 4 bytes
  static IpAddress from_v6(const uint8_t* bytes);  // 16 bytes (normalised like parse)

  IpAddress() = default;
  bool is_v4() const { return size_ == 4; }
  bool is_v6() const { return size_ == 16; }
  const uint8_t* data() const { return bytes_.data(); }
  size_t size() const { return size_; }
  std::string str() const;  // "1.2.3.4" or "2001:db8::1"

  friend bool operator==(const IpAddress&, const IpAddress&) = default;
  friend auto operator<=>(const IpAddress&, const IpAddress&) = default;

 private:
  std::array<uint8_t, 16> bytes_{};
  uint8_t size_ = 0;  // 0 = unset, 4 or 16
};

enum class AnnounceEvent { kNone, kStarted, kCompleted, kStopped, kPaused };

std::string_view event_name(AnnounceEvent event);  // "" for kNone
// Throws ProtoError for anything but "", started, completed, stopped, paused (BEP 21).
AnnounceEvent parse_event(std::string_view text);

struct AnnounceRequest {
  // Limits applied by parse_announce_query; anything beyond is a failure, never a wrap-around.
  static constexpr size_t kMaxQueryLength = 8192;
  static constexpr size_t kMaxParameters = 64;
  static constexpr uint64_t kMaxByteCount = INT64_MAX;  // bencode integers are signed 64-bit

  std::string info_hash;         // 20 raw bytes, or 32 for a BEP 52 (v2) swarm
  std::optional<Digest> digest;  // fanout extension `digest=`; its first 20 bytes = info_hash's
  std::string peer_id;           // 20 raw bytes
  uint16_t port = 0;             // 1-65535
  uint64_t uploaded = 0;
  uint64_t downloaded = 0;
  uint64_t left = 0;  // 0 = seeder
  AnnounceEvent event = AnnounceEvent::kNone;
  bool compact = true;               // BEP 23; every current client asks for it
  bool no_peer_id = false;           // only matters for non-compact answers
  std::optional<uint32_t> num_want;  // absent = the tracker's default; the tracker caps it
  std::optional<IpAddress> ip;       // the `ip` parameter; absent = the connection's address
  // Locality labels (fanout extension): at most kMaxLabelLength of [A-Za-z0-9._:-]; empty = none.
  std::string zone;
  std::string rack;
  bool origin = false;  // fanout extension `origin=1`

  static constexpr size_t kMaxLabelLength = 64;

  // The swarm's key: the info-hash truncated to 20 bytes, as BEP 52 does for v2 hashes on the
  // wire, so a 32-byte announce and a truncated one meet in the same swarm.
  std::string swarm_key() const { return info_hash.substr(0, 20); }
};

// Parses the raw query string of an announce (the part after '?', still percent-encoded).
// Strict: every percent escape must be "%" + two hex digits, raw bytes outside printable ASCII
// are refused, required fields (info_hash, peer_id, port, left) must be present exactly once,
// numbers must be plain decimal within their type. Unknown parameters (key, trackerid,
// supportcrypto, ...) are ignored. Throws ProtoError whose message names the bad field.
AnnounceRequest parse_announce_query(std::string_view query);
// The query string a client sends for `request` (without the leading '?'); the inverse of
// parse_announce_query.
std::string encode_announce_query(const AnnounceRequest& request);

// RFC 3986 percent-encoding of arbitrary bytes: unreserved characters stay, the rest is %XX.
std::string percent_encode(std::string_view bytes);

struct AnnouncePeer {
  IpAddress ip;
  uint16_t port = 0;
  std::string peer_id;  // only sent in non-compact answers; may be empty
  friend bool operator==(const AnnouncePeer&, const AnnouncePeer&) = default;
};

struct AnnounceResponse {
  // Decoder limits: a response bigger than this, or with more peers, is refused.
  static constexpr size_t kMaxEncodedSize = 4u << 20;
  static constexpr size_t kMaxPeers = 50000;

  std::string failure_reason;  // non-empty: the tracker refused; nothing else is meaningful
  std::string warning_message;
  std::chrono::seconds interval{30};
  std::chrono::seconds min_interval{0};  // 0 = not given
  uint64_t complete = 0;                 // seeders
  uint64_t incomplete = 0;               // leechers
  std::vector<AnnouncePeer> peers;       // IPv4 and IPv6 together
};

// Bencodes a successful answer. compact: IPv4 peers as 6-byte entries in `peers`, IPv6 peers as
// 18-byte entries in `peers6` (BEP 7); otherwise `peers` is a list of {ip, port[, peer id]}
// dictionaries (BEP 3), with peer ids left out when include_peer_id is false.
std::string encode_announce_response(const AnnounceResponse& response, bool compact = true,
                                     bool include_peer_id = true);
// Bencodes {"failure reason": reason}: the protocol's way to refuse, sent with HTTP 200.
std::string encode_announce_failure(std::string_view reason);
// Decodes a tracker's answer with bounded depth and token count. A failure answer comes back
// with failure_reason set (not thrown); a malformed answer throws ProtoError naming the field.
AnnounceResponse decode_announce_response(std::string_view bencoded);

// BEP 48 scrape: GET /scrape?info_hash=..&info_hash=.. (each 20 or 32 bytes; a 32-byte hash is
// keyed by its first 20, like announces). An empty list is a "full scrape".
struct ScrapeRequest {
  static constexpr size_t kMaxInfoHashes = AnnounceRequest::kMaxParameters;
  std::vector<std::string> info_hashes;  // raw bytes, in request order, duplicates removed
};
// Same strictness as parse_announce_query; other parameters are ignored. Throws ProtoError.
ScrapeRequest parse_scrape_query(std::string_view query);
std::string encode_scrape_query(const ScrapeRequest& request);

struct ScrapeFile {
  uint64_t complete = 0;    // seeders
  uint64_t downloaded = 0;  // "completed" events seen
  uint64_t incomplete = 0;  // leechers
  friend bool operator==(const ScrapeFile&, const ScrapeFile&) = default;
};
struct ScrapeResponse {
  std::string failure_reason;
  std::vector<std::pair<std::string, ScrapeFile>> files;  // info-hash as sent -> counts
};
// {"files": {<info_hash>: {"complete", "downloaded", "incomplete"}}}.
std::string encode_scrape_response(const ScrapeResponse& response);
// Bounded like decode_announce_response; a failure answer comes back with failure_reason set.
ScrapeResponse decode_scrape_response(std::string_view bencoded);

}  // namespace fanout::proto
