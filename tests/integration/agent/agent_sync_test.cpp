#include "actors/agent.hpp"

#include "tests/integration/agent/agent_fixture.hpp"

namespace tidesync::testing {

namespace {

using actors::table_state;

// `count` orders with ids 1..count, inserted in one statement.
std::string insert_orders(int first, int count) {
  return "WITH RECURSIVE n(i) AS (SELECT " + std::to_string(first) +
         " UNION ALL SELECT i + 1 FROM n WHERE i < " + std::to_string(first + count - 1) +
         ") INSERT INTO orders (id, note, price) SELECT i, 'order ' || i, i * 1.5 FROM n";
}

std::string insert_orders_without_price(int first, int count) {
  return "WITH RECURSIVE n(i) AS (SELECT " + std::to_string(first) +
         " UNION ALL SELECT i + 1 FROM n WHERE i < " + std::to_string(first + count - 1) +
         ") INSERT INTO orders (id, note) SELECT i, 'order ' || i FROM n";
}

constexpr const char* create_orders =
  "CREATE TABLE orders (id BIGINT PRIMARY KEY, note TEXT, price NUMERIC(12,2))";

} // namespace

TEST_P(agent_test, InitialLoadLargerThanSeveralBatchesArrivesComplete) {
  site_exec(create_orders);
  site_exec(insert_orders(1, 1000));
  prepare({"orders"});
  auto report = run_once({"orders"});
  auto orders = table_of(report, "orders");
  EXPECT_EQ(orders.state, table_state::in_sync) << report.summary_lines();
  EXPECT_EQ(orders.rows_uploaded, 1000);
  EXPECT_TRUE(report.all_in_sync());
  expect_remote_matches("orders");
}

TEST_P(agent_test, MixedInsertsUpdatesAndDeletesArriveOnTheNextRun) {
  site_exec(create_orders);
  site_exec(insert_orders(1, 300));
  prepare({"orders"});
  ASSERT_TRUE(run_once({"orders"}).all_in_sync());
  site_exec(insert_orders(301, 120));
  site_exec("UPDATE orders SET note = 'changed ' || id WHERE id % 7 = 0");
  site_exec("DELETE FROM orders WHERE id % 11 = 0");
  site_exec("UPDATE orders SET price = NULL WHERE id BETWEEN 40 AND 45");
  auto report = run_once({"orders"});
  EXPECT_TRUE(report.all_in_sync()) << report.summary_lines();
  EXPECT_GT(table_of(report, "orders").rows_deleted, 0);
  expect_remote_matches("orders");
}

TEST_P(agent_test, ASecondRunWithNothingChangedUploadsNothing) {
  site_exec(create_orders);
  site_exec(insert_orders(1, 120));
  prepare({"orders"});
  ASSERT_TRUE(run_once({"orders"}).all_in_sync());
  auto report = run_once({"orders"});
  auto orders = table_of(report, "orders");
  EXPECT_EQ(orders.state, table_state::in_sync);
  EXPECT_EQ(orders.rows_uploaded, 0);
  EXPECT_EQ(orders.rows_deleted, 0);
}

TEST_P(agent_test, AColumnAddedAtTheSiteIsDeclaredAgainAndItsValuesArrive) {
  site_exec(create_orders);
  site_exec(insert_orders(1, 80));
  prepare({"orders"});
  ASSERT_TRUE(run_once({"orders"}).all_in_sync());
  site_exec("ALTER TABLE orders ADD COLUMN channel TEXT");
  site_exec("UPDATE orders SET channel = 'web ' || id WHERE id <= 10");
  auto report = run_once({"orders"});
  EXPECT_TRUE(report.all_in_sync()) << report.summary_lines();
  EXPECT_EQ(table_of(report, "orders").rows_uploaded, 10);
  expect_remote_matches("orders");
}

// The site's next release drops a column: the agent stops sending it and
// the rest keeps syncing. The shared cloud column stays (other tenants may
// fill it); this site's rows written from then on hold NULL there, rows
// the cloud already has keep their last value.
TEST_P(agent_test, AColumnDroppedAtTheSiteStopsBeingSentAndTheRestSyncs) {
  site_exec(create_orders);
  site_exec(insert_orders(1, 80));
  prepare({"orders"});
  ASSERT_TRUE(run_once({"orders"}).all_in_sync());
  site_exec("ALTER TABLE orders DROP COLUMN price");
  site_exec("UPDATE orders SET note = 'changed ' || id WHERE id <= 10");
  site_exec(insert_orders_without_price(81, 10));
  auto report = run_once({"orders"});
  EXPECT_TRUE(report.all_in_sync()) << report.summary_lines();
  EXPECT_EQ(table_of(report, "orders").rows_repaired, 0) << report.summary_lines();
  expect_remote_matches("orders");  // every column the site still has
  auto price_of = [&](int id) {
    return pg_text_rows(store_db_.url(), "SELECT coalesce(price::float8::text, 'NULL') FROM "
                                         "tidesync_data.orders WHERE id = " +
                                           std::to_string(id))
      .at(0)
      .at(0);
  };
  EXPECT_EQ(price_of(85), "NULL") << "a row inserted after the drop";
  EXPECT_EQ(price_of(20), "30") << "a row the cloud had, untouched since";
  EXPECT_EQ(price_of(5), "7.5") << "a row updated after the drop keeps its last price";
}

TEST_P(agent_test, ATableWithAModifiedColumnIsEqualWithoutAScanOnceSynced) {
  const std::string type = is_postgres() ? "timestamptz" : "DATETIME";
  site_exec("CREATE TABLE orders (id BIGINT PRIMARY KEY, note TEXT, updated_at " + type + ")");
  site_exec("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 60) "
            "INSERT INTO orders SELECT i, 'order ' || i, "
            "CAST('2024-03-0' || (i % 9 + 1) || ' 10:00:00.25' AS " +
            (is_postgres() ? type : "TEXT") + ") FROM n");
  prepare({"orders"});
  auto config = agent_config({"orders"});
  config.databases[0].tables[0].modified_column = "updated_at";
  actors::agent_hooks hooks;
  hooks.retry = sync::retry_settings{std::chrono::milliseconds(50), std::chrono::seconds(1)};
  actors::agent agent{config, hooks};
  ASSERT_TRUE(agent.run_once().all_in_sync());
  auto report = agent.run_cycle(false);
  auto orders = table_of(report, "orders");
  EXPECT_EQ(orders.state, table_state::in_sync) << report.summary_lines();
  EXPECT_FALSE(orders.scan_pass_completed);
  EXPECT_EQ(orders.rows_uploaded, 0);
}

} // namespace tidesync::testing
