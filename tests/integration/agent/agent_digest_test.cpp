#include "actors/agent.hpp"
#include "actors/status_report.hpp"

#include "tests/integration/agent/agent_fixture.hpp"
#include "tests/support/time_scale.hpp"

#include <pqxx/pqxx>

#include <chrono>
#include <thread>

namespace tidesync::testing {

class digest_repair_test : public agent_fixture {
protected:
  site_kind kind() const override { return site_kind::sqlite; }

  /// The store's summary row of `table` for this test's database.
  protocol::table_version stored_summary(const std::string& table) {
    pqxx::connection conn{store_db_.url()};
    pqxx::nontransaction tx{conn};
    auto row = tx.exec_params1("SELECT row_count, max_version FROM tidesync.tenant_tables "
                               "WHERE database_id = $1::uuid AND table_name = $2",
                               database_id(), table);
    protocol::table_version out;
    out.count = row[0].as<std::int64_t>();
    if (!row[1].is_null())
      out.max_version = row[1].as<std::int64_t>();
    return out;
  }

  void store_exec(const std::string& sql) {
    pqxx::connection conn{store_db_.url()};
    pqxx::work tx{conn};
    tx.exec_params(sql, database_id());
    tx.commit();
  }

  /// Syncs `orders` (300 rows), keeps a backup, changes rows 1..30 and syncs
  /// again, restores the backup and changes the same rows with the same
  /// statement: the site's counter rewinds, so rows 1..30 get the very
  /// versions the cloud already holds, with other content.
  void rewind_versions() {
    site_exec("CREATE TABLE orders (id BIGINT PRIMARY KEY, note TEXT, amount REAL)");
    site_exec(rows_of("INSERT INTO orders (id, note, amount)", "i, 'order ' || i, i * 1.5", 300));
    prepare({"orders"});
    ASSERT_TRUE(run_once({"orders"}).all_in_sync());
    back_up_site();
    site_exec("UPDATE orders SET note = 'first life' WHERE id <= 30");
    ASSERT_TRUE(run_once({"orders"}).all_in_sync());
    restore_site();
    site_exec("UPDATE orders SET note = 'second life', amount = -1 WHERE id <= 30");
    // The blind spot is real: summaries and every (key, version) pair agree.
    auto site = storage::open_source(site_url_);
    auto schema = site->describe("orders", {}, "tidesync_version", std::nullopt);
    auto local = site->summary("orders", schema);
    auto remote = stored_summary("orders");
    ASSERT_EQ(local.count, remote.count);
    ASSERT_EQ(local.max_version, remote.max_version);
  }
};

TEST_F(digest_repair_test, ARestoreThatRewindsVersionsIsRepairedByTheFullPass) {
  rewind_versions();
  auto report = run_once({"orders"});
  EXPECT_TRUE(report.all_in_sync()) << report.summary_lines();
  EXPECT_EQ(table_of(report, "orders").rows_repaired, 30);
  expect_remote_matches("orders");

  report = run_once({"orders"});
  EXPECT_TRUE(report.all_in_sync()) << report.summary_lines();
  EXPECT_EQ(table_of(report, "orders").rows_repaired, 0);
}

TEST_F(digest_repair_test, ARunningAgentRepairsARewindingRestoreByItself) {
  rewind_versions();
  auto config = agent_config({"orders"});
  config.verify_interval = std::chrono::milliseconds(500);
  running_agent agent{config};
  auto deadline = std::chrono::steady_clock::now() + scaled(std::chrono::seconds(60));
  while (remote_rows("orders") != site_rows("orders") &&
         std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  expect_remote_matches("orders");
}

TEST_F(digest_repair_test, RowsChangedInTheStoreBySqlAreRepairedAndTheSummaryRecounted) {
  site_exec("CREATE TABLE orders (id BIGINT PRIMARY KEY, note TEXT)");
  site_exec(rows_of("INSERT INTO orders (id, note)", "i, 'order ' || i", 2000));
  prepare({"orders"});
  ASSERT_TRUE(run_once({"orders"}).all_in_sync());

  // An operator's SQL: a row deleted, a stray row inserted, a cell changed.
  store_exec("DELETE FROM tidesync_data.orders WHERE database_id = $1::uuid AND id = 17");
  store_exec("INSERT INTO tidesync_data.orders (client_id, database_id, id, note, "
             "tidesync_version) VALUES ('acme', $1::uuid, 5000, 'stray', 1)");
  store_exec("UPDATE tidesync_data.orders SET note = 'edited' "
             "WHERE database_id = $1::uuid AND id = 1500");
  auto report = run_once({"orders"});
  EXPECT_TRUE(report.all_in_sync()) << report.summary_lines();
  EXPECT_EQ(table_of(report, "orders").rows_repaired, 3);
  expect_remote_matches("orders");
  EXPECT_EQ(stored_summary("orders").count, 2000);
  auto status = actors::collect_status(agent_config({"orders"}));
  ASSERT_EQ(status.tables.size(), 1u);
  EXPECT_TRUE(actors::in_sync(status.tables.front())) << status.tables.front().error;

  report = run_once({"orders"});
  EXPECT_TRUE(report.all_in_sync()) << report.summary_lines();
  EXPECT_EQ(table_of(report, "orders").rows_repaired, 0);
}

TEST_F(digest_repair_test, ASummaryThatDriftedIsRecountedEvenWhenTheRowsAgree) {
  site_exec("CREATE TABLE orders (id BIGINT PRIMARY KEY, note TEXT)");
  site_exec(rows_of("INSERT INTO orders (id, note)", "i, 'order ' || i", 500));
  prepare({"orders"});
  ASSERT_TRUE(run_once({"orders"}).all_in_sync());
  // A restore of the cloud database, say, leaves the summary saying one row too many.
  store_exec("UPDATE tidesync.tenant_tables SET row_count = row_count + 1 "
             "WHERE database_id = $1::uuid");
  auto report = run_once({"orders"});
  EXPECT_TRUE(report.all_in_sync()) << report.summary_lines();
  EXPECT_EQ(stored_summary("orders").count, 500);
}

} // namespace tidesync::testing
