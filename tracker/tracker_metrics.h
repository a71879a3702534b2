#pragma once
// Every counter and gauge the tracker exports on /metrics, declared in one place.
#include "common/metrics/metrics.h"

namespace fanout::tracker {

struct TrackerMetrics {
  explicit TrackerMetrics(metrics::Registry& r)
      : announces(r.counter("fanout_tracker_announces_total", "Announce requests received")),
        announce_failures(r.counter("fanout_tracker_announce_failures_total",
                                    "Announces answered with a failure reason")),
        swarms(r.gauge("fanout_tracker_swarms", "Swarms with at least one live peer")),
        peers(r.gauge("fanout_tracker_peers", "Live peers over all swarms")),
        metainfo_fetches(r.counter("fanout_tracker_metainfo_fetches_total",
                                   "Metainfo requests sent to origins")),
        metainfo_cache_hits(r.counter("fanout_tracker_metainfo_cache_hits_total",
                                      "Metainfo lookups answered from the cache")) {}

  metrics::Counter& announces;
  metrics::Counter& announce_failures;
  metrics::Gauge& swarms;
  metrics::Gauge& peers;
  metrics::Counter& metainfo_fetches;
  metrics::Counter& metainfo_cache_hits;
};

}  // namespace fanout::tracker
