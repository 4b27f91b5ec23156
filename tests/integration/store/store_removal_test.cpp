// Removing a tenant's data: a table, a database, a client; in batches, with
// its tokens revoked, leaving every other tenant's rows and tokens alone.
#include "storage/postgres_store.hpp"

#include "tests/integration/store/store_fixture.hpp"

#include <pqxx/pqxx>

#include <atomic>
#include <chrono>
#include <future>
#include <thread>

namespace tidesync::storage::testing {
namespace {

using namespace std::chrono_literals;

class store_removal : public store_test {
protected:
  void SetUp() override {
    store_test::SetUp();
    acme_token_ = store_->create_token("acme", std::nullopt).secret;
    store_02_ = store_->register_database("acme", "store-02").database_id;
    store_02_token_ = store_->create_token("acme", std::string{"store-02"}).secret;
    globex_token_ = store_->create_client("globex").secret;
    store_09_ = store_->register_database("globex", "store-09").database_id;
    for (const auto& [client, db] :
         {std::pair{"acme", db_}, std::pair{"acme", store_02_}, std::pair{"globex", store_09_}}) {
      store_->declare_table(client, db, "items", items_schema());
      store_->declare_table(client, db, "parts", items_schema());
    }
    upload_rows("acme", db_, "items", 250);
    upload_rows("acme", db_, "parts", 30);
    upload_rows("acme", store_02_, "items", 40);
    upload_rows("globex", store_09_, "items", 60);
    query("INSERT INTO tidesync.site_reports (client_id, database_id, last_contact) VALUES "
          "('acme', '" +
          db_ + "', now()), ('globex', '" + store_09_ + "', now())");
    query("INSERT INTO tidesync.site_report_tables (client_id, database_id, table_name, "
          "agent_state, lag_versions, reported_at) VALUES ('acme', '" +
          db_ + "', 'items', 'ahead', 5, now()), ('globex', '" + store_09_ +
          "', 'items', 'ahead', 5, now())");
  }

  void upload_rows(const std::string& client, const std::string& db, const std::string& table,
                   int count) {
    std::string rows;
    for (int i = 1; i <= count; ++i)
      rows += (i > 1 ? "," : "") + std::string{"["} + std::to_string(i) + ",\"row " +
              std::to_string(i) + "\",\"1.5\",1]";
    upload(table, R"({"columns":["id","note","price","v"],"rows":[)" + rows + "]}", client, db);
  }

  std::string rows_of(const std::string& client, const std::string& table) {
    return *scalar("SELECT count(*) FROM tidesync_data." + table + " WHERE client_id = '" + client +
                   "'");
  }

  removal_report remove(const removal_scope& scope, std::int64_t batch = 100) {
    return store_->remove_tenant_data(scope, batch,
                                      [&](const std::string& table, std::int64_t rows) {
                                        progress_.push_back(table + ":" + std::to_string(rows));
                                      });
  }

  std::string store_02_, store_09_;
  std::string acme_token_, store_02_token_, globex_token_;
  std::vector<std::string> progress_;
};

TEST_F(store_removal, ATableGoesInBatchesAndNothingElseOfItsClient) {
  EXPECT_EQ(store_->revoke_tokens_of({"acme", "store-01", "items"}), 0);
  auto report = remove({"acme", "store-01", "items"});
  EXPECT_EQ(report.rows, 250);
  EXPECT_EQ(report.tables, 1);
  EXPECT_EQ(report.databases, 0);
  EXPECT_FALSE(report.client);
  EXPECT_EQ(progress_, (std::vector<std::string>{"items:100", "items:200", "items:250"}));
  EXPECT_EQ(*scalar("SELECT count(*) FROM tidesync_data.items WHERE database_id = '" + db_ + "'"),
            "0");
  for (const auto* table : {"tidesync.tenant_tables", "tidesync.site_report_tables"})
    EXPECT_EQ(*scalar(std::string{"SELECT count(*) FROM "} + table + " WHERE database_id = '" +
                      db_ + "' AND table_name = 'items'"),
              "0")
        << table;
  EXPECT_EQ(rows_of("acme", "parts"), "30");
  EXPECT_EQ(rows_of("acme", "items"), "40") << "store-02's items stay";
  EXPECT_EQ(rows_of("globex", "items"), "60");
  EXPECT_TRUE(store_->authenticate(acme_token_).has_value());

  progress_.clear();
  auto again = remove({"acme", "store-01", "items"});
  EXPECT_EQ(again.rows, 0);
  EXPECT_EQ(again.tables, 0);
  EXPECT_TRUE(progress_.empty());
}

TEST_F(store_removal, ADatabaseByIdTakesItsTablesAndTheTokensNarrowedToIt) {
  EXPECT_EQ(store_->revoke_tokens_of({"acme", store_02_, std::nullopt}), 1);
  EXPECT_FALSE(store_->authenticate(store_02_token_).has_value());
  EXPECT_TRUE(store_->authenticate(acme_token_).has_value()) << "a token for every database";
  auto report = remove({"acme", store_02_, std::nullopt});
  EXPECT_EQ(report.rows, 40);
  EXPECT_EQ(report.tables, 2) << "items and the empty parts";
  EXPECT_EQ(report.databases, 1);
  EXPECT_EQ(report.tokens, 1);
  EXPECT_EQ(
      *scalar("SELECT count(*) FROM tidesync.databases WHERE database_id = '" + store_02_ + "'"),
      "0");
  EXPECT_EQ(rows_of("acme", "items"), "250");
  EXPECT_EQ(rows_of("acme", "parts"), "30");
  // The client's agent may register that name again: a new, empty database.
  EXPECT_NE(store_->register_database("acme", "store-02").database_id, store_02_);
}

TEST_F(store_removal, AClientLeavesNoTraceAndOtherTenantsKeepEverything) {
  EXPECT_EQ(store_->revoke_tokens_of({"acme", std::nullopt, std::nullopt}), 3)
      << "its first token, the one for every database and the one for store-02";
  EXPECT_FALSE(store_->authenticate(acme_token_).has_value());
  auto report = remove({"acme", std::nullopt, std::nullopt}, 64);
  EXPECT_EQ(report.rows, 320);
  EXPECT_EQ(report.tables, 4);
  EXPECT_EQ(report.databases, 2);
  EXPECT_EQ(report.tokens, 3);
  EXPECT_TRUE(report.client);
  for (const auto* table :
       {"tidesync.clients", "tidesync.databases", "tidesync.tokens", "tidesync.tenant_tables",
        "tidesync.site_reports", "tidesync.site_report_tables", "tidesync_data.items",
        "tidesync_data.parts"})
    EXPECT_EQ(*scalar(std::string{"SELECT count(*) FROM "} + table + " WHERE client_id = 'acme'"),
              "0")
        << table;
  EXPECT_EQ(rows_of("globex", "items"), "60");
  EXPECT_EQ(*scalar("SELECT count(*) FROM tidesync.site_reports WHERE client_id = 'globex'"), "1");
  EXPECT_TRUE(store_->authenticate(globex_token_).has_value());
  EXPECT_EQ(store_->list_remote_tables().size(), 2u) << "shared tables stay";

  auto again = remove({"acme", std::nullopt, std::nullopt});
  EXPECT_EQ(again.rows + again.tables + again.databases + again.tokens, 0);
  EXPECT_FALSE(again.client);
  EXPECT_EQ(store_->revoke_tokens_of({"acme", std::nullopt, std::nullopt}), 0);
}

// An upload of the tenant that holds its summary row (as every upload does)
// when the removal starts: the removal waits for it, then takes its rows too;
// another tenant's upload of the same shared table meanwhile never waits.
TEST_F(store_removal, AnUploadInFlightFinishesFirstAndItsRowsGoToo) {
  pqxx::connection uploader{database_.url()};
  pqxx::work held{uploader};
  held.exec_params("SELECT 1 FROM tidesync.tenant_tables WHERE client_id = 'acme' AND "
                   "database_id = $1::uuid AND table_name = 'items' FOR UPDATE",
                   db_);
  held.exec_params("INSERT INTO tidesync_data.items (client_id, database_id, id, note, price, v) "
                   "SELECT 'acme', $1::uuid, i, 'late', 1, 2 FROM generate_series(1001, 1010) i",
                   db_);
  std::atomic<bool> finished{false};
  auto removal = std::async(std::launch::async, [&] {
    postgres_store other{store_options{database_.url()}};
    auto report = other.remove_tenant_data({"acme", "store-01", "items"}, 100, {});
    finished = true;
    return report;
  });
  // Waiting on the lock (a backend of this test's database waits on a Lock
  // event: a row lock waits on the holder's transaction id), not finished.
  // Every check is an EXPECT: the held transaction must end below whatever
  // they find, or the removal thread would wait for it forever.
  const std::string waiting = "SELECT count(*) FROM pg_stat_activity WHERE datname = "
                              "current_database() AND wait_event_type = 'Lock'";
  auto deadline = std::chrono::steady_clock::now() + 30s;
  while (*scalar(waiting) == "0" && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(20ms);
  EXPECT_EQ(*scalar(waiting), "1") << "the removal does not wait for the upload's lock";
  EXPECT_FALSE(finished);
  try {
    upload_rows("globex", store_09_, "items", 70); // another tenant: not blocked
  } catch (const std::exception& e) {
    ADD_FAILURE() << "another tenant's upload failed: " << e.what();
  }
  held.commit();
  auto report = removal.get();
  EXPECT_EQ(report.rows, 260);
  EXPECT_EQ(*scalar("SELECT count(*) FROM tidesync_data.items WHERE database_id = '" + db_ + "'"),
            "0");
  EXPECT_EQ(rows_of("globex", "items"), "70");
}

} // namespace
} // namespace tidesync::storage::testing
