// The registry's behaviour, the same on SQLite and PostgreSQL: versions, idempotent
// registration, lineage, tokens and scopes, alias moves with their audit rows, rollback,
// concurrent flips, the append-only audit log, migrations, and change notifications.
#include <gtest/gtest.h>

#include <latch>
#include <thread>
#include <vector>

#include "common/registry/sql_connection.h"
#include "tests/unit/registry/registry_fixture.h"

namespace fanout::registry::testing {
namespace {

TEST_P(RegistryTest, VersionsAreNumberedPerModelInRegistrationOrder) {
  EXPECT_EQ(push("llama", {"a"}).number, 1);
  EXPECT_EQ(push("llama", {"b"}).number, 2);
  EXPECT_EQ(push("mistral", {"a"}).number, 1);
  auto versions = db_->versions("llama");
  ASSERT_EQ(versions.size(), 2u);
  EXPECT_EQ(versions[0].artifact_digest, artifact({"a"}).digest);
  EXPECT_EQ(versions[1].artifact_digest, artifact({"b"}).digest);
  EXPECT_EQ(versions[0].created_by, "ci");
  EXPECT_EQ(versions[0].created_at_ms, now_ms_.load());
  EXPECT_THROW(db_->versions("nope"), NotFoundError);
}

TEST_P(RegistryTest, RegisteringTheSameManifestAgainReturnsTheExistingVersion) {
  auto first =
      db_->register_version({"llama", artifact({"a", "b"}), std::nullopt, {}}, write_token_);
  EXPECT_TRUE(first.created);
  auto again =
      db_->register_version({"llama", artifact({"a", "b"}), std::nullopt, {}}, write_token_);
  EXPECT_FALSE(again.created);
  EXPECT_EQ(again.version.number, first.version.number);
  EXPECT_EQ(db_->versions("llama").size(), 1u);
}

TEST_P(RegistryTest, StoresTheArtifactItsLayersTheRunAndMetrics) {
  registry::Run run{"run-42",
                    "imagenet@v3",
                    "0123abcd",
                    "sha256:" + std::string(64, 'e'),
                    {{"lr", "0.001"}, {"epochs", "3"}}};
  Artifact a = artifact({"weights", "tokenizer"});
  auto v = db_->register_version({"llama", a, run, {{"f1", 0.91}, {"loss", 0.2}}}, write_token_);
  auto stored = db_->version("llama", v.version.number);
  ASSERT_TRUE(stored);
  EXPECT_EQ(stored->run_id, "run-42");
  EXPECT_DOUBLE_EQ(stored->metrics.at("f1"), 0.91);
  EXPECT_EQ(db_->run("run-42"), run);
  auto art = db_->artifact(a.digest);
  ASSERT_TRUE(art);
  EXPECT_EQ(art->manifest, a.manifest);
  EXPECT_EQ(art->layers, a.layers);
  EXPECT_EQ(art->size(), a.manifest.size());
  // A run id names one lineage: reusing it with other values is refused.
  registry::Run other = run;
  other.dataset = "imagenet@v4";
  EXPECT_THROW(db_->register_version({"llama", artifact({"x"}), other, {}}, write_token_),
               InvalidRequestError);
}

TEST_P(RegistryTest, RefusesAManifestWhoseDigestIsNotItsSha256AndBadNames) {
  Artifact a = artifact({"a"});
  a.digest = artifact({"b"}).digest;
  EXPECT_THROW(db_->register_version({"llama", a, std::nullopt, {}}, write_token_),
               InvalidRequestError);
  EXPECT_THROW(db_->register_version({"../etc", artifact({"a"}), std::nullopt, {}}, write_token_),
               InvalidRequestError);
  EXPECT_THROW(db_->flip({"llama", "pr od", 1, "x"}, promote_token_), InvalidRequestError);
}

TEST_P(RegistryTest, WritesNeedATokenAndProtectedAliasesThePromoteToken) {
  EXPECT_THROW(db_->register_version({"llama", artifact({"a"}), std::nullopt, {}}, ""),
               UnauthorizedError);
  EXPECT_THROW(db_->register_version({"llama", artifact({"a"}), std::nullopt, {}}, "fo_bogus"),
               UnauthorizedError);
  push("llama", {"a"});
  EXPECT_THROW(db_->flip({"llama", "prod", 1, "ship"}, write_token_), UnauthorizedError);
  EXPECT_NO_THROW(db_->flip({"llama", "staging", 1, "try"}, write_token_));
  EXPECT_NO_THROW(db_->flip({"llama", "prod", 1, "ship"}, promote_token_));
  EXPECT_EQ(db_->authenticate(promote_token_, Scope::kWrite), "release-manager");
  EXPECT_THROW(db_->create_token("ci", Scope::kWrite), InvalidRequestError);
  // Nothing refused was audited.
  EXPECT_EQ(db_->history("llama").size(), 2u);
}

TEST_P(RegistryTest, FlipMovesTheAliasAndAppendsWhoWhenFromToWhy) {
  push("llama", {"a"});
  push("llama", {"b"});
  auto first = db_->flip({"llama", "prod", 1, "first release", false, "alice"}, promote_token_);
  EXPECT_FALSE(first.from_version);
  now_ms_ += 60'000;
  auto second = db_->flip({"llama", "prod", 2, "better f1", true, "bob"}, promote_token_);
  EXPECT_EQ(second.from_version, 1);
  EXPECT_EQ(second.to_version, 2);
  EXPECT_EQ(second.actor, "release-manager (bob)");
  EXPECT_TRUE(second.forced);

  EXPECT_EQ(db_->alias_version("llama", "prod"), 2);
  auto target = db_->resolve("llama", "prod");
  ASSERT_TRUE(target);
  EXPECT_EQ(target->artifact_digest, artifact({"b"}).digest);
  EXPECT_EQ(db_->aliases("llama"), (std::map<std::string, int64_t>{{"prod", 2}}));

  auto history = db_->history("llama", "prod");
  ASSERT_EQ(history.size(), 2u);
  EXPECT_EQ(history[1].id, second.id);
  EXPECT_EQ(history[1].reason, "better f1");
  EXPECT_EQ(history[1].at_ms, now_ms_.load());
  EXPECT_EQ(history[1].action, "flip");
  EXPECT_FALSE(db_->resolve("llama", "canary"));
}

TEST_P(RegistryTest, FlipToAVersionThatDoesNotExistChangesNothing) {
  push("llama", {"a"});
  db_->flip({"llama", "prod", 1, "ship"}, promote_token_);
  EXPECT_THROW(db_->flip({"llama", "prod", 7, "typo"}, promote_token_), NotFoundError);
  EXPECT_THROW(db_->flip({"ghost", "prod", 1, "typo"}, promote_token_), NotFoundError);
  EXPECT_EQ(db_->alias_version("llama", "prod"), 1);
  EXPECT_EQ(db_->history("llama").size(), 1u);
}

TEST_P(RegistryTest, RollbackReturnsTheAliasToItsPreviousVersion) {
  push("llama", {"a"});
  push("llama", {"b"});
  EXPECT_THROW(db_->rollback("llama", "prod", "", "alice", promote_token_), NotFoundError);
  db_->flip({"llama", "prod", 1, "v1"}, promote_token_);
  EXPECT_THROW(db_->rollback("llama", "prod", "", "alice", promote_token_), NotFoundError);
  db_->flip({"llama", "prod", 2, "v2"}, promote_token_);
  auto back = db_->rollback("llama", "prod", "v2 regressed", "alice", promote_token_);
  EXPECT_EQ(back.action, "rollback");
  EXPECT_EQ(back.from_version, 2);
  EXPECT_EQ(back.to_version, 1);
  EXPECT_EQ(db_->alias_version("llama", "prod"), 1);
  EXPECT_THROW(db_->rollback("llama", "prod", "", "alice", write_token_), UnauthorizedError);
}

TEST_P(RegistryTest, ConcurrentFlipsOfOneAliasAreAllAuditedAndChainUp) {
  for (int i = 0; i < 4; ++i) push("llama", {std::to_string(i)});
  constexpr int kClients = 4, kFlipsEach = 15;
  std::vector<std::unique_ptr<RegistryDb>> clients;
  for (int i = 0; i < kClients; ++i) clients.push_back(open());
  {
    std::latch start(kClients);
    std::vector<std::jthread> threads;
    for (int c = 0; c < kClients; ++c) {
      threads.emplace_back([&, c] {
        start.arrive_and_wait();
        for (int i = 0; i < kFlipsEach; ++i) {
          clients[c]->flip({"llama", "prod", 1 + (c + i) % 4, "client " + std::to_string(c)},
                           promote_token_);
        }
      });
    }
  }
  auto history = db_->history("llama", "prod");
  ASSERT_EQ(history.size(), static_cast<size_t>(kClients * kFlipsEach));
  // Every move saw the one before it: no flip was lost or based on a stale read.
  EXPECT_FALSE(history[0].from_version);
  for (size_t i = 1; i < history.size(); ++i) {
    EXPECT_EQ(history[i].from_version, history[i - 1].to_version) << "entry " << i;
  }
  EXPECT_EQ(db_->alias_version("llama", "prod"), history.back().to_version);
}

TEST_P(RegistryTest, TheDatabaseRefusesToRewriteTheAuditLogOrAVersion) {
  push("llama", {"a"});
  db_->flip({"llama", "prod", 1, "ship"}, promote_token_);
  std::unique_ptr<SqlConnection> raw = GetParam() == "postgresql"
                                           ? open_postgres(url_)
                                           : open_sqlite(url_.substr(7), std::chrono::seconds(5));
  EXPECT_THROW(raw->query("UPDATE audit_log SET reason = 'nothing happened'"), RegistryError);
  EXPECT_THROW(raw->query("DELETE FROM audit_log"), RegistryError);
  EXPECT_THROW(raw->query("UPDATE model_versions SET artifact_digest = 'x'"), RegistryError);
  EXPECT_EQ(db_->history("llama")[0].reason, "ship");
}

TEST_P(RegistryTest, MigrationsRunOnceAndReopeningKeepsTheData) {
  push("llama", {"a"});
  db_.reset();
  db_ = open();
  std::unique_ptr<RegistryDb> other = open();
  EXPECT_EQ(other->versions("llama").size(), 1u);
  std::unique_ptr<SqlConnection> raw = GetParam() == "postgresql"
                                           ? open_postgres(url_)
                                           : open_sqlite(url_.substr(7), std::chrono::seconds(5));
  auto rows = raw->query("SELECT version FROM schema_migrations ORDER BY version");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0][0], "1");
  EXPECT_EQ(rows[1][0], "2");
}

TEST_P(RegistryTest, AliasMovesAreNotifiedWhereTheDatabaseCan) {
  push("llama", {"a"});
  auto listener = db_->listen_alias_changes();
  if (GetParam() == "sqlite") {
    EXPECT_EQ(listener, nullptr);
    return;
  }
  ASSERT_NE(listener, nullptr);
  open()->flip({"llama", "prod", 1, "ship"}, promote_token_);
  std::vector<AliasChange> changes;
  for (int i = 0; i < 50 && changes.empty(); ++i)
    changes = listener->wait(std::chrono::milliseconds(100));
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].model, "llama");
  EXPECT_EQ(changes[0].alias, "prod");
}

INSTANTIATE_TEST_SUITE_P(Backends, RegistryTest, ::testing::Values("sqlite", "postgresql"),
                         backend_name);

TEST(RegistryUrl, AnEmptySqlitePathIsRefused) {
  RegistryOptions options;
  options.url = "sqlite:";
  EXPECT_THROW(open_registry(options), RegistryError);
}

TEST(RegistryUrl, AnUnreachablePostgresNamesTheServerButNotThePassword) {
  RegistryOptions options;
  options.url = "host=127.0.0.1 port=1 user=x password=hunter2 dbname=y connect_timeout=2";
  try {
    open_registry(options);
    FAIL() << "expected RegistryError";
  } catch (const RegistryError& e) {
    EXPECT_NE(std::string(e.what()).find("port=1"), std::string::npos) << e.what();
    EXPECT_EQ(std::string(e.what()).find("hunter2"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace fanout::registry::testing
