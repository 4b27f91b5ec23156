#include "actors/agent.hpp"

#include "tests/integration/agent/agent_fixture.hpp"

#include <pqxx/pqxx>

namespace tidesync::testing {

// SQLite has one writer at a time: nothing commits late there.
TEST_F(postgres_agent_test, ALateCommittingTransactionArrivesInTheNextCycle) {
  site_exec("CREATE TABLE orders (id BIGINT PRIMARY KEY, note TEXT)");
  site_exec("INSERT INTO orders SELECT i, 'order ' || i FROM generate_series(1, 100) i");
  prepare({"orders"});
  actors::agent_hooks hooks;
  hooks.retry = sync::retry_settings{std::chrono::milliseconds(50), std::chrono::seconds(1)};
  actors::agent agent{agent_config({"orders"}), hooks};
  ASSERT_TRUE(agent.run_once().all_in_sync());

  // A transaction takes its version (its id) now and commits only later,
  // after a younger one has committed and been synced.
  pqxx::connection late_connection{site_url_};
  pqxx::work late{late_connection};
  late.exec("INSERT INTO orders SELECT i, 'late ' || i FROM generate_series(1001, 1010) i");
  site_exec("INSERT INTO orders SELECT i, 'early ' || i FROM generate_series(2001, 2020) i");
  auto report = agent.run_cycle(false);
  EXPECT_EQ(table_of(report, "orders").rows_uploaded, 20) << report.summary_lines();
  late.commit();

  report = agent.run_cycle(false);
  auto orders = table_of(report, "orders");
  EXPECT_EQ(orders.state, actors::table_state::in_sync) << report.summary_lines();
  EXPECT_EQ(orders.rows_uploaded, 10);
  // Found by the late-commit window, not by a walk over the whole table.
  EXPECT_FALSE(orders.scan_pass_completed);
  expect_remote_matches("orders");
}

} // namespace tidesync::testing
