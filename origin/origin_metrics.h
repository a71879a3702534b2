#pragma once
// Every counter fanout-origin exports besides the peer engine's (EngineMetrics under the same
// "fanout_origin" prefix), declared in one place.
#include "common/metrics/metrics.h"

namespace fanout::origin {

struct OriginMetrics {
  explicit OriginMetrics(metrics::Registry& r)
      : http_bytes_sent(r.counter("fanout_origin_http_bytes_sent_total",
                                  "Blob bytes sent over the HTTP download endpoint")),
        objectstore_bytes_read(r.counter("fanout_origin_objectstore_bytes_read_total",
                                         "Bytes read from the object store")),
        pulls(r.counter("fanout_origin_pulls_total",
                        "Blobs pulled from the object store, verified and seeded")),
        pull_failures(r.counter("fanout_origin_pull_failures_total",
                                "Pulls that failed: absent, corrupt or unreadable objects")) {}

  metrics::Counter& http_bytes_sent;
  metrics::Counter& objectstore_bytes_read;
  metrics::Counter& pulls;
  metrics::Counter& pull_failures;
};

}  // namespace fanout::origin
