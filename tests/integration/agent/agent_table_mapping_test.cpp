// What a site table becomes in the cloud: `remote_name` lands it under another
// name, `where` keeps rows at the site; through the real binary and its YAML,
// a recording proxy, and real SQLite and PostgreSQL sites.
#include "tests/integration/agent/agent_cli_support.hpp"
#include "tests/integration/agent/agent_fixture.hpp"
#include "tests/integration/agent/cutting_proxy.hpp"
#include "tests/support/child_process.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace tidesync::testing {
namespace {

namespace json = boost::json;

using RemoteNameOnEachSite = agent_test;

TEST_P(RemoteNameOnEachSite, ATableLandsUnderItsRemoteNameAndStaysInSync) {
  site_exec("CREATE TABLE orders (id BIGINT PRIMARY KEY, note TEXT, amount DOUBLE PRECISION)");
  site_exec(rows_of("INSERT INTO orders (id, note, amount)", "i, 'order ' || i, i * 1.25", 300));
  site_exec("CREATE TABLE items (id BIGINT PRIMARY KEY, body TEXT)");
  site_exec(rows_of("INSERT INTO items (id, body)", "i, 'item ' || i", 20));
  prepare({"orders", "items"});
  auto config = write_agent_yaml(
    dir_.path(), port_, token_,
    database_yaml("store-01", site_url_, "[{name: orders, remote_name: shop_orders}, items]"));
  auto agent_once = [&] {
    return run_to_completion(TIDESYNC_BINARY, {"agent", "--config", config.string(), "--once"},
                             dir_.path());
  };

  auto first = agent_once();
  ASSERT_EQ(first.exit_code, 0) << first.err;
  expect_remote_matches("orders", "shop_orders");
  expect_remote_matches("items");
  EXPECT_EQ(remote_rows("orders", "shop_orders").size(), 300u);
  EXPECT_EQ(pg_int(store_db_.url(), "SELECT count(*) FROM pg_tables WHERE schemaname = "
                                    "'tidesync_data' AND tablename = 'orders'"),
            0)
    << "nothing lands under the site's own name";

  // Updates, deletes and inserts follow the table to its cloud name.
  site_exec("UPDATE orders SET note = 'changed', amount = -0.5 WHERE id % 7 = 0");
  site_exec("DELETE FROM orders WHERE id % 11 = 0");
  site_exec(rows_of("INSERT INTO orders (id, note, amount)", "1000 + i, 'new', i", 5));
  auto second = agent_once();
  ASSERT_EQ(second.exit_code, 0) << second.err;
  expect_remote_matches("orders", "shop_orders");

  // status compares the site table with its cloud copy under the remote name.
  auto status = run_to_completion(TIDESYNC_BINARY, {"status", "--config", config.string(), "--json"},
                                  dir_.path());
  EXPECT_EQ(status.exit_code, 0) << status.out << status.err;
  auto rows = json::parse(status.out).as_array();
  ASSERT_EQ(rows.size(), 2u);
  const auto& orders = rows[0].as_object();
  EXPECT_EQ(orders.at("table"), "orders");
  EXPECT_EQ(orders.at("remote_table"), "shop_orders");
  EXPECT_EQ(orders.at("remote_state"), "declared");
  EXPECT_EQ(orders.at("in_sync"), true);
  EXPECT_EQ(orders.at("remote").at("count").to_number<std::int64_t>(),
            static_cast<std::int64_t>(site_rows("orders").size()));
  EXPECT_EQ(rows[1].as_object().at("remote_table"), "items");
}

class RowFilterOnEachSite : public agent_test {
protected:
  /// `orders` of three branches; only branch 1's notes are public.
  void create_orders() {
    site_exec("CREATE TABLE orders (id BIGINT PRIMARY KEY, branch INTEGER, note TEXT)");
    site_exec(rows_of("INSERT INTO orders (id, branch, note)",
                      "i, i % 3, CASE WHEN i % 3 = 1 THEN 'public-' || i ELSE 'secret-' || i END",
                      300));
    prepare({"orders"});
  }

  /// The site's rows the filter keeps (columns id, branch, note, version).
  row_map branch_one() {
    auto rows = site_rows("orders");
    std::erase_if(rows, [](const auto& row) { return row.second.at(1) != "1"; });
    return rows;
  }
};

TEST_P(RowFilterOnEachSite, OnlyMatchingRowsLeaveTheSiteAndOnesThatStopMatchingAreDeleted) {
  create_orders();
  cutting_proxy proxy{port_};
  auto config = agent_config({"orders"});
  config.server.url = "http://127.0.0.1:" + std::to_string(proxy.port());
  config.compress = false;  // what is sent, readable in the capture
  config.databases[0].tables[0].where = "branch = 1";

  auto report = run_with(config);
  ASSERT_TRUE(report.all_in_sync()) << report.summary_lines();
  EXPECT_EQ(table_of(report, "orders").rows_uploaded, 100);
  EXPECT_EQ(remote_rows("orders"), branch_one());

  {
    // A running agent: a row moves into the branch, one moves out, one of
    // the branch is deleted, one edited.
    config.interval = std::chrono::milliseconds{200};
    running_agent agent{config};
    site_exec("UPDATE orders SET branch = 1, note = 'public-moved-in' WHERE id = 3");
    site_exec("UPDATE orders SET branch = 2, note = 'secret-moved-out' WHERE id = 1");
    site_exec("DELETE FROM orders WHERE id = 4");
    site_exec("UPDATE orders SET note = 'public-edited' WHERE id = 7");
    auto expected = branch_one();
    ASSERT_EQ(expected.size(), 99u);  // one in, one out, one deleted
    EXPECT_TRUE(eventually_true([&] { return remote_rows("orders") == expected; }))
      << remote_rows("orders").size() << " rows in the cloud";
    EXPECT_EQ(remote_rows("orders").count({"1"}), 0u) << "the row that left the branch is gone";
  }

  // The full pass of --once compares digests of the kept rows only: nothing
  // to repair.
  auto again = run_with(config);
  ASSERT_TRUE(again.all_in_sync()) << again.summary_lines();
  EXPECT_EQ(table_of(again, "orders").rows_repaired, 0);
  EXPECT_EQ(remote_rows("orders"), branch_one());

  const auto sent = proxy.sent();
  EXPECT_NE(sent.find("public-moved-in"), std::string::npos) << "the capture holds the uploads";
  EXPECT_EQ(sent.find("secret-"), std::string::npos) << "a filtered row left the site";
  EXPECT_EQ(sent.find("branch = 1"), std::string::npos) << "the filter itself is sent";
}

TEST_P(RowFilterOnEachSite, AConditionNotOnTheRowAloneFailsTheTableAndNamesIt) {
  create_orders();
  // A misspelt column; a function that would change the agent's session
  // (PostgreSQL) or isn't deterministic (SQLite); a subquery on another
  // table, whose rows move without the filtered table's versions moving.
  const std::string session_changing =
    is_postgres() ? "set_config('extra_float_digits', '-15', false) IS NOT NULL"
                  : "random() > 0";
  for (const auto& condition :
       {std::string{"no_such_column = 1"}, session_changing,
        std::string{"branch IN (SELECT branch FROM orders WHERE id = 1)"}}) {
    auto config = agent_config({"orders"});
    config.databases[0].tables[0].where = condition;
    auto report = run_with(config);
    const auto& orders = table_of(report, "orders");
    EXPECT_EQ(orders.state, actors::table_state::error) << condition;
    EXPECT_NE(orders.error.find("the where of table orders (\"" + condition + "\")"),
              std::string::npos)
      << orders.error;
    EXPECT_EQ(orders.rows_uploaded, 0) << condition;
    EXPECT_TRUE(remote_rows("orders").empty()) << condition;
  }
}

INSTANTIATE_TEST_SUITE_P(sites, RowFilterOnEachSite,
                         ::testing::Values(site_kind::sqlite, site_kind::postgresql), site_name);

INSTANTIATE_TEST_SUITE_P(sites, RemoteNameOnEachSite,
                         ::testing::Values(site_kind::sqlite, site_kind::postgresql), site_name);

} // namespace
} // namespace tidesync::testing
