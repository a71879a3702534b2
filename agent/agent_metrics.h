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
                             "Blob requests answered from the cache without a fetch")),
        evictions(r.counter("fanout_agent_cache_evictions_total",
                            "Blobs evicted from the cache to stay under its watermarks")),
        cache_bytes(r.gauge("fanout_agent_cache_bytes", "Bytes of complete blobs in the cache")),
        cache_blobs(r.gauge("fanout_agent_cache_blobs", "Complete blobs in the cache")),
        range_reads_early(r.counter("fanout_agent_range_reads_early_total",
                                    "Range requests answered before their blob was complete")),
        pulls(r.counter("fanout_agent_pulls_total", "Model pulls started")),
        pull_failures(r.counter("fanout_agent_pull_failures_total", "Model pulls that failed")),
        pulls_in_flight(r.gauge("fanout_agent_pulls_in_flight", "Model pulls running now")),
        resumed_fetches(r.counter("fanout_agent_resumed_fetches_total",
                                  "Fetches restarted at start-up from their saved metainfo")),
        signed_metainfo_fetches(r.counter(
            "fanout_agent_blobs_published_on_signed_metainfo_total",
            "Blobs fetched with origin-signed metainfo, published without the whole-blob hash")),
        metainfo_signature_failures(r.counter(
            "fanout_agent_metainfo_signature_failures_total",
            "Metainfo refused: unsigned or not signed by a key in metainfo_public_keys")) {}

  metrics::Counter& http_bytes_sent;
  metrics::Counter& fetches;
  metrics::Counter& fetch_failures;
  metrics::Counter& cache_hits;
  metrics::Counter& evictions;
  metrics::Gauge& cache_bytes;
  metrics::Gauge& cache_blobs;
  metrics::Counter& range_reads_early;
  metrics::Counter& pulls;
  metrics::Counter& pull_failures;
  metrics::Gauge& pulls_in_flight;
  metrics::Counter& resumed_fetches;
  metrics::Counter& signed_metainfo_fetches;
  metrics::Counter& metainfo_signature_failures;
};

}  // namespace fanout::agent
