// Issue 3's ring check: two origins that both own every digest (R=2), agents fetching one blob
// slowly enough that the fan-out is surely under way, and the origin that is seeding it killed
// mid-way. Every agent must still finish, with bytes that hash to the digest.
#include <gtest/gtest.h>
#include <httplib.h>

#include <chrono>
#include <cmath>
#include <csignal>
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
constexpr uint64_t kBlobSize = 48ull << 20;
// Per agent: the whole blob takes ~8 s at this rate, so the kill lands mid-fan-out.
constexpr const char* kIngressRate = "6MiB";

struct Fetch {
  int status = 0;
  std::string transport_error;
  std::string error_body;
  uint64_t bytes = 0;
  Digest digest;
};

Fetch fetch_blob(const std::string& agent_url, const Digest& digest) {
  Fetch fetch;
  httplib::Client client(agent_url);
  client.set_connection_timeout(std::chrono::seconds(5));
  client.set_read_timeout(std::chrono::seconds(180));
  Sha256 hash;
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
  if (!res) fetch.transport_error = httplib::to_string(res.error());
  fetch.digest = hash.finish();
  return fetch;
}

// Bytes an agent has received so far, from peers and origins together.
double received(const std::string& agent_url) {
  std::string text = get_body(agent_url, "/metrics");
  double total = metric(text, "fanout_agent_bytes_from_peers_total") +
                 metric(text, "fanout_agent_bytes_from_origins_total");
  return std::isnan(total) ? 0 : total;
}

double to_peers(const std::string& origin_url) {
  double sent = metric(get_body(origin_url, "/metrics"), "fanout_origin_bytes_to_peers_total");
  return std::isnan(sent) ? 0 : sent;
}

void fan_out_and_kill_an_origin(std::chrono::milliseconds grace) {
  TempDir dir("fanout-ring-");
  Cluster cluster(dir.path());
  ASSERT_TRUE(cluster.start_tracker_and_origins(2, 2));
  Digest digest = cluster.put_random_object(kBlobSize);
  ASSERT_TRUE(cluster.start_agents(kAgents, {"--ingress-rate", kIngressRate}));

  std::vector<Fetch> fetches(kAgents);
  std::vector<std::jthread> threads;
  for (int i = 0; i < kAgents; ++i) {
    threads.emplace_back([&, i] { fetches[i] = fetch_blob(cluster.agent_url(i), digest); });
  }

  // Wait until the agents hold about a quarter of what they need, none of them all of it.
  const double goal = 0.25 * kAgents * kBlobSize;
  double total = 0;
  std::vector<double> per_agent(kAgents);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline) {
    total = 0;
    for (int i = 0; i < kAgents; ++i) total += per_agent[i] = received(cluster.agent_url(i));
    if (total >= goal) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_GE(total, goal) << "the fan-out did not start:" << cluster.logs();

  // Stop the origin that has been seeding (origin-0 if both have).
  size_t victim = to_peers(cluster.origin_url(0)) > 0 ? 0 : 1;
  cluster.stop_origin(victim, grace);
  for (int i = 0; i < kAgents; ++i) {
    EXPECT_LT(per_agent[i], static_cast<double>(kBlobSize))
        << "agent-" << i << " had finished before origin-" << victim << " stopped";
  }
  std::printf("stopped origin-%zu with %.1f of %.1f MiB delivered\n", victim, total / (1 << 20),
              static_cast<double>(kAgents * kBlobSize) / (1 << 20));
  threads.clear();  // joins: every fetch has finished, one way or the other

  for (int i = 0; i < kAgents; ++i) {
    const Fetch& f = fetches[i];
    SCOPED_TRACE("agent-" + std::to_string(i) + " at " + cluster.agent_url(i));
    EXPECT_TRUE(f.transport_error.empty()) << "request failed: " << f.transport_error;
    EXPECT_EQ(f.status, 200) << "body: " << f.error_body;
    EXPECT_EQ(f.bytes, kBlobSize);
    EXPECT_EQ(f.digest.str(), digest.str()) << "the bytes served do not hash to the digest";
  }
  size_t survivor = 1 - victim;
  std::printf("origin-%zu (survivor) sent %.1f MiB to peers\n", survivor,
              to_peers(cluster.origin_url(survivor)) / (1 << 20));
  if (::testing::Test::HasFailure()) ADD_FAILURE() << "process logs:" << cluster.logs();
}

TEST(OriginRing, AgentsFinishWithCorrectBytesWhenASeedingOriginIsKilledMidFanOut) {
  fan_out_and_kill_an_origin(std::chrono::milliseconds(0));
}

TEST(OriginRing, AgentsFinishWithCorrectBytesWhenASeedingOriginIsStoppedMidFanOut) {
  fan_out_and_kill_an_origin(std::chrono::seconds(5));
}

}  // namespace
}  // namespace fanout::test
