// Issue 2's headline check: four agents pull one 64 MiB blob at the same moment, every copy is
// intact, and the origin uploads fewer than two copies in total because the agents feed each
// other.
#include <gtest/gtest.h>
#include <httplib.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <latch>
#include <string>
#include <thread>
#include <vector>

#include "common/digest/sha256.h"
#include "tests/integration/cluster.h"
#include "tests/support/http.h"
#include "tests/support/prometheus.h"
#include "tests/support/temp_dir.h"

namespace fanout::test {
namespace {

constexpr int kAgents = 4;
constexpr uint64_t kBlobSize = 64ull << 20;

struct Fetch {
  int status = 0;
  std::string transport_error;  // set when there was no HTTP answer at all
  std::string error_body;       // the start of a non-200 body
  uint64_t bytes = 0;
  Digest digest;
  double seconds = 0;
};

Fetch fetch_blob(const std::string& agent_url, const Digest& digest, std::latch& start) {
  Fetch fetch;
  httplib::Client client(agent_url);
  client.set_connection_timeout(std::chrono::seconds(5));
  client.set_read_timeout(std::chrono::seconds(180));
  Sha256 hash;
  start.arrive_and_wait();
  auto began = std::chrono::steady_clock::now();
  auto res = client.Get(
      "/v1/blobs/" + digest.str(),
      [&](const httplib::Response& response) {
        fetch.status = response.status;
        return true;
      },
      [&](const char* data, size_t size) {
        fetch.bytes += size;
        if (fetch.status == 200) {
          hash.update(data, size);
        } else if (fetch.error_body.size() < 2000) {
          fetch.error_body.append(data, size);
        }
        return true;
      });
  fetch.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count();
  if (!res) fetch.transport_error = httplib::to_string(res.error());
  fetch.digest = hash.finish();
  return fetch;
}

TEST(SwarmFanout, FourAgentsFetchOneBlobAtOnceAndTheOriginUploadsFewerThanTwoCopies) {
  TempDir dir("fanout-swarm-");
  Cluster cluster(dir.path());
  ASSERT_TRUE(cluster.start_tracker_and_origin());
  Digest digest = cluster.put_random_object(kBlobSize);
  ASSERT_TRUE(cluster.start_agents(kAgents));

  std::vector<Fetch> fetches(kAgents);
  {
    std::latch start(kAgents);
    std::vector<std::jthread> threads;
    for (int i = 0; i < kAgents; ++i) {
      threads.emplace_back(
          [&, i] { fetches[i] = fetch_blob(cluster.agent_url(i), digest, start); });
    }
  }

  for (int i = 0; i < kAgents; ++i) {
    const Fetch& f = fetches[i];
    SCOPED_TRACE("agent-" + std::to_string(i) + " at " + cluster.agent_url(i));
    EXPECT_TRUE(f.transport_error.empty()) << "request failed: " << f.transport_error;
    EXPECT_EQ(f.status, 200) << "body: " << f.error_body;
    EXPECT_EQ(f.bytes, kBlobSize);
    EXPECT_EQ(f.digest.str(), digest.str()) << "the bytes served do not hash to the digest";
  }

  // Where each agent's bytes came from, printed for the reader of the test log. Every block the
  // agents served went from the cache file to the socket by splice (zero-copy uploads, default).
  double served = 0;
  for (int i = 0; i < kAgents; ++i) {
    std::string text = get_body(cluster.agent_url(i), "/metrics");
    std::printf("agent-%d: %.2f s, %.1f MiB from peers, %.1f MiB from origins\n", i,
                fetches[i].seconds, metric(text, "fanout_agent_bytes_from_peers_total") / (1 << 20),
                metric(text, "fanout_agent_bytes_from_origins_total") / (1 << 20));
    double to_peers = metric(text, "fanout_agent_bytes_to_peers_total");
    EXPECT_EQ(metric(text, "fanout_agent_bytes_to_peers_zero_copy_total"), to_peers)
        << "agent-" << i << " served blocks some other way than splice";
    served += to_peers;
  }
  EXPECT_GT(served, 0) << "the agents never served each other";

  std::string origin_metrics = get_body(cluster.origin_url(), "/metrics");
  double to_peers = metric(origin_metrics, "fanout_origin_bytes_to_peers_total");
  double over_http = metric(origin_metrics, "fanout_origin_http_bytes_sent_total");
  ASSERT_FALSE(std::isnan(to_peers) || std::isnan(over_http))
      << "origin /metrics lacks fanout_origin_bytes_to_peers_total or "
         "fanout_origin_http_bytes_sent_total:\n"
      << origin_metrics;
  EXPECT_EQ(metric(origin_metrics, "fanout_origin_bytes_to_peers_zero_copy_total"), to_peers);
  double copies = (to_peers + over_http) / static_cast<double>(kBlobSize);
  std::printf("origin uploaded %.2f copies (%.0f bytes to peers, %.0f over HTTP)\n", copies,
              to_peers, over_http);
  EXPECT_LT(to_peers + over_http, 2.0 * kBlobSize)
      << "the origin uploaded " << copies << " copies of the blob; the agents should have "
      << "fetched most of it from each other";

  if (::testing::Test::HasFailure()) {
    ADD_FAILURE() << "process logs:" << cluster.logs();
  }
}

}  // namespace
}  // namespace fanout::test
