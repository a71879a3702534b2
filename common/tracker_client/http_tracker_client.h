#pragma once
// The tracker as seen from an agent or origin: announces (BitTorrent HTTP tracker protocol, as
// swarm::PeerDiscovery) and metainfo lookups (GET /v1/metainfo/{digest}), over cpp-httplib.
#include <chrono>
#include <stdexcept>
#include <string>

#include "common/digest/digest.h"
#include "common/swarm/peer_discovery.h"
#include "proto/metainfo.h"
#include "proto/metainfo_signature.h"

namespace fanout::tracker_client {

class TrackerClientError : public std::runtime_error {
 public:
  enum class Kind {
    kUnreachable,  // no HTTP answer (connection refused, timeout, ...)
    kNotFound,     // HTTP 404: the tracker (and its origins) do not know the blob
    kHttpStatus,   // any other non-200 answer
    kRefused,      // the tracker answered the announce with a "failure reason"
    kBadResponse,  // a 200 answer we cannot use (malformed, too large, wrong digest)
  };
  TrackerClientError(Kind kind, int status, const std::string& message)
      : std::runtime_error(message), kind_(kind), status_(status) {}
  Kind kind() const { return kind_; }
  int status() const { return status_; }  // the HTTP status, 0 when there was none

 private:
  Kind kind_;
  int status_;
};

struct TrackerClientOptions {
  std::chrono::milliseconds timeout{std::chrono::seconds(5)};  // connect, read and write each
};

class HttpTrackerClient : public swarm::PeerDiscovery {
 public:
  using Options = TrackerClientOptions;

  // base_url: "http://host:port", optionally with a path prefix ("http://host:port/tracker").
  // Throws std::invalid_argument when it is not an http:// or https:// URL.
  explicit HttpTrackerClient(const std::string& base_url, Options options = {});

  // Announces to the swarm of request.digest (info_hash = its first 20 bytes, plus fanout's
  // `digest=` parameter). Throws TrackerClientError; std::invalid_argument when request.ip is
  // not an IP address or request.event is not a protocol event.
  swarm::AnnounceResponse announce(const swarm::AnnounceRequest& request) override;

  // The metainfo of `digest`, checked to decode and to name that digest, with the origin's
  // signature as the tracker passed it on (empty when unsigned; checking it is the caller's
  // business). Throws TrackerClientError (kNotFound for a 404).
  proto::MetainfoWithSignature fetch_metainfo(const Digest& digest);

  const std::string& base_url() const { return base_url_; }

 private:
  struct Answer {
    int status = 0;
    std::string body;
    std::string metainfo_signature;  // the X-Fanout-Metainfo-Signature header, if any
  };
  // GET prefix + path with the body capped at max_body bytes.
  Answer get(const std::string& path, size_t max_body, const std::string& what);

  std::string base_url_;
  std::string scheme_host_port_;
  std::string path_prefix_;  // "" or "/something", never a trailing '/'
  Options options_;
};

}  // namespace fanout::tracker_client
