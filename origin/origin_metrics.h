#pragma once
// Every counter fanout-origin exports besides the peer engine's (EngineMetrics under the same
// "fanout_origin" prefix; its fanout_origin_bytes_to_peers_total is the egress to peers),
// declared in one place.
#include "common/metrics/metrics.h"

namespace fanout::origin {

struct OriginMetrics {
  explicit OriginMetrics(metrics::Registry& r)
      : http_bytes_sent(r.counter("fanout_origin_http_bytes_sent_total",
                                  "Blob bytes sent over the HTTP download endpoint")),
        objectstore_bytes_read(r.counter("fanout_origin_objectstore_bytes_read_total",
                                         "Bytes read from the object store, retries included")),
        objectstore_retries(r.counter("fanout_origin_objectstore_retries_total",
                                      "Object store requests retried after a transient failure")),
        pulls(r.counter("fanout_origin_pulls_total",
                        "Blobs pulled from the object store, verified and seeded")),
        pull_failures(r.counter("fanout_origin_pull_failures_total",
                                "Pulls that failed: absent, corrupt or unreadable objects")),
        singleflight_joins(r.counter("fanout_origin_singleflight_joins_total",
                                     "Requests that waited on a pull already under way")),
        uploads(r.counter("fanout_origin_uploads_total",
                          "Blobs uploaded, verified, written to the object store and seeded")),
        uploads_rejected(r.counter("fanout_origin_uploads_rejected_total",
                                   "Uploads refused because the body did not hash to the digest")),
        evictions(r.counter("fanout_origin_cache_evictions_total",
                            "Blobs evicted from the cache to keep it under its cap")),
        redirects(
            r.counter("fanout_origin_redirects_total", "Requests redirected to an owning origin")),
        replicas_copied(r.counter("fanout_origin_replicas_copied_total",
                                  "Blobs copied from another owning origin instead of the object "
                                  "store")),
        replica_bytes_read(r.counter("fanout_origin_replica_bytes_read_total",
                                     "Bytes read from other origins while copying replicas")),
        cache_bytes(r.gauge("fanout_origin_cache_bytes", "Bytes of blobs held in the cache")) {}

  metrics::Counter& http_bytes_sent;
  metrics::Counter& objectstore_bytes_read;
  metrics::Counter& objectstore_retries;
  metrics::Counter& pulls;
  metrics::Counter& pull_failures;
  metrics::Counter& singleflight_joins;
  metrics::Counter& uploads;
  metrics::Counter& uploads_rejected;
  metrics::Counter& evictions;
  metrics::Counter& redirects;
  metrics::Counter& replicas_copied;
  metrics::Counter& replica_bytes_read;
  metrics::Gauge& cache_bytes;
};

}  // namespace fanout::origin
