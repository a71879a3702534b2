#pragma once
// fanout-origin's configuration: every key, its default (the member initialisers, the one place
// defaults are applied) and its meaning.
#include <yaml-cpp/yaml.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/config/config.h"
#include "proto/metainfo_signature.h"

namespace fanout::origin {

struct ObjectStoreConfig {
  // "directory" or "s3".
  std::string type = "directory";
  // For "directory": the root under which objects live as blobs/sha256/<hex>.
  std::string path = "objects";
  // For "s3": scheme://host[:port] of the S3 API (required).
  std::string endpoint;
  std::string region = "us-east-1";
  // For "s3": the bucket (required) and a key prefix ("fanout/" -> fanout/blobs/sha256/<hex>).
  std::string bucket;
  std::string prefix;
  // "path" (endpoint/bucket/key: MinIO, s3rver) or "virtual" (bucket.endpoint/key: AWS).
  std::string addressing = "path";
  // Empty: taken from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN.
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;
  // Per-request connect/read/write timeout; a stalled GET fails (and is retried) after this.
  std::chrono::milliseconds timeout{30000};
  // Uploads larger than this use S3 multipart upload, in parts of multipart_part_size (>= 5MiB).
  uint64_t multipart_threshold = 64ull << 20;
  uint64_t multipart_part_size = 16ull << 20;
  // For "s3": tries per upload request (PutObject, each UploadPart, ...) on 5xx, throttling,
  // timeouts and resets, with full-jitter exponential backoff between put_retry_base_delay and
  // put_retry_max_delay (as pull.* does for reads).
  uint32_t put_max_attempts = 5;
  std::chrono::milliseconds put_retry_base_delay{100};
  std::chrono::milliseconds put_retry_max_delay{5000};
};

// How pulls read the object store (see origin::PullOptions).
struct PullConfig {
  // 4 x 16 MiB measured best against s3rver on a 2-core machine (bench/README.md); against
  // AWS S3, whose per-connection rate is lower, more concurrency may pay.
  uint64_t part_size = 16ull << 20;
  uint32_t concurrency = 4;
  uint32_t max_attempts = 5;
  std::chrono::milliseconds retry_base_delay{100};
  std::chrono::milliseconds retry_max_delay{5000};
};

struct OriginMember {
  std::string id;
  std::string url;  // base URL of its HTTP API, where non-owners redirect
};

// The origins' placement ring. Empty origins: this origin serves every digest itself.
struct ClusterConfig {
  // This origin's id among origins (required when origins is not empty).
  std::string self;
  std::vector<OriginMember> origins;
  // Owners per digest (rendezvous hashing on xxHash64, common/placement).
  uint32_t replicas = 2;

  // The ring's member list: every origin's id.
  std::vector<std::string> member_ids() const {
    std::vector<std::string> ids;
    for (const auto& m : origins) ids.push_back(m.id);
    return ids;
  }
};

struct OriginConfig {
  // The HTTP API (metainfo, ranged download, /healthz, /metrics).
  config::HostPort listen{"127.0.0.1", 7100};
  // The peer protocol, where agents fetch pieces from this origin's seeds.
  config::HostPort peer_listen{"0.0.0.0", 7101};
  // The IP address announced to the tracker for peer_listen; empty lets the tracker use the
  // source address of our announces.
  std::string advertise_host;
  // Base URL of the tracker the seeds are announced to.
  std::string tracker = "http://127.0.0.1:7000";
  // Several trackers (the same list as the agents'): announces go to each blob's owner on the
  // trackers' rendezvous ring, then the next. Non-empty: replaces `tracker`.
  std::vector<std::string> trackers;
  ObjectStoreConfig object_store;
  PullConfig pull;
  ClusterConfig cluster;
  // Local CAS of pulled blobs (blobs/sha256/..) and their metainfo (metainfo/<hex>).
  std::string cache_dir = "origin-cache";
  // Cap on the bytes of blobs in cache_dir; least recently used blobs no swarm is fetching are
  // evicted above it. 0: no cap.
  uint64_t cache_max_size = 0;
  // Pulled blobs are written around the page cache (O_DIRECT) where the file system allows it:
  // filling new page-cache pages cost more than both SHA-256 passes of a pull. false: buffered.
  bool direct_io = true;
  // Agents shown pieces at once (super-seeding turns; swarm::Settings::reveal_slots).
  uint32_t reveal_slots = 16;
  // Pieces shown to an agent per turn (swarm::Settings::reveal_pieces).
  uint32_t reveal_pieces = 4;
  // An Ed25519 private key (PEM) that signs every metainfo this origin serves
  // (X-Fanout-Metainfo-Signature), so agents holding its public key publish blobs on their
  // verified pieces alone. Empty: metainfo goes out unsigned.
  std::string metainfo_signing_key;
  // trace, debug, info, warn, error, off.
  std::string log_level = "info";

  // metainfo_signing_key, loaded by read() so a bad key file fails at start-up.
  std::optional<proto::MetainfoSigner> metainfo_signer;

  // Reads and validates a config tree (file plus overrides); throws config::ConfigError
  // naming the bad key.
  static OriginConfig read(const YAML::Node& root);
};

}  // namespace fanout::origin
