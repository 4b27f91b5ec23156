#include "storage/postgres_store.hpp"

#include "tests/integration/store/store_fixture.hpp"

#include <thread>

namespace tidesync::storage::testing {
namespace {

using protocol::error_code;

using store_admin = store_test;

TEST(store_migrations, MigrateIsIdempotentAndSafeFromTwoThreadsAtOnce) {
  tidesync::testing::test_database database;
  std::vector<std::thread> threads;
  std::vector<std::string> failures(4);
  for (std::size_t i = 0; i < failures.size(); ++i)
    threads.emplace_back([&, i] {
      try {
        postgres_store store{store_options{database.url()}};
        store.migrate();
        store.migrate();
      } catch (const std::exception& e) {
        failures[i] = e.what();
      }
    });
  for (auto& thread : threads)
    thread.join();
  for (const auto& failure : failures)
    EXPECT_EQ(failure, "");
  pqxx::connection connection{database.url()};
  pqxx::nontransaction tx{connection};
  EXPECT_EQ(tx.exec1("SELECT string_agg(version::text, ',' ORDER BY version)"
                     " FROM tidesync.schema_migrations")[0].as<std::string>(),
            "1,2,3,4");
  EXPECT_EQ(tx.exec1("SELECT count(*) FROM pg_namespace WHERE nspname = 'tidesync_data'")[0]
                .as<int>(),
            1);
}

// A store the previous release made has migration 1 only, and shared tables
// with tenants' rows: migrating keeps them, unlocked, and declarations go on.
TEST_F(store_admin, AStoreOfThePreviousReleaseMigratesWithItsTablesOpen) {
  store_->declare_table("acme", db_, "items", items_schema());
  upload("items", R"({"columns":["id","v"],"rows":[[1,1]]})");
  query("ALTER TABLE tidesync.remote_tables DROP COLUMN schema_locked;"
        " DROP VIEW tidesync.table_freshness; DROP TABLE tidesync.site_report_tables;"
        " DROP TABLE tidesync.site_reports;"
        " DELETE FROM tidesync.schema_migrations WHERE version > 1");

  postgres_store upgraded{store_options{database_.url()}};
  upgraded.migrate();
  EXPECT_EQ(scalar("SELECT string_agg(version::text, ',' ORDER BY version)"
                   " FROM tidesync.schema_migrations"),
            "1,2,3,4");
  auto tables = upgraded.list_remote_tables();
  ASSERT_EQ(tables.size(), 1u);
  EXPECT_FALSE(tables[0].schema_locked);
  auto wider = items_schema();
  wider.columns.push_back({"extra", protocol::column_type::text, true});
  EXPECT_EQ(upgraded.declare_table("acme", db_, "items", wider).columns.size(), 5u);
  EXPECT_TRUE(upgraded.set_schema_locked("items", true));
  EXPECT_EQ(upgraded.table_version("acme", db_, "items").count, 1);
}

TEST(store_connection, AnUnreachableDatabaseIsUnavailable) {
  try {
    postgres_store store{store_options{"postgresql://postgres@127.0.0.1:1/none"}};
    FAIL() << "connected to nothing";
  } catch (const protocol::api_error& e) {
    EXPECT_EQ(e.code(), error_code::unavailable);
  }
}

TEST_F(store_admin, ALostConnectionIsUnavailableAndTheNextCallReconnects) {
  query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database()"
        " AND pid <> pg_backend_pid()");
  error_of(error_code::unavailable, [&] { store_->table_versions("acme", db_); });
  EXPECT_TRUE(store_->ping());
  EXPECT_EQ(store_->table_versions("acme", db_).size(), 0u);
}

TEST_F(store_admin, SessionTimeZoneIsUtc) {
  EXPECT_TRUE(store_->list_clients().at(0).created_at.ends_with("+00"));  // zone fixed, µs may be trimmed
}

TEST_F(store_admin, TokensAreStoredOnlyAsTheirHash) {
  auto token = store_->create_token("acme", std::nullopt);
  EXPECT_EQ(token.secret.substr(0, 3), "ts_");
  EXPECT_EQ(token.secret.size(), 3u + 64u);
  auto dump = query("SELECT t::text FROM tidesync.tokens t");
  ASSERT_EQ(dump.size(), 2u);  // the client's first token and this one
  for (const auto& row : dump)
    EXPECT_EQ(row[0]->find(token.secret.substr(3)), std::string::npos);
  auto identity = store_->authenticate(token.secret);
  ASSERT_TRUE(identity);
  EXPECT_EQ(identity->token_id, token.token_id);
  EXPECT_EQ(identity->client_id, "acme");
  EXPECT_FALSE(identity->database_id);
  EXPECT_FALSE(store_->authenticate(token.secret + "x"));
  EXPECT_FALSE(store_->authenticate(""));
}

TEST_F(store_admin, ARevokedTokenNoLongerAuthenticates) {
  auto token = store_->create_token("acme", std::nullopt);
  EXPECT_TRUE(store_->revoke_token(token.token_id));
  EXPECT_FALSE(store_->authenticate(token.secret));
  EXPECT_FALSE(store_->revoke_token(token.token_id));
  EXPECT_FALSE(store_->revoke_token("no-such-token"));
}

TEST_F(store_admin, ANarrowedTokenCarriesItsDatabaseIdAndName) {
  auto by_name = store_->create_token("acme", "store-01");
  auto by_id = store_->create_token("acme", db_);
  for (const auto& token : {by_name, by_id}) {
    ASSERT_TRUE(token.database);
    EXPECT_EQ(token.database->database_id, db_);
    EXPECT_EQ(token.database->name, "store-01");
    auto identity = store_->authenticate(token.secret);
    EXPECT_EQ(identity->database_id, db_);
    EXPECT_EQ(identity->database_name, "store-01");
  }
  EXPECT_FALSE(store_->create_token("acme", std::nullopt).database);
  error_of(error_code::not_found, [&] { store_->create_token("nobody", std::nullopt); });
  error_of(error_code::not_found, [&] { store_->create_token("nobody", "store-01"); });
}

TEST_F(store_admin, ANarrowedTokenForANewNameRegistersThatDatabase) {
  auto token = store_->create_token("acme", "store-02");
  ASSERT_TRUE(token.database);
  EXPECT_NE(token.database->database_id, db_);
  EXPECT_EQ(token.database->name, "store-02");
  // The agent's first registration of that name then finds the same database.
  EXPECT_EQ(store_->register_database("acme", "store-02").database_id, token.database->database_id);
  EXPECT_EQ(store_->create_token("acme", "store-02").database->database_id,
            token.database->database_id);
  EXPECT_EQ(store_->list_clients().at(0).databases, 2);
}

TEST_F(store_admin, ANarrowedTokenForAnUnknownIdOrABadNameIsRefused) {
  error_of(error_code::not_found,
           [&] { store_->create_token("acme", "00000000-0000-0000-0000-000000000000"); });
  error_of(error_code::bad_request, [&] { store_->create_token("acme", ""); });
  error_of(error_code::bad_request, [&] { store_->create_token("acme", "bad\nname"); });
  EXPECT_EQ(store_->list_clients().at(0).databases, 1);
}

TEST_F(store_admin, ListTokensShowsScopeAndRevocationButNeverTheSecretOrItsHash) {
  auto narrowed = store_->create_token("acme", "store-01");
  auto revoked = store_->create_token("acme", std::nullopt);
  ASSERT_TRUE(store_->revoke_token(revoked.token_id));
  auto tokens = store_->list_tokens("acme");
  ASSERT_EQ(tokens.size(), 3u);  // the client's first token, then these two
  EXPECT_FALSE(tokens[0].database);
  EXPECT_FALSE(tokens[0].revoked_at);
  EXPECT_EQ(tokens[1].token_id, narrowed.token_id);
  ASSERT_TRUE(tokens[1].database);
  EXPECT_EQ(tokens[1].database->database_id, db_);
  EXPECT_EQ(tokens[1].database->name, "store-01");
  EXPECT_FALSE(tokens[1].revoked_at);
  EXPECT_EQ(tokens[2].token_id, revoked.token_id);
  ASSERT_TRUE(tokens[2].revoked_at);
  // PostgreSQL drops trailing zeros of the microseconds, so only the zone is fixed.
  EXPECT_TRUE(tokens[2].created_at.ends_with("+00")) << tokens[2].created_at;
  auto hashes = query("SELECT secret_hash FROM tidesync.tokens");
  for (const auto& token : tokens)
    for (const auto& text : {token.token_id, token.created_at, token.revoked_at.value_or(""),
                             token.database ? token.database->name : std::string{}}) {
      EXPECT_EQ(text.find(narrowed.secret.substr(3)), std::string::npos) << text;
      EXPECT_EQ(text.find(revoked.secret.substr(3)), std::string::npos) << text;
      for (const auto& hash : hashes)
        EXPECT_EQ(text.find(*hash[0]), std::string::npos) << text;
    }
}

TEST_F(store_admin, ListTokensOfAnUnknownClientIsNotFoundAndOfAnotherClientIsSeparate) {
  error_of(error_code::not_found, [&] { store_->list_tokens("nobody"); });
  error_of(error_code::not_found, [&] { store_->list_tokens(""); });
  auto initech = store_->create_client("initech");
  auto tokens = store_->list_tokens("initech");
  ASSERT_EQ(tokens.size(), 1u);
  EXPECT_EQ(tokens[0].token_id, initech.token_id);
}

TEST_F(store_admin, CreatingAClientTwiceIsAConflict) {
  error_of(error_code::conflict, [&] { store_->create_client("acme"); });
  error_of(error_code::bad_request, [&] { store_->create_client("bad id"); });
  auto token = store_->create_client("initech");
  EXPECT_EQ(store_->authenticate(token.secret)->client_id, "initech");
}

TEST_F(store_admin, RegisteringTheSameDatabaseNameGivesTheSameId) {
  EXPECT_EQ(store_->register_database("acme", "store-01").database_id, db_);
  auto other = store_->register_database("acme", "store-02");
  EXPECT_NE(other.database_id, db_);
  EXPECT_EQ(other.name, "store-02");
  error_of(error_code::not_found, [&] { store_->register_database("nobody", "x"); });
  error_of(error_code::bad_request, [&] { store_->register_database("acme", ""); });
}

TEST_F(store_admin, ListClientsCountsDatabasesAndActiveTokens) {
  store_->register_database("acme", "store-02");
  auto token = store_->create_token("acme", std::nullopt);
  store_->revoke_token(token.token_id);
  auto clients = store_->list_clients();
  ASSERT_EQ(clients.size(), 1u);
  EXPECT_EQ(clients[0].client_id, "acme");
  EXPECT_EQ(clients[0].databases, 2);
  EXPECT_EQ(clients[0].active_tokens, 1);
}

} // namespace
} // namespace tidesync::storage::testing
