#include "proto/announce.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

namespace fanout::proto {
namespace {

using ::testing::HasSubstr;

// 20 bytes that a lenient URL decoder mangles: '+' (0x2B), ' ', '%', '&', '=', NUL and high bytes.
const std::string kAwkwardHash(
    "+ %&=\x00\xff\x80\x2b\x7f"
    "abcdefghij",
    20);
const std::string kPeerId = "-FO0001-123456789012";

std::string base_query(const std::string& info_hash = kAwkwardHash) {
  return "info_hash=" + percent_encode(info_hash) + "&peer_id=" + kPeerId +
         "&port=6881&uploaded=1&downloaded=2&left=3";
}

// The failure message parse_announce_query gives, or "" when it accepts the query.
std::string failure_of(const std::string& query) {
  try {
    parse_announce_query(query);
    return "";
  } catch (const ProtoError& e) {
    return e.what();
  }
}

TEST(IpAddress, ParsesLiteralsOnly) {
  EXPECT_EQ(IpAddress::parse("10.1.2.3")->str(), "10.1.2.3");
  EXPECT_TRUE(IpAddress::parse("10.1.2.3")->is_v4());
  EXPECT_EQ(IpAddress::parse("2001:db8::1")->str(), "2001:db8::1");
  EXPECT_TRUE(IpAddress::parse("2001:db8::1")->is_v6());
  // What a dual-stack socket reports for an IPv4 client is that IPv4 client.
  EXPECT_EQ(IpAddress::parse("::ffff:10.1.2.3"), IpAddress::parse("10.1.2.3"));
  for (const char* bad : {"", "localhost", "10.1.2", "10.1.2.256", "[::1]", "fe80::1%eth0",
                          "10.1.2.3 ", "2001:db8::1::2"}) {
    EXPECT_FALSE(IpAddress::parse(bad)) << bad;
  }
}

TEST(AnnounceQuery, ParsesEveryField) {
  std::string query = base_query() +
                      "&event=started&compact=1&no_peer_id=1&numwant=80&ip=10.0.0.7"
                      "&key=ab12&supportcrypto=1&trackerid=";
  AnnounceRequest r = parse_announce_query(query);
  EXPECT_EQ(r.info_hash, kAwkwardHash);
  EXPECT_EQ(r.peer_id, kPeerId);
  EXPECT_EQ(r.port, 6881);
  EXPECT_EQ(r.uploaded, 1u);
  EXPECT_EQ(r.downloaded, 2u);
  EXPECT_EQ(r.left, 3u);
  EXPECT_EQ(r.event, AnnounceEvent::kStarted);
  EXPECT_TRUE(r.compact);
  EXPECT_TRUE(r.no_peer_id);
  EXPECT_EQ(r.num_want, 80u);
  EXPECT_EQ(r.ip, IpAddress::parse("10.0.0.7"));
  EXPECT_FALSE(r.digest);
}

TEST(AnnounceQuery, DefaultsForOptionalFields) {
  AnnounceRequest r = parse_announce_query("info_hash=" + percent_encode(kAwkwardHash) +
                                           "&peer_id=" + kPeerId + "&port=1&left=0");
  EXPECT_EQ(r.uploaded, 0u);
  EXPECT_EQ(r.downloaded, 0u);
  EXPECT_EQ(r.event, AnnounceEvent::kNone);
  EXPECT_TRUE(r.compact);
  EXPECT_FALSE(r.num_want);
  EXPECT_FALSE(r.ip);
}

TEST(AnnounceQuery, PlusIsALiteralByteNotASpace) {
  // Raw '+' and "%2B" both mean byte 0x2B; a form decoder would have turned '+' into ' '.
  std::string hash(20, '+');
  AnnounceRequest raw = parse_announce_query("info_hash=" + std::string(20, '+') +
                                             "&peer_id=" + kPeerId + "&port=1&left=0");
  EXPECT_EQ(raw.info_hash, hash);
  AnnounceRequest escaped = parse_announce_query(base_query(hash));
  EXPECT_EQ(escaped.info_hash, hash);
}

TEST(AnnounceQuery, EncodeThenParseIsIdentity) {
  AnnounceRequest r;
  r.info_hash = kAwkwardHash;
  r.peer_id = std::string("\x00\x01\x02-+ /?&=%", 11) + "123456789";
  r.port = 65535;
  r.uploaded = AnnounceRequest::kMaxByteCount;
  r.downloaded = 7;
  r.left = 0;
  r.event = AnnounceEvent::kCompleted;
  r.compact = false;
  r.num_want = 0;
  r.ip = IpAddress::parse("2001:db8::42");
  AnnounceRequest back = parse_announce_query(encode_announce_query(r));
  EXPECT_EQ(back.info_hash, r.info_hash);
  EXPECT_EQ(back.peer_id, r.peer_id);
  EXPECT_EQ(back.port, r.port);
  EXPECT_EQ(back.uploaded, r.uploaded);
  EXPECT_EQ(back.downloaded, r.downloaded);
  EXPECT_EQ(back.left, r.left);
  EXPECT_EQ(back.event, r.event);
  EXPECT_EQ(back.compact, r.compact);
  EXPECT_EQ(back.num_want, r.num_want);
  EXPECT_EQ(back.ip, r.ip);
}

TEST(AnnounceQuery, DigestExtensionMustMatchTheInfoHash) {
  Digest digest = Digest::parse("sha256:" + std::string(64, 'a'));
  AnnounceRequest r = parse_announce_query(base_query(digest.info_hash()) +
                                           "&digest=" + percent_encode(digest.str()));
  EXPECT_EQ(r.digest, digest);
  EXPECT_EQ(r.swarm_key(), digest.info_hash());

  Digest other = Digest::parse("sha256:" + std::string(64, 'b'));
  EXPECT_THAT(failure_of(base_query(digest.info_hash()) + "&digest=" + other.str()),
              HasSubstr("\"digest\" does not match \"info_hash\""));
  EXPECT_THAT(failure_of(base_query(digest.info_hash()) + "&digest=sha256:ABC"),
              HasSubstr("\"digest\" must be sha256:"));
}

TEST(AnnounceQuery, AcceptsA32ByteV2InfoHashAndKeysItsSwarmByTheFirst20) {
  std::string v2(32, '\x42');
  v2[25] = '\x01';
  AnnounceRequest r = parse_announce_query(base_query(v2));
  EXPECT_EQ(r.info_hash, v2);
  EXPECT_EQ(r.swarm_key(), v2.substr(0, 20));
}

TEST(AnnounceQuery, MissingRequiredFieldsAreNamed) {
  const std::string hash = "info_hash=" + percent_encode(kAwkwardHash);
  const std::string peer = "&peer_id=" + kPeerId;
  EXPECT_THAT(failure_of(peer + "&port=1&left=0"), HasSubstr("missing \"info_hash\""));
  EXPECT_THAT(failure_of(hash + "&port=1&left=0"), HasSubstr("missing \"peer_id\""));
  EXPECT_THAT(failure_of(hash + peer + "&left=0"), HasSubstr("missing \"port\""));
  EXPECT_THAT(failure_of(hash + peer + "&port=1"), HasSubstr("missing \"left\""));
  EXPECT_THAT(failure_of(""), HasSubstr("missing \"info_hash\""));
}

TEST(AnnounceQuery, BadLengthsAreRefused) {
  EXPECT_THAT(failure_of(base_query(std::string(19, 'x'))),
              HasSubstr("\"info_hash\" must be 20 or 32 bytes, got 19"));
  EXPECT_THAT(failure_of(base_query(std::string(21, 'x'))), HasSubstr("got 21"));
  EXPECT_THAT(failure_of(base_query(std::string(33, 'x'))), HasSubstr("got 33"));
  EXPECT_THAT(failure_of(base_query("")), HasSubstr("got 0"));
  std::string q = "info_hash=" + percent_encode(kAwkwardHash) + "&port=1&left=0&peer_id=";
  EXPECT_THAT(failure_of(q + std::string(19, 'p')), HasSubstr("\"peer_id\" must be 20 bytes"));
  EXPECT_THAT(failure_of(q + std::string(21, 'p')), HasSubstr("got 21"));
}

TEST(AnnounceQuery, NumbersMustBePlainDecimalWithinTheirType) {
  const std::string hash = "info_hash=" + percent_encode(kAwkwardHash) + "&peer_id=" + kPeerId;
  const std::string ok_left = "&left=0";
  for (const char* port :
       {"0", "65536", "-1", "+5", "1e3", "", "0x10", "99999999999999999999999", "%201"}) {
    EXPECT_THAT(failure_of(hash + ok_left + "&port=" + port), HasSubstr("\"port\" must be"))
        << port;
  }
  EXPECT_EQ(failure_of(hash + ok_left + "&port=65535"), "");
  // Byte counts stay within bencode's signed 64-bit integers.
  EXPECT_EQ(failure_of(hash + "&port=1&left=9223372036854775807"), "");
  for (const char* huge : {"9223372036854775808", "18446744073709551616", "-5"}) {
    EXPECT_THAT(failure_of(hash + "&port=1&left=" + huge), HasSubstr("\"left\" must be")) << huge;
    EXPECT_THAT(failure_of(hash + "&port=1&left=0&uploaded=" + huge),
                HasSubstr("\"uploaded\" must be"));
    EXPECT_THAT(failure_of(hash + "&port=1&left=0&downloaded=" + huge),
                HasSubstr("\"downloaded\" must be"));
  }
  EXPECT_THAT(failure_of(hash + "&port=1&left=0&numwant=4294967296"),
              HasSubstr("\"numwant\" must be"));
  EXPECT_EQ(parse_announce_query(hash + "&port=1&left=0&numwant=4294967295").num_want, 4294967295u);
}

TEST(AnnounceQuery, BadPercentEncodingIsRefused) {
  const std::string rest = "&peer_id=" + kPeerId + "&port=1&left=0";
  for (const char* hash : {"%", "%4", "%g0", "%0g", "abc%2", "%%41"}) {
    EXPECT_THAT(failure_of(std::string("info_hash=") + hash + rest),
                HasSubstr("bad percent-encoding in \"info_hash\""))
        << hash;
  }
  EXPECT_THAT(failure_of(base_query() + "&key=%zz"), HasSubstr("bad percent-encoding in \"key\""));
  EXPECT_THAT(failure_of(base_query() + "&%zz=1"),
              HasSubstr("bad percent-encoding in a parameter name"));
  for (std::string raw : {std::string("\x01", 1), std::string("\x80"), std::string(" "),
                          std::string("#"), std::string("\x00", 1)}) {
    EXPECT_THAT(failure_of(base_query() + "&key=" + raw),
                HasSubstr("raw byte that must be percent-encoded"));
  }
}

TEST(AnnounceQuery, RepeatedFieldsAreRefusedUnknownOnesIgnored) {
  EXPECT_THAT(failure_of(base_query() + "&port=2"), HasSubstr("\"port\" given more than once"));
  EXPECT_EQ(failure_of(base_query() + "&foo=1&foo=2&&bar&"), "");
}

TEST(AnnounceQuery, EventsCompactAndIp) {
  EXPECT_EQ(parse_announce_query(base_query() + "&event=").event, AnnounceEvent::kNone);
  EXPECT_EQ(parse_announce_query(base_query() + "&event=stopped").event, AnnounceEvent::kStopped);
  EXPECT_EQ(parse_announce_query(base_query() + "&event=completed").event,
            AnnounceEvent::kCompleted);
  EXPECT_EQ(parse_announce_query(base_query() + "&event=paused").event, AnnounceEvent::kPaused);
  EXPECT_THAT(failure_of(base_query() + "&event=Started"), HasSubstr("\"event\" must be"));
  EXPECT_FALSE(parse_announce_query(base_query() + "&compact=0").compact);
  EXPECT_THAT(failure_of(base_query() + "&compact=2"), HasSubstr("\"compact\" must be 0 or 1"));
  EXPECT_EQ(parse_announce_query(base_query() + "&ip=2001%3Adb8%3A%3A1").ip,
            IpAddress::parse("2001:db8::1"));
  EXPECT_THAT(failure_of(base_query() + "&ip=tracker.example.com"),
              HasSubstr("\"ip\" must be an IPv4 or IPv6 address"));
}

TEST(AnnounceQuery, SizeLimits) {
  EXPECT_THAT(failure_of(base_query() + "&key=" + std::string(8192, 'a')),
              HasSubstr("query longer than 8192 bytes"));
  std::string many = base_query();
  for (int i = 0; i < 64; ++i) many += "&k" + std::to_string(i) + "=1";
  EXPECT_THAT(failure_of(many), HasSubstr("more than 64 parameters"));
}

TEST(AnnounceQuery, FailureMessagesDoNotEchoRawBytes) {
  std::string message = failure_of(base_query() + "&event=%0A%1B[31m");
  EXPECT_THAT(message, HasSubstr("\\x0a\\x1b[31m"));
  EXPECT_EQ(message.find('\n'), std::string::npos);
}

TEST(PercentEncode, KeepsOnlyUnreservedCharacters) {
  EXPECT_EQ(percent_encode("aZ09-._~"), "aZ09-._~");
  EXPECT_EQ(percent_encode(std::string("+ /\x00\xff:", 6)), "%2B%20%2F%00%FF%3A");
}

AnnounceResponse sample_response() {
  AnnounceResponse r;
  r.interval = std::chrono::seconds(30);
  r.min_interval = std::chrono::seconds(15);
  r.complete = 1;
  r.incomplete = 2;
  r.peers.push_back({*IpAddress::parse("127.0.0.1"), 6881, "-AA0001-000000000001"});
  r.peers.push_back({*IpAddress::parse("2001:db8::1"), 443, "-AA0001-000000000002"});
  r.peers.push_back({*IpAddress::parse("10.0.0.9"), 1, "-AA0001-000000000003"});
  return r;
}

TEST(AnnounceResponseCodec, CompactAnswerIsBep23AndBep7) {
  AnnounceResponse r = sample_response();
  std::string encoded = encode_announce_response(r);
  std::string v4("\x7f\x00\x00\x01\x1a\xe1\x0a\x00\x00\x09\x00\x01", 12);
  std::string v6("\x20\x01\x0d\xb8" + std::string(11, '\0') + "\x01\x01\xbb");
  EXPECT_EQ(encoded,
            "d8:completei1e10:incompletei2e8:intervali30e12:min intervali15e"
            "5:peers12:" +
                v4 + "6:peers618:" + v6 + "e");

  AnnounceResponse back = decode_announce_response(encoded);
  EXPECT_EQ(back.interval, r.interval);
  EXPECT_EQ(back.min_interval, r.min_interval);
  EXPECT_EQ(back.complete, 1u);
  EXPECT_EQ(back.incomplete, 2u);
  ASSERT_EQ(back.peers.size(), 3u);
  EXPECT_EQ(back.peers[0], (AnnouncePeer{*IpAddress::parse("127.0.0.1"), 6881, ""}));
  EXPECT_EQ(back.peers[1], (AnnouncePeer{*IpAddress::parse("10.0.0.9"), 1, ""}));
  EXPECT_EQ(back.peers[2], (AnnouncePeer{*IpAddress::parse("2001:db8::1"), 443, ""}));
}

TEST(AnnounceResponseCodec, DictionaryPeersWithAndWithoutIds) {
  AnnounceResponse r = sample_response();
  AnnounceResponse with_ids = decode_announce_response(encode_announce_response(r, false, true));
  EXPECT_EQ(with_ids.peers, r.peers);
  AnnounceResponse without = decode_announce_response(encode_announce_response(r, false, false));
  ASSERT_EQ(without.peers.size(), 3u);
  for (const auto& p : without.peers) EXPECT_EQ(p.peer_id, "");
  EXPECT_EQ(without.peers[1].ip.str(), "2001:db8::1");
}

TEST(AnnounceResponseCodec, DictionaryAnswerBytesAreSortedBencode) {
  AnnounceResponse r;
  r.interval = std::chrono::seconds(5);
  r.warning_message = "slow down";
  r.peers.push_back({*IpAddress::parse("10.0.0.1"), 80, "-AA0001-000000000001"});
  EXPECT_EQ(encode_announce_response(r, false, true),
            "d8:completei0e10:incompletei0e8:intervali5e5:peersld2:ip8:10.0.0.1"
            "7:peer id20:-AA0001-000000000001"
            "4:porti80eee15:warning message9:slow downe");
  r.peers.clear();
  r.complete = UINT64_MAX;  // beyond bencode's int64: clamped, never wrapped negative
  EXPECT_EQ(encode_announce_response(r),
            "d8:completei9223372036854775807e10:incompletei0e8:intervali5e5:peers0:"
            "15:warning message9:slow downe");
}

TEST(AnnounceResponseCodec, FailureReason) {
  std::string encoded = encode_announce_failure("announce: missing \"port\"");
  EXPECT_EQ(encoded, "d14:failure reason24:announce: missing \"port\"e");
  EXPECT_EQ(decode_announce_response(encoded).failure_reason, "announce: missing \"port\"");
  EXPECT_EQ(decode_announce_response("d14:failure reason0:e").failure_reason,
            "tracker refused the announce without a reason");
}

TEST(AnnounceResponseCodec, DropsPeersWithPortZero) {
  std::string peers("\x01\x02\x03\x04\x00\x00\x05\x06\x07\x08\x00\x50", 12);
  AnnounceResponse r = decode_announce_response("d8:intervali10e5:peers12:" + peers + "e");
  ASSERT_EQ(r.peers.size(), 1u);
  EXPECT_EQ(r.peers[0].ip.str(), "5.6.7.8");
  EXPECT_EQ(r.peers[0].port, 80);
}

std::string decode_failure(const std::string& encoded) {
  try {
    decode_announce_response(encoded);
    return "";
  } catch (const ProtoError& e) {
    return e.what();
  }
}

TEST(AnnounceResponseCodec, RefusesMalformedAnswers) {
  EXPECT_THAT(decode_failure(""), HasSubstr("not valid bencode"));
  EXPECT_THAT(decode_failure("d8:intervali10e"), HasSubstr("not valid bencode"));
  EXPECT_THAT(decode_failure("li1ee"), HasSubstr("not a dictionary"));
  EXPECT_THAT(decode_failure("d5:peers0:e"), HasSubstr("missing \"interval\""));
  EXPECT_THAT(decode_failure("d8:intervali-1ee"), HasSubstr("\"interval\" must be"));
  EXPECT_THAT(decode_failure("d8:interval2:10e"), HasSubstr("\"interval\" must be"));
  EXPECT_THAT(decode_failure("d8:intervali10e8:completei-1ee"), HasSubstr("\"complete\""));
  EXPECT_THAT(decode_failure("d8:intervali10e5:peers7:abcdefge"),
              HasSubstr("\"peers\" length is not a multiple of 6"));
  EXPECT_THAT(decode_failure("d8:intervali10e6:peers66:abcdefe"),
              HasSubstr("\"peers6\" length is not a multiple of 18"));
  EXPECT_THAT(decode_failure("d8:intervali10e5:peersi5ee"),
              HasSubstr("\"peers\" must be a string or a list"));
  EXPECT_THAT(decode_failure("d8:intervali10e5:peersld2:ip9:localhost4:porti80eeee"),
              HasSubstr("peers[0]: \"ip\" is not an IP address"));
  EXPECT_THAT(decode_failure("d8:intervali10e5:peersld2:ip7:1.2.3.44:porti70000eeee"),
              HasSubstr("peers[0]: \"port\""));
}

TEST(AnnounceResponseCodec, BoundsDepthTokensAndSize) {
  EXPECT_THAT(decode_failure("d8:intervali10e1:xllllllllleeeeeeeeee"),
              HasSubstr("not valid bencode"));
  std::string many_tokens = "d8:intervali10e1:xl";
  for (int i = 0; i < 500000; ++i) many_tokens += "i1e";
  many_tokens += "ee";
  EXPECT_THAT(decode_failure(many_tokens), HasSubstr("not valid bencode"));
  std::string huge =
      "d8:intervali10e1:x" + std::to_string(5 << 20) + ":" + std::string(5 << 20, 'a') + "e";
  EXPECT_THAT(decode_failure(huge), HasSubstr("larger than"));
}

}  // namespace
}  // namespace fanout::proto

namespace fanout::proto {
namespace {

TEST(AnnounceQueryExtensions, LabelsAndOriginRoundTrip) {
  AnnounceRequest r;
  r.info_hash = std::string(20, 'i');
  r.peer_id = std::string(20, 'p');
  r.port = 7001;
  r.zone = "us-east-1a";
  r.rack = "rack_12.b:3";
  r.origin = true;
  AnnounceRequest back = parse_announce_query(encode_announce_query(r));
  EXPECT_EQ(back.zone, "us-east-1a");
  EXPECT_EQ(back.rack, "rack_12.b:3");
  EXPECT_TRUE(back.origin);
  r.origin = false;
  r.zone.clear();
  back = parse_announce_query(encode_announce_query(r));
  EXPECT_FALSE(back.origin);
  EXPECT_EQ(back.zone, "");
  std::string base = encode_announce_query(r);
  EXPECT_THROW(parse_announce_query(base + "&zone=a%2Fb"), ProtoError);
  EXPECT_THROW(parse_announce_query(base + "&rack=" + std::string(65, 'r')), ProtoError);
  EXPECT_THROW(parse_announce_query(base + "&origin=2"), ProtoError);
}

TEST(ScrapeCodec, QueryAndResponseRoundTrip) {
  ScrapeRequest q{{std::string(20, '\x01'), std::string(32, '+')}};
  ScrapeRequest back = parse_scrape_query(
      encode_scrape_query(q) + "&info_hash=" + percent_encode(std::string(20, '\x01')) + "&x=1");
  EXPECT_EQ(back.info_hashes, q.info_hashes);  // the duplicate is dropped, others ignored
  EXPECT_TRUE(parse_scrape_query("").info_hashes.empty());
  EXPECT_THROW(parse_scrape_query("info_hash=abc"), ProtoError);
  EXPECT_THROW(parse_scrape_query("info_hash=%G0"), ProtoError);

  ScrapeResponse r;
  r.files.emplace_back(std::string(20, 'a'), ScrapeFile{3, 7, 2});
  ScrapeResponse decoded = decode_scrape_response(encode_scrape_response(r));
  ASSERT_EQ(decoded.files.size(), 1u);
  EXPECT_EQ(decoded.files[0].first, std::string(20, 'a'));
  EXPECT_EQ(decoded.files[0].second, (ScrapeFile{3, 7, 2}));

  r.failure_reason = "no";
  EXPECT_EQ(decode_scrape_response(encode_scrape_response(r)).failure_reason, "no");
  EXPECT_THROW(decode_scrape_response("d5:filesi1ee"), ProtoError);
  EXPECT_THROW(decode_scrape_response("garbage"), ProtoError);
}

}  // namespace
}  // namespace fanout::proto
