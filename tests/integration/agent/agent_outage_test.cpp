#include "actors/agent.hpp"

#include "protocol/http_client.hpp"
#include "storage/state_store.hpp"
#include "tests/integration/agent/agent_fixture.hpp"
#include "tests/integration/agent/log_capture.hpp"
#include "tests/support/time_scale.hpp"

#include <pqxx/pqxx>

#include <chrono>
#include <functional>
#include <string>
#include <thread>

namespace tidesync::testing {

namespace {

const auto deadline_after = scaled(std::chrono::seconds(60));

bool eventually(const std::function<bool()>& condition) {
  auto deadline = std::chrono::steady_clock::now() + deadline_after;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition())
      return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return condition();
}

// Terminates every session on the site database but the caller's (the agent's
// source connections: nothing else stays connected); returns how many.
int terminate_site_sessions(const std::string& site_url) {
  pqxx::connection conn{site_url};
  pqxx::nontransaction tx{conn};
  auto result = tx.exec("SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) "
                        "FROM pg_stat_activity "
                        "WHERE datname = current_database() AND pid <> pg_backend_pid()");
  return result[0][0].as<int>();
}

} // namespace

TEST_P(agent_test, AServerStoppedDuringACycleCostsRetriesButNoRows) {
  // Batches start at 1,000 rows and double while fast: enough rows that the
  // load is still running when the server stops after its first batch.
  site_exec("CREATE TABLE orders (id BIGINT PRIMARY KEY, note TEXT)");
  site_exec("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 30000) "
            "INSERT INTO orders (id, note) SELECT i, 'order ' || i FROM n");
  prepare({"orders"});
  auto config = agent_config({"orders"});
  config.metrics_listen = config::host_port{"127.0.0.1", 0};
  actors::agent_hooks hooks;
  hooks.retry = sync::retry_settings{std::chrono::milliseconds(50), std::chrono::milliseconds(500)};
  actors::agent agent{config, hooks};
  std::thread runner([&] { agent.run(); });

  ASSERT_TRUE(eventually([&] { return remote_rows("orders").size() >= 300; }));
  server_->stop();
  // Down until the agent has had to retry (it counts retries).
  protocol::http_client metrics{"http://127.0.0.1:" + std::to_string(*agent.metrics_port())};
  EXPECT_TRUE(eventually([&] {
    return metrics.get("/metrics").body.find("tidesync_agent_retries_total") != std::string::npos;
  }));
  start_server(port_);

  auto site_count = site_rows("orders").size();
  EXPECT_TRUE(eventually([&] { return remote_rows("orders").size() == site_count; }));
  agent.stop();
  runner.join();
  expect_remote_matches("orders");
  storage::state_store state{(dir_.path() / "state").string()};
  EXPECT_TRUE(state.skipped_rows("store-01").empty());
}

// The database going away looks like this to the agent: its sessions ended
// by the server (pg_terminate_backend, as at a restart or a failover).
TEST_F(postgres_agent_test, ASourceConnectionKilledMidRunIsReopenedAndNothingIsSkipped) {
  site_exec("CREATE TABLE orders (id BIGINT PRIMARY KEY, note TEXT)");
  // Enough rows that the load is still running when its sessions are ended.
  site_exec("INSERT INTO orders SELECT i, 'order ' || i FROM generate_series(1, 30000) i");
  prepare({"orders"});
  const auto first_line = log_capture::size();
  auto logged = [&](const char* text) { return log_capture::count_since(first_line, text); };
  actors::agent_hooks hooks;
  hooks.retry = sync::retry_settings{std::chrono::milliseconds(50), std::chrono::milliseconds(500)};
  actors::agent agent{agent_config({"orders"}), hooks};
  std::thread runner([&] { agent.run(); });

  // During the initial load.
  ASSERT_TRUE(eventually([&] { return remote_rows("orders").size() >= 300; }));
  EXPECT_GE(terminate_site_sessions(site_url_), 1);
  EXPECT_TRUE(eventually([&] { return remote_rows("orders").size() == 30000; }));
  EXPECT_TRUE(eventually([&] { return logged("local source reachable again") >= 1; }));

  // Between cycles: the idle connection is gone when the next change comes.
  EXPECT_GE(terminate_site_sessions(site_url_), 1);
  site_exec("INSERT INTO orders SELECT i, 'later ' || i FROM generate_series(30001, 30100) i");
  site_exec("UPDATE orders SET note = 'changed' WHERE id % 10 = 0");
  EXPECT_TRUE(eventually([&] { return remote_rows("orders") == site_rows("orders"); }));
  agent.stop();
  runner.join();

  expect_remote_matches("orders");
  EXPECT_TRUE(skipped_rows().empty());
  // One line per outage and one when it ends. The second kill may find the
  // connection first in the idle cycle's counter read, which opens another
  // without a word, as for any connection that died while idle.
  EXPECT_GE(logged("local source unavailable"), 1u);
  EXPECT_LE(logged("local source unavailable"), 2u);
  EXPECT_EQ(logged("local source reachable again"), logged("local source unavailable"));
}

TEST_F(sqlite_agent_test, MetricsAreServedOnTheConfiguredAddress) {
  site_exec("CREATE TABLE orders (id BIGINT PRIMARY KEY, note TEXT)");
  site_exec("INSERT INTO orders VALUES (1, 'one'), (2, 'two'), (3, 'three')");
  prepare({"orders"});
  auto config = agent_config({"orders"});
  config.metrics_listen = config::host_port{"127.0.0.1", 0};
  actors::agent agent{config};
  ASSERT_TRUE(agent.run_once().all_in_sync());
  ASSERT_TRUE(agent.metrics_port());
  protocol::http_client client{"http://127.0.0.1:" + std::to_string(*agent.metrics_port())};
  auto response = client.get("/metrics");
  ASSERT_EQ(response.status, 200) << response.body;
  for (const auto* line :
       {R"(tidesync_agent_rows_uploaded_total{database="store-01",table="orders"} 3)",
        R"(tidesync_agent_batches_total{database="store-01",table="orders",outcome="success"} 1)",
        R"(tidesync_agent_batch_size_rows{database="store-01",table="orders"})",
        R"(tidesync_agent_last_success_timestamp_seconds{database="store-01",table="orders"})"})
    EXPECT_NE(response.body.find(line), std::string::npos) << line << "\n" << response.body;
}

} // namespace tidesync::testing
