#pragma once
// Every counter and gauge the tracker exports on /metrics, declared in one place.
#include <array>

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
                                      "Metainfo lookups answered from the cache")),
        scrapes(r.counter("fanout_tracker_scrapes_total", "Scrape requests received")),
        scrape_failures(r.counter("fanout_tracker_scrape_failures_total",
                                  "Scrapes answered with a failure reason")),
        largest_swarm(r.gauge("fanout_tracker_largest_swarm_peers",
                              "Live peers in the biggest swarm (updated by the sweep)")),
        selected{&r.counter("fanout_tracker_selected_same_rack_total",
                            "Peers handed out from the requester's rack"),
                 &r.counter("fanout_tracker_selected_same_zone_total",
                            "Peers handed out from the requester's zone, other racks"),
                 &r.counter("fanout_tracker_selected_other_total",
                            "Peers handed out from other zones or without labels"),
                 &r.counter("fanout_tracker_selected_origin_total", "Origins handed out")} {}

  metrics::Counter& announces;
  metrics::Counter& announce_failures;
  metrics::Gauge& swarms;
  metrics::Gauge& peers;
  metrics::Counter& metainfo_fetches;
  metrics::Counter& metainfo_cache_hits;
  metrics::Counter& scrapes;
  metrics::Counter& scrape_failures;
  metrics::Gauge& largest_swarm;
  // Selection decisions by locality class, indexed by LocalityClass.
  std::array<metrics::Counter*, 4> selected;
};

}  // namespace fanout::tracker
