#pragma once
// One fixture, parameterised by backend, so every registry test runs on SQLite and on a real
// PostgreSQL server (skipped, with the reason, only when PostgreSQL is not installed).
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <string>

#include "common/digest/sha256.h"
#include "common/registry/registry_db.h"
#include "proto/manifest.h"
#include "tests/support/temp_dir.h"
#include "tests/unit/registry/postgres_server.h"

namespace fanout::registry::testing {

class RegistryTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "postgresql") {
      std::string why;
      auto* server = test::PostgresServer::shared(why);
      if (!server) GTEST_SKIP() << why;
      url_ = server->create_database();
    } else {
      url_ = "sqlite:" + (dir_ / "registry.db").string();
    }
    db_ = open();
    write_token_ = db_->create_token("ci", Scope::kWrite);
    promote_token_ = db_->create_token("release-manager", Scope::kPromote);
  }

  // Another client of the same database: its own connection, as another process would have.
  std::unique_ptr<RegistryDb> open() {
    RegistryOptions options;
    options.url = url_;
    options.now_ms = [this] { return now_ms_.load(); };
    return open_registry(options);
  }

  // A manifest of `files` layers whose contents derive from `seed`, as an Artifact.
  static Artifact artifact(const std::vector<std::string>& contents) {
    proto::Manifest m;
    for (size_t i = 0; i < contents.size(); ++i) {
      m.layers.push_back({Sha256::of(contents[i]), contents[i].size(), "application/octet-stream",
                          "file" + std::to_string(i)});
    }
    Artifact a{m.digest().str(), std::string(proto::kManifestMediaType), m.encode(), {}};
    for (const auto& l : m.layers) {
      a.layers.push_back({l.digest.str(), l.size, l.media_type, l.file_name});
    }
    return a;
  }

  ModelVersion push(const std::string& model, const std::vector<std::string>& contents) {
    return db_->register_version({model, artifact(contents), std::nullopt, {}}, write_token_)
        .version;
  }

  test::TempDir dir_{"fanout-registry-"};
  std::string url_;
  std::atomic<int64_t> now_ms_{1'700'000'000'000};
  std::unique_ptr<RegistryDb> db_;
  std::string write_token_, promote_token_;
};

inline std::string backend_name(const ::testing::TestParamInfo<std::string>& info) {
  return info.param == "postgresql" ? "PostgreSQL" : "SQLite";
}

}  // namespace fanout::registry::testing
