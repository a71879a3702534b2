#pragma once
// Every counter fanout-agent exports besides the peer engine's (EngineMetrics under the same
// "fanout_agent" prefix), declared in one place.
#include "common/metrics/metrics.h"

namespace fanout::agent {

struct AgentMetrics {
  explicit AgentMetrics(metrics::Registry& r)
      : http_bytes_sent(r.counter("fanout_agent_http_bytes_sent_total",
                                  "Blob bytes sent to local clients over HTTP")),
        fetches(r.counter("fanout_agent_fetches_total",
                          "Blobs fetched through the swarm into the cache")),
        fetch_failures(r.counter("fanout_agent_fetch_failures_total",
                                 "Fetches that failed: unknown blob, tracker or swarm errors")),
        cache_hits(r.counter("fanout_agent_cache_hits_total",
                             "Blob requests answered from the cache without a fetch")) {}

  metrics::Counter& http_bytes_sent;
  metrics::Counter& fetches;
  metrics::Counter& fetch_failures;
  metrics::Counter& cache_hits;
};

}  // namespace fanout::agent
