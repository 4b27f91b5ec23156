#include "actors/agent.hpp"

#include "protocol/http_client.hpp"
#include "storage/state_store.hpp"
#include "tests/integration/agent/agent_fixture.hpp"

#include <chrono>
#include <functional>
#include <thread>

namespace tidesync::testing {

namespace {

constexpr auto deadline_after = std::chrono::seconds(60);

bool eventually(const std::function<bool()>& condition) {
  auto deadline = std::chrono::steady_clock::now() + deadline_after;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition())
      return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return condition();
}

} // namespace

TEST_P(agent_test, AServerStoppedDuringACycleCostsRetriesButNoRows) {
  site_exec("CREATE TABLE orders (id BIGINT PRIMARY KEY, note TEXT)");
  site_exec("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3000) "
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
        R"(tidesync_agent_batches_total{database="store-01",outcome="success",table="orders"} 1)",
        R"(tidesync_agent_batch_size{database="store-01",table="orders"})",
        R"(tidesync_agent_last_success_timestamp_seconds{database="store-01",table="orders"})"})
    EXPECT_NE(response.body.find(line), std::string::npos) << line << "\n" << response.body;
}

} // namespace tidesync::testing
