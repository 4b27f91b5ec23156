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
  EXPECT_EQ(tx.exec1("SELECT count(*) FROM tidesync.schema_migrations")[0].as<int>(), 1);
  EXPECT_EQ(tx.exec1("SELECT count(*) FROM pg_namespace WHERE nspname = 'tidesync_data'")[0]
                .as<int>(),
            1);
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
  EXPECT_EQ(store_->list_clients().at(0).created_at.substr(26), "+00");
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

TEST_F(store_admin, ANarrowedTokenCarriesItsDatabaseId) {
  auto by_name = store_->create_token("acme", "store-01");
  auto by_id = store_->create_token("acme", db_);
  EXPECT_EQ(store_->authenticate(by_name.secret)->database_id, db_);
  EXPECT_EQ(store_->authenticate(by_id.secret)->database_id, db_);
  error_of(error_code::not_found, [&] { store_->create_token("acme", "store-99"); });
  error_of(error_code::not_found, [&] { store_->create_token("nobody", std::nullopt); });
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
