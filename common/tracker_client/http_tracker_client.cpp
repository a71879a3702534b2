#include "common/tracker_client/http_tracker_client.h"

#include <httplib.h>

#include <algorithm>

#include "proto/announce.h"
#include "proto/error_body.h"

namespace fanout::tracker_client {
namespace {

constexpr size_t kMaxQuotedBody = 200;

std::string detail_of(const std::string& body) {
  try {
    proto::ErrorBody error = proto::decode_error_body(body);
    return error.detail.empty() ? error.error : error.detail;
  } catch (const std::exception&) {
    return body.size() > kMaxQuotedBody ? body.substr(0, kMaxQuotedBody) + "..." : body;
  }
}

proto::AnnounceRequest to_wire(const swarm::AnnounceRequest& request) {
  proto::AnnounceRequest wire;
  wire.info_hash = request.digest.info_hash();
  wire.digest = request.digest;
  wire.peer_id = request.peer_id;
  wire.port = request.port;
  wire.uploaded = request.uploaded;
  wire.downloaded = request.downloaded;
  wire.left = request.left;
  try {
    wire.event = proto::parse_event(request.event);
  } catch (const proto::ProtoError& e) {
    throw std::invalid_argument(e.what());
  }
  wire.compact = true;
  wire.num_want = request.num_want;
  wire.zone = request.zone;
  wire.rack = request.rack;
  wire.origin = request.is_origin;
  if (!request.ip.empty()) {
    wire.ip = proto::IpAddress::parse(request.ip);
    if (!wire.ip)
      throw std::invalid_argument("announce: ip \"" + request.ip + "\" is not an IP address");
  }
  return wire;
}

}  // namespace

HttpTrackerClient::HttpTrackerClient(const std::string& base_url, Options options)
    : base_url_(base_url), options_(options) {
  size_t scheme_end = base_url.find("://");
  std::string scheme = scheme_end == std::string::npos ? "" : base_url.substr(0, scheme_end);
  if ((scheme != "http" && scheme != "https") || scheme_end + 3 >= base_url.size()) {
    throw std::invalid_argument("tracker URL \"" + base_url + "\" is not http(s)://host[:port]");
  }
  // httplib's client takes scheme://host:port only; a path prefix is ours to prepend.
  size_t path = base_url.find('/', scheme_end + 3);
  scheme_host_port_ = base_url.substr(0, path);
  if (path != std::string::npos) {
    path_prefix_ = base_url.substr(path);
    while (!path_prefix_.empty() && path_prefix_.back() == '/') path_prefix_.pop_back();
  }
}

HttpTrackerClient::Answer HttpTrackerClient::get(const std::string& path, size_t max_body,
                                                 const std::string& what) {
  httplib::Client client(scheme_host_port_);
  const auto s = std::chrono::duration_cast<std::chrono::seconds>(options_.timeout);
  const auto us = std::chrono::duration_cast<std::chrono::microseconds>(options_.timeout - s);
  client.set_connection_timeout(s.count(), us.count());
  client.set_read_timeout(s.count(), us.count());
  client.set_write_timeout(s.count(), us.count());
  client.set_url_encode(false);  // paths and queries are already percent-encoded by us

  // Stream the body through a cap, so a broken or hostile tracker cannot make us buffer more.
  Answer answer;
  bool too_big = false;
  httplib::Result res = client.Get((path_prefix_ + path).c_str(),
                                   [&](const httplib::Response& response) {
                                     answer.status = response.status;
                                     answer.metainfo_signature =
                                         response.get_header_value(proto::kMetainfoSignatureHeader);
                                     return true;
                                   },
                                   [&](const char* data, size_t length) {
                                     if (answer.body.size() + length > max_body) {
                                       too_big = true;
                                       return false;
                                     }
                                     answer.body.append(data, length);
                                     return true;
                                   });
  if (too_big) {
    throw TrackerClientError(TrackerClientError::Kind::kBadResponse, answer.status,
                             "tracker " + base_url_ + ": " + what + ": answer larger than " +
                                 std::to_string(max_body) + " bytes");
  }
  if (!res) {
    throw TrackerClientError(
        TrackerClientError::Kind::kUnreachable, 0,
        "tracker " + base_url_ + ": " + what + ": " + httplib::to_string(res.error()));
  }
  answer.status = res->status;
  return answer;
}

swarm::AnnounceResponse HttpTrackerClient::announce(const swarm::AnnounceRequest& request) {
  std::string what = "announce for " + request.digest.str();
  Answer answer = get("/announce?" + proto::encode_announce_query(to_wire(request)),
                      proto::AnnounceResponse::kMaxEncodedSize, what);
  if (answer.status != 200) {
    throw TrackerClientError(TrackerClientError::Kind::kHttpStatus, answer.status,
                             "tracker " + base_url_ + ": " + what + ": HTTP " +
                                 std::to_string(answer.status) + ": " + detail_of(answer.body));
  }
  proto::AnnounceResponse decoded;
  try {
    decoded = proto::decode_announce_response(answer.body);
  } catch (const proto::ProtoError& e) {
    throw TrackerClientError(TrackerClientError::Kind::kBadResponse, answer.status,
                             "tracker " + base_url_ + ": " + what + ": " + e.what());
  }
  if (!decoded.failure_reason.empty()) {
    throw TrackerClientError(
        TrackerClientError::Kind::kRefused, answer.status,
        "tracker " + base_url_ + " refused " + what + ": " + decoded.failure_reason);
  }
  swarm::AnnounceResponse out;
  // An interval of 0 would make the engine re-announce in a tight loop.
  out.interval = std::max(std::chrono::seconds(1), decoded.interval);
  out.peers.reserve(decoded.peers.size());
  for (const auto& peer : decoded.peers) out.peers.push_back({peer.ip.str(), peer.port});
  return out;
}

proto::MetainfoWithSignature HttpTrackerClient::fetch_metainfo(const Digest& digest) {
  std::string what = "metainfo of " + digest.str();
  Answer answer = get("/v1/metainfo/" + digest.str(), proto::Metainfo::kMaxEncodedSize, what);
  if (answer.status == 404) {
    throw TrackerClientError(
        TrackerClientError::Kind::kNotFound, 404,
        "tracker " + base_url_ + ": " + what + " not found: " + detail_of(answer.body));
  }
  if (answer.status != 200) {
    throw TrackerClientError(TrackerClientError::Kind::kHttpStatus, answer.status,
                             "tracker " + base_url_ + ": " + what + ": HTTP " +
                                 std::to_string(answer.status) + ": " + detail_of(answer.body));
  }
  proto::Metainfo metainfo;
  try {
    metainfo = proto::Metainfo::decode(answer.body);
  } catch (const proto::ProtoError& e) {
    throw TrackerClientError(TrackerClientError::Kind::kBadResponse, 200,
                             "tracker " + base_url_ + ": " + what + ": " + e.what());
  }
  if (metainfo.digest != digest) {
    throw TrackerClientError(
        TrackerClientError::Kind::kBadResponse, 200,
        "tracker " + base_url_ + ": asked for " + what + ", got that of " + metainfo.digest.str());
  }
  return {std::move(metainfo), std::move(answer.metainfo_signature)};
}

}  // namespace fanout::tracker_client
