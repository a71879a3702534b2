// A BitTorrent client that is not ours (aria2c, Debian package aria2) announces to the real
// fanout-tracker and gets peers back. The .torrent is a plain BitTorrent v1 file written here
// (bencoded by hand, SHA-1 pieces) whose announce URL is our tracker; three fake peers announce
// to its swarm first. Skipped when aria2c is not installed.
#include <gtest/gtest.h>
#include <openssl/sha.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <thread>

#include "proto/announce.h"
#include "tests/support/bin_dir.h"
#include "tests/support/child_process.h"
#include "tests/support/eventually.h"
#include "tests/support/http.h"
#include "tests/support/ports.h"
#include "tests/support/prometheus.h"
#include "tests/support/temp_dir.h"

namespace fanout::test {
namespace {

std::string find_aria2c() {
  for (const char* dir : {"/usr/bin", "/usr/local/bin"}) {
    std::string path = std::string(dir) + "/aria2c";
    if (::access(path.c_str(), X_OK) == 0) return path;
  }
  return "";
}

std::string sha1(const std::string& bytes) {
  unsigned char out[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), out);
  return std::string(reinterpret_cast<const char*>(out), SHA_DIGEST_LENGTH);
}

std::string bstr(const std::string& s) {
  return std::to_string(s.size()) + ":" + s;
}

struct Torrent {
  std::string file;       // the .torrent's bytes
  std::string info_hash;  // 20 bytes
};

Torrent make_torrent(const std::string& announce_url, const std::string& content) {
  constexpr size_t kPiece = 16384;
  std::string pieces;
  for (size_t off = 0; off < content.size(); off += kPiece)
    pieces += sha1(content.substr(off, kPiece));
  std::string info = "d6:lengthi" + std::to_string(content.size()) + "e4:name" + bstr("blob.bin") +
                     "12:piece lengthi" + std::to_string(kPiece) + "e6:pieces" + bstr(pieces) + "e";
  return {"d8:announce" + bstr(announce_url) + "4:info" + info + "e", sha1(info)};
}

double tracker_metric(const std::string& url, const std::string& name) {
  return metric(get_body(url, "/metrics"), name);
}

TEST(TrackerWithAria2, Aria2AnnouncesAndGetsPeersBack) {
  std::string aria2c = find_aria2c();
  if (aria2c.empty()) GTEST_SKIP() << "aria2c is not installed (Debian: aria2)";

  TempDir dir("fanout-aria2-");
  uint16_t port = free_port();
  std::string url = "http://127.0.0.1:" + std::to_string(port);
  ChildProcess tracker("fanout-tracker", bin("fanout-tracker"),
                       {"--listen", "127.0.0.1:" + std::to_string(port), "--log-level", "debug"},
                       dir / "tracker.log");
  ASSERT_TRUE(tracker.wait_healthy(url));

  Torrent torrent = make_torrent(url + "/announce", std::string(100000, 'x'));
  {
    std::ofstream out(dir / "blob.torrent", std::ios::binary);
    out << torrent.file;
  }

  // Three seeders on ports nobody listens on: aria2 is told about them and fails to connect,
  // which is all this test needs.
  std::vector<uint16_t> seed_ports;
  for (int n = 0; n < 3; ++n) {
    proto::AnnounceRequest r;
    r.info_hash = torrent.info_hash;
    r.peer_id = "-FO0001-seed" + std::to_string(n) + std::string(7, 'x');
    r.port = free_port();
    r.left = 0;
    r.ip = proto::IpAddress::parse("127.0.0.1");
    seed_ports.push_back(r.port);
    std::string body = get_body(url, "/announce?" + proto::encode_announce_query(r));
    ASSERT_EQ(proto::decode_announce_response(body).failure_reason, "");
  }
  double selected_before = tracker_metric(url, "fanout_tracker_selected_other_total");
  double announces_before = tracker_metric(url, "fanout_tracker_announces_total");

  ChildProcess aria2(
      "aria2c", aria2c,
      {"--dir=" + (dir / "download").string(), "--enable-dht=false", "--enable-dht6=false",
       "--enable-peer-exchange=false", "--bt-enable-lpd=false", "--seed-time=0",
       "--bt-stop-timeout=30", "--summary-interval=0", "--log=" + (dir / "aria2.log").string(),
       "--log-level=info", "--listen-port=" + std::to_string(free_port()),
       (dir / "blob.torrent").string()},
      dir / "aria2.out");

  // aria2's started announce must arrive and be answered with the three seeders.
  eventually(
      [&] {
        return tracker_metric(url, "fanout_tracker_selected_other_total") >= selected_before + 3;
      },
      std::chrono::seconds(20), std::chrono::milliseconds(100));
  EXPECT_GE(tracker_metric(url, "fanout_tracker_announces_total"), announces_before + 1);
  EXPECT_EQ(tracker_metric(url, "fanout_tracker_announce_failures_total"), 0) << tracker.log_tail();
  EXPECT_GE(tracker_metric(url, "fanout_tracker_selected_other_total"), selected_before + 3)
      << "aria2c's announce was not answered with the seeders\n"
      << tracker.log_tail() << aria2.log_tail();

  // The swarm now holds aria2 as a leecher beside the three seeders (BEP 48 scrape).
  std::string scrape =
      get_body(url, "/scrape?info_hash=" + proto::percent_encode(torrent.info_hash));
  proto::ScrapeResponse counts = proto::decode_scrape_response(scrape);
  ASSERT_EQ(counts.files.size(), 1u);
  EXPECT_EQ(counts.files[0].second.complete, 3u);
  EXPECT_EQ(counts.files[0].second.incomplete, 1u);

  // And aria2 itself says it tried the peers it was given.
  bool dialled = false;
  for (int i = 0; i < 50 && !dialled; ++i) {
    std::ifstream log(dir / "aria2.log");
    std::string text((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
    for (uint16_t p : seed_ports)
      dialled = dialled || text.find(":" + std::to_string(p)) != std::string::npos;
    if (!dialled) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_TRUE(dialled) << "aria2.log never names a seeder's port";
  aria2.stop();
  tracker.stop();
}

}  // namespace
}  // namespace fanout::test
