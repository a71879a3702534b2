// Two origins of one ring (R=2) in one process, over one directory object store: a blob the
// first pulls is copied by the second from the first, not read from the object store again.
#include <gtest/gtest.h>
#include <httplib.h>

#include <chrono>
#include <memory>
#include <thread>

#include "common/digest/sha256.h"
#include "common/objectstore/directory_store.h"
#include "origin/blob_puller.h"
#include "origin/origin_server.h"
#include "origin/replicator.h"
#include "tests/support/ports.h"
#include "tests/support/random_blob.h"
#include "tests/support/temp_dir.h"
#include "tests/unit/origin/counting_object_store.h"

namespace fanout::origin {
namespace {

struct Node {
  Node(const std::filesystem::path& dir, ObjectStore& objects, const ClusterConfig& cluster,
       uint16_t port)
      : counting(objects),
        cas(dir / "cas"),
        replicator(cluster),
        puller(
            counting, cas, dir / "cas" / "metainfo",
            [](const proto::Metainfo&, const std::filesystem::path&) {}, metrics),
        server(puller, registry, metrics, cluster) {
    puller.set_on_fetched([this](const Digest& d) { replicator.replicate(d); });
    server.bind({"127.0.0.1", port});
    server.start();
  }
  ~Node() { server.stop(); }

  test::CountingObjectStore counting;
  BlobStore cas;
  metrics::Registry registry;
  OriginMetrics metrics{registry};
  Replicator replicator;  // outlives the puller, whose prefetches may still call it
  BlobPuller puller;
  OriginServer server;
};

class ReplicationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    uint16_t ports[2] = {test::free_port(), test::free_port()};
    ClusterConfig cluster;
    cluster.replicas = 2;
    for (int i = 0; i < 2; ++i) {
      cluster.origins.push_back(
          {"o" + std::to_string(i), "http://127.0.0.1:" + std::to_string(ports[i])});
      urls_[i] = cluster.origins.back().url;
    }
    for (int i = 0; i < 2; ++i) {
      cluster.self = "o" + std::to_string(i);
      nodes_[i] = std::make_unique<Node>(dir_.path() / cluster.self, objects_, cluster, ports[i]);
    }
  }

  std::string status(int i, const Digest& d) {
    httplib::Client client(urls_[i]);
    auto res = client.Get("/v1/blobs/" + d.str() + "/status");
    return res ? res->body : "";
  }

  test::TempDir dir_;
  DirectoryStore objects_{dir_.path() / "objects"};
  std::string urls_[2];
  std::unique_ptr<Node> nodes_[2];
};

TEST_F(ReplicationTest, TheSecondOwnerCopiesFromTheFirstAndTheObjectStoreIsReadOnce) {
  const uint64_t size = (9u << 20) + 77;
  auto src = dir_.path() / "src";
  Digest d = test::write_random_file(src, size, 5);
  objects_.put(blob_key(d), src);

  httplib::Client client(urls_[0]);
  auto res = client.Get("/v1/blobs/" + d.str() + "/metainfo");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;

  std::string state;
  for (int i = 0; i < 200 && state.find("\"ready\"") == std::string::npos; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    state = status(1, d);
  }
  EXPECT_NE(state.find("\"ready\""), std::string::npos) << state;
  EXPECT_EQ(nodes_[0]->counting.bytes_read, size);
  EXPECT_EQ(nodes_[1]->counting.bytes_read, 0u) << "the replica read the object store";
  EXPECT_EQ(nodes_[1]->metrics.replicas_copied.value(), 1u);
  EXPECT_EQ(nodes_[1]->metrics.replica_bytes_read.value(), size);
  // Both hold the same verified bytes and build the same metainfo.
  auto second = httplib::Client(urls_[1]).Get("/v1/blobs/" + d.str() + "/metainfo");
  ASSERT_TRUE(second);
  EXPECT_EQ(second->body, res->body);
}

TEST_F(ReplicationTest, CopyFromAnOriginOutsideTheRingIsRefused) {
  httplib::Client client(urls_[0]);
  Digest d = Sha256::of("x");
  auto res = client.Post("/v1/blobs/" + d.str() + "/prefetch?from=elsewhere");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 400) << res->body;
  res = client.Post("/v1/blobs/" + d.str() + "/prefetch?from=o0");  // itself
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 400) << res->body;
}

TEST_F(ReplicationTest, WhenThePeerCannotServeTheReplicaReadsTheObjectStore) {
  const uint64_t size = 3u << 20;
  auto src = dir_.path() / "src";
  Digest d = test::write_random_file(src, size, 6);
  objects_.put(blob_key(d), src);
  // o0 does not hold it and is gone: the copy fails, the object store is read instead.
  nodes_[0].reset();
  httplib::Client client(urls_[1]);
  auto res = client.Post("/v1/blobs/" + d.str() + "/prefetch?from=o0");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 202);
  std::string state;
  for (int i = 0; i < 200 && state.find("\"ready\"") == std::string::npos; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    state = status(1, d);
  }
  EXPECT_NE(state.find("\"ready\""), std::string::npos) << state;
  EXPECT_EQ(nodes_[1]->counting.bytes_read, size);
  EXPECT_EQ(nodes_[1]->metrics.replicas_copied.value(), 0u);
}

}  // namespace
}  // namespace fanout::origin

namespace fanout::origin {
namespace {

// A non-owner redirects with 307 to the best owner, keeping the path and the query, so a
// client that follows redirects (fanoutctl) lands on the owner with the same request.
TEST(NonOwnerOrigin, Answers307ToTheBestOwnerKeepingPathAndQuery) {
  test::TempDir dir;
  DirectoryStore objects(dir.path() / "objects");
  ClusterConfig cluster;
  cluster.self = "a";
  cluster.replicas = 1;
  for (std::string id : {"a", "b", "c"})
    cluster.origins.push_back({id, "http://" + id + ".test:7100"});
  placement::Ring ring({"a", "b", "c"});
  Digest d;
  for (int i = 0;; ++i) {
    d = Sha256::of("blob " + std::to_string(i));
    if (ring.owner(d) != "a") break;
  }
  Node node(dir.path() / "a", objects, cluster, test::free_port());
  httplib::Client client("127.0.0.1", node.server.port());
  const std::string owner_url = "http://" + ring.owner(d) + ".test:7100";

  auto res = client.Get("/v1/blobs/" + d.str() + "/metainfo");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 307);
  EXPECT_EQ(res->get_header_value("Location"), owner_url + "/v1/blobs/" + d.str() + "/metainfo");
  EXPECT_NE(res->body.find("not_owner"), std::string::npos) << res->body;

  res = client.Post("/v1/blobs/" + d.str() + "/prefetch?from=b");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 307);
  EXPECT_EQ(res->get_header_value("Location"),
            owner_url + "/v1/blobs/" + d.str() + "/prefetch?from=b");
  EXPECT_EQ(node.metrics.redirects.value(), 2u);
  EXPECT_EQ(node.counting.opens, 0) << "a non-owner read the object store";
}

}  // namespace
}  // namespace fanout::origin
