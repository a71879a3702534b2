// Bad input at every component's edge: malformed digests are 400, unknown ones 404, both with
// the JSON error body; an object whose bytes do not hash to its name is refused by the origin
// and never stored or served by an agent.
#include <gtest/gtest.h>
#include <httplib.h>

#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/digest/sha256.h"
#include "tests/integration/cluster.h"
#include "tests/support/http.h"
#include "tests/support/random_blob.h"
#include "tests/support/temp_dir.h"

namespace fanout::test {
namespace {

// One endpoint that takes a digest in its path: "{}" is where the digest goes.
struct Endpoint {
  std::string component;
  std::string base_url;
  std::string path_template;

  std::string path(const std::string& digest) const {
    std::string p = path_template;
    return p.replace(p.find("{}"), 2, digest);
  }
};

httplib::Result get(const std::string& base_url, const std::string& path) {
  httplib::Client client(base_url);
  client.set_connection_timeout(std::chrono::seconds(5));
  client.set_read_timeout(std::chrono::seconds(60));
  // Send the path exactly as written: the malformed digests include %-escapes on purpose.
  client.set_url_encode(false);
  return client.Get(path);
}

// Checks for the API's error shape: the status wanted (or, with want_status 0, any 4xx/5xx),
// a JSON content type, and a body {"error": "...", "detail": "..."}.
::testing::AssertionResult is_json_error(const httplib::Result& res, int want_status) {
  if (!res) return ::testing::AssertionFailure() << describe(res);
  if (want_status != 0 ? res->status != want_status : res->status < 400) {
    return ::testing::AssertionFailure()
           << "wanted " << (want_status != 0 ? std::to_string(want_status) : "an error status")
           << ", got " << describe(res);
  }
  std::string content_type = res->get_header_value("Content-Type");
  if (content_type.find("application/json") == std::string::npos) {
    return ::testing::AssertionFailure()
           << "Content-Type is '" << content_type << "', not application/json; " << describe(res);
  }
  auto body = nlohmann::json::parse(res->body, nullptr, /*allow_exceptions=*/false);
  if (!body.is_object() || !body.contains("error") || !body["error"].is_string() ||
      body["error"].get<std::string>().empty() || !body.contains("detail") ||
      !body["detail"].is_string()) {
    return ::testing::AssertionFailure()
           << "body is not {\"error\": \"...\", \"detail\": \"...\"}; " << describe(res);
  }
  return ::testing::AssertionSuccess();
}

std::string detail_of(const httplib::Result& res) {
  auto body = nlohmann::json::parse(res->body, nullptr, false);
  return body.is_object() && body.contains("detail") && body["detail"].is_string()
             ? body["detail"].get<std::string>()
             : std::string();
}

// Every file under dir whose name mentions hex (a finished blob, a partial file, a temp file).
std::vector<std::string> files_naming(const std::filesystem::path& dir, const std::string& hex) {
  std::vector<std::string> found;
  std::error_code ec;
  if (!std::filesystem::exists(dir, ec)) return found;
  for (auto it = std::filesystem::recursive_directory_iterator(dir, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (it->path().filename().string().find(hex) != std::string::npos) {
      found.push_back(it->path().string());
    }
  }
  return found;
}

// Malformed digests: wrong algorithm, case, length or alphabet, and path traversal.
std::vector<std::string> malformed_digests() {
  const std::string hex = Sha256::of("fanout").hex();
  std::string upper = hex;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return {
      "sha256:XYZ",
      "md5:d41d8cd98f00b204e9800998ecf8427e",
      "sha512:" + hex + hex,
      "sha256:" + upper,                    // uppercase hex
      "SHA256:" + hex,                      // uppercase algorithm
      "sha256:" + hex.substr(0, 63),        // too short
      "sha256:" + hex + "0",                // too long
      "sha256:" + hex.substr(0, 63) + "g",  // not hex
      hex,                                  // no algorithm
      "sha256:" + hex + "%00",              // trailing NUL
      "..%2F..%2Fetc%2Fpasswd",             // path traversal
      "sha256:..%2F..%2F..%2Fetc%2Fpasswd",
  };
}

// The tracker and the origin start for every test; the agent only where a test needs it, so a
// broken agent does not hide what the other two do.
class BadInput : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(cluster_.start_tracker_and_origin()); }

  void TearDown() override {
    if (HasFailure()) ADD_FAILURE() << "process logs:" << cluster_.logs();
  }

  void expect_malformed_is_400(const Endpoint& endpoint) {
    for (const auto& digest : malformed_digests()) {
      std::string path = endpoint.path(digest);
      EXPECT_TRUE(is_json_error(get(endpoint.base_url, path), 400))
          << endpoint.component << " GET " << path;
    }
  }

  void expect_unknown_is_404(const Endpoint& endpoint) {
    std::string path = endpoint.path(Sha256::of("a blob nobody stored").str());
    EXPECT_TRUE(is_json_error(get(endpoint.base_url, path), 404))
        << endpoint.component << " GET " << path;
  }

  // An object stored under a digest its bytes do not hash to; returns that claimed digest.
  Digest put_mismatched_object() {
    Digest claimed = Sha256::of("not the bytes stored under this name");
    Digest actual = write_random_file(cluster_.object_path(claimed), 1 << 20);
    EXPECT_NE(claimed, actual);
    return claimed;
  }

  TempDir dir_{"fanout-bad-input-"};
  Cluster cluster_{dir_.path()};
};

TEST_F(BadInput, TrackerAnswersMalformedDigestWith400) {
  expect_malformed_is_400({"tracker", cluster_.tracker_url(), "/v1/metainfo/{}"});
}

TEST_F(BadInput, OriginAnswersMalformedDigestWith400) {
  expect_malformed_is_400({"origin", cluster_.origin_url(), "/v1/blobs/{}"});
  expect_malformed_is_400({"origin", cluster_.origin_url(), "/v1/blobs/{}/metainfo"});
}

TEST_F(BadInput, AgentAnswersMalformedDigestWith400) {
  ASSERT_TRUE(cluster_.start_agents(1));
  expect_malformed_is_400({"agent", cluster_.agent_url(0), "/v1/blobs/{}"});
}

TEST_F(BadInput, TrackerAnswersUnknownDigestWith404) {
  expect_unknown_is_404({"tracker", cluster_.tracker_url(), "/v1/metainfo/{}"});
}

TEST_F(BadInput, OriginAnswersUnknownDigestWith404) {
  expect_unknown_is_404({"origin", cluster_.origin_url(), "/v1/blobs/{}"});
  expect_unknown_is_404({"origin", cluster_.origin_url(), "/v1/blobs/{}/metainfo"});
}

TEST_F(BadInput, AgentAnswersUnknownDigestWith404) {
  ASSERT_TRUE(cluster_.start_agents(1));
  expect_unknown_is_404({"agent", cluster_.agent_url(0), "/v1/blobs/{}"});
}

TEST_F(BadInput, OriginRefusesAnObjectWhoseBytesDoNotHashToItsName) {
  Digest claimed = put_mismatched_object();
  for (const std::string& path :
       {"/v1/blobs/" + claimed.str() + "/metainfo", "/v1/blobs/" + claimed.str()}) {
    auto res = get(cluster_.origin_url(), path);
    ASSERT_TRUE(is_json_error(res, 0)) << "origin GET " << path;
    EXPECT_NE(detail_of(res).find(claimed.hex()), std::string::npos)
        << "the error detail should name the digest " << claimed.str() << "; " << describe(res);
  }
  EXPECT_EQ(files_naming(cluster_.origin_cache_dir(), claimed.hex()), std::vector<std::string>{})
      << "the origin kept a file for a blob that failed verification";
}

// The agent asks first (the origin has not seen the object yet), then asks again: both fail
// and nothing is left in its cache.
TEST_F(BadInput, AgentNeverStoresOrServesAnObjectWhoseBytesDoNotHashToItsName) {
  ASSERT_TRUE(cluster_.start_agents(1));
  Digest claimed = put_mismatched_object();
  const std::string path = "/v1/blobs/" + claimed.str();
  for (int attempt = 1; attempt <= 2; ++attempt) {
    SCOPED_TRACE("attempt " + std::to_string(attempt));
    auto res = get(cluster_.agent_url(0), path);
    EXPECT_TRUE(is_json_error(res, 0)) << "agent GET " << path;
    EXPECT_EQ(files_naming(cluster_.agent_cache_dir(0), claimed.hex()), std::vector<std::string>{})
        << "the agent's cache holds a file for a blob that failed verification";
  }
  EXPECT_EQ(files_naming(cluster_.origin_cache_dir(), claimed.hex()), std::vector<std::string>{})
      << "the origin kept a file for a blob that failed verification";
}

}  // namespace
}  // namespace fanout::test
