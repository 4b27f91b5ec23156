// Columns the shared table refuses, seen from the site: another tenant fixed
// a column's type first, the operator locked the schema and unlocked it while
// the agent runs, and a state file written before refusals existed.
#include "actors/content_verify.hpp"
#include "actors/status_report.hpp"

#include "tests/integration/agent/agent_fixture.hpp"

#include <boost/json/parse.hpp>
#include <pqxx/pqxx>
#include <sqlite3.h>

#include <chrono>
#include <thread>

namespace tidesync::testing {

namespace {

using namespace std::chrono_literals;

class RefusedColumns : public agent_test {
protected:
  /// Another tenant, "globex", declares `table` first with `columns` (JSON
  /// column list after the key and version columns).
  void other_tenant_declares(const std::string& table, const std::string& columns) {
    store_->create_client("globex");
    auto globex = store_->register_database("globex", "store-09").database_id;
    auto schema = protocol::table_schema_from_json(boost::json::parse(
        R"({"columns":[{"name":"id","type":"bigint","nullable":false},
                       {"name":"tidesync_version","type":"bigint","nullable":false})" +
        columns + R"(],"key":["id"],"version_column":"tidesync_version","modified_column":null})"));
    store_->declare_table("globex", globex, table, schema);
  }

  std::string store_scalar(const std::string& sql) {
    pqxx::connection conn{store_db_.url()};
    pqxx::nontransaction tx{conn};
    auto field = tx.exec(sql)[0][0];
    return field.is_null() ? "NULL" : field.c_str();
  }

  /// The rows the last verify pass of a fresh run repaired.
  std::int64_t repaired_by_next_run(const config::agent_config& config) {
    auto report = run_with(config);
    EXPECT_TRUE(report.all_in_sync()) << report.summary_lines();
    return table_of(report, "orders").rows_repaired;
  }
};

} // namespace

// The site's modified column is refused (another tenant stores `changed` as
// date): the agent leaves it out, so the cloud has no max_modified for this
// site, and status must compare the summaries the agent compares.
TEST_P(RefusedColumns, ARefusedModifiedColumnLeavesTheTableInSyncForStatus) {
  other_tenant_declares("orders", R"(,{"name":"changed","type":"date","nullable":true})");
  site_exec("CREATE TABLE orders (id BIGINT PRIMARY KEY, note TEXT, changed TIMESTAMP)");
  site_exec(rows_of("INSERT INTO orders (id, note, changed)",
                    "i, 'order ' || i, '2024-05-01 10:00:00'", 200));
  prepare({"orders"});
  auto config = agent_config({"orders"});
  config.databases[0].tables[0].modified_column = "changed";

  auto report = run_with(config);
  ASSERT_TRUE(report.all_in_sync()) << report.summary_lines();
  auto status = actors::collect_status(config);
  ASSERT_EQ(status.tables.size(), 1u);
  const auto& orders = status.tables.front();
  ASSERT_EQ(orders.not_replicated.size(), 1u);
  EXPECT_EQ(orders.not_replicated[0].name, "changed");
  EXPECT_TRUE(actors::in_sync(orders))
      << "decision " << (orders.decision ? sync::to_string(*orders.decision) : "none")
      << ", local max_modified " << orders.local->max_modified.value_or("null");
  EXPECT_EQ(repaired_by_next_run(config), 0);
}

// `total` is text at this site, numeric in the shared table: refused, left out
// of digests on both sides, so verify finds the rest identical and the
// agent repairs nothing, run after run.
TEST_P(RefusedColumns, AColumnOfAnotherTypeIsLeftOutAndVerifiesIdenticalWithoutRepairs) {
  other_tenant_declares("orders", R"(,{"name":"total","type":"numeric","nullable":true})");
  site_exec("CREATE TABLE orders (id BIGINT PRIMARY KEY, note TEXT, total TEXT)");
  site_exec(
      rows_of("INSERT INTO orders (id, note, total)", "i, 'order ' || i, 'about ' || i", 300));
  prepare({"orders"});
  auto config = agent_config({"orders"});
  config.verify_interval = 0ms;

  ASSERT_TRUE(run_with(config).all_in_sync());
  EXPECT_EQ(store_scalar("SELECT count(*) FROM tidesync_data.orders WHERE total IS NULL"), "300");
  auto verified = actors::verify_content(config, {});
  ASSERT_EQ(verified.size(), 1u);
  EXPECT_EQ(actors::to_string(verified[0].state), "identical") << verified[0].error;
  EXPECT_EQ(verified[0].site_rows, 300);
  EXPECT_EQ(repaired_by_next_run(config), 0);
  EXPECT_EQ(repaired_by_next_run(config), 0);
}

// A running agent with a column the locked schema refuses: once the operator
// unlocks it, the column arrives within about a verify_interval, with its
// values, and then the digests stay clean.
TEST_P(RefusedColumns, AnUnlockedColumnArrivesInARunningAgentAndNothingIsRepairedAfterwards) {
  site_exec("CREATE TABLE orders (id BIGINT PRIMARY KEY, note TEXT)");
  site_exec(rows_of("INSERT INTO orders (id, note)", "i, 'order ' || i", 300));
  prepare({"orders"});
  auto config = agent_config({"orders"});
  ASSERT_TRUE(run_with(config).all_in_sync());
  ASSERT_TRUE(store_->set_schema_locked("orders", true));
  site_exec("ALTER TABLE orders ADD COLUMN card TEXT");
  site_exec("UPDATE orders SET card = 'card-' || id WHERE id <= 40");
  config.verify_interval = 1s;
  {
    running_agent agent{config};
    std::this_thread::sleep_for(1500ms);
    ASSERT_TRUE(store_->set_schema_locked("orders", false));
    auto deadline = std::chrono::steady_clock::now() + 20s;
    auto arrived = [&] {
      try {
        return remote_rows("orders") == site_rows("orders");
      } catch (const std::exception&) {
        return false; // the shared table has no card column yet
      }
    };
    while (!arrived() && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(100ms);
    expect_remote_matches("orders");
  }
  EXPECT_EQ(store_scalar("SELECT count(*) FROM tidesync_data.orders WHERE card IS NOT NULL"), "40");
  config.verify_interval = 0ms;
  EXPECT_EQ(repaired_by_next_run(config), 0);
  auto status = actors::collect_status(config);
  EXPECT_TRUE(status.tables.at(0).not_replicated.empty());
}

// An agent from before refusals wrote no refused_columns table: status and
// the next run read its state file as it is.
TEST_P(RefusedColumns, AStateFileWithoutTheRefusedColumnsTableIsReadAsItIs) {
  site_exec("CREATE TABLE orders (id BIGINT PRIMARY KEY, note TEXT)");
  site_exec(rows_of("INSERT INTO orders (id, note)", "i, 'order ' || i", 50));
  prepare({"orders"});
  auto config = agent_config({"orders"});
  ASSERT_TRUE(run_with(config).all_in_sync());
  auto state_file = (dir_.path() / "state" / storage::state_store::file_name).string();
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(state_file.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "DROP TABLE refused_columns; PRAGMA wal_checkpoint(TRUNCATE)", nullptr,
                         nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);

  auto status = actors::collect_status(config);
  EXPECT_FALSE(status.state_error) << *status.state_error;
  ASSERT_EQ(status.tables.size(), 1u);
  EXPECT_TRUE(actors::in_sync(status.tables[0])) << status.tables[0].error;
  EXPECT_TRUE(run_with(config).all_in_sync());
}

INSTANTIATE_TEST_SUITE_P(sites, RefusedColumns,
                         ::testing::Values(site_kind::sqlite, site_kind::postgresql), site_name);

} // namespace tidesync::testing
