// The agent's metrics as an operator scrapes them from a running agent:
// every configured table's series from the start, values that move during a
// load and an outage, bounded labels.
#include "actors/agent.hpp"
#include "protocol/http_client.hpp"
#include "tests/integration/agent/agent_cli_support.hpp"
#include "tests/integration/agent/agent_fixture.hpp"
#include "tests/integration/agent/log_capture.hpp"
#include "tests/support/metrics_text.hpp"
#include "tests/support/time_scale.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <map>
#include <string>
#include <thread>

namespace tidesync::testing {
namespace {

using labels = std::map<std::string, std::string>;

labels of_table(const std::string& table) { return {{"database", "store-01"}, {"table", table}}; }

labels with(labels base, const std::string& key, const std::string& value) {
  base[key] = value;
  return base;
}

class scraper {
public:
  explicit scraper(std::uint16_t port) : client_{"http://127.0.0.1:" + std::to_string(port)} {}

  std::vector<metric_sample> scrape() { return parse_metrics(client_.get("/metrics").body); }

  /// The sample's value, or -1 when it is missing.
  double value(const std::string& name, const labels& of = {}) {
    return metric_value(scrape(), name, of).value_or(-1);
  }

private:
  protocol::http_client client_;
};

// The state gauges of `table`: exactly one is 1, and it is `state`.
bool only_state_is(scraper& metrics, const std::string& table, const std::string& state) {
  auto samples = metrics.scrape();
  for (const auto* each :
       {"pending", "equal", "ahead", "behind", "scanning", "quarantined", "error"}) {
    auto value = metric_value(samples, "tidesync_agent_table_state",
                              with(of_table(table), "state", each));
    if (!value || *value != (each == state ? 1.0 : 0.0))
      return false;
  }
  return true;
}

TEST_P(agent_test, EveryTableHasItsSeriesFromTheStartAndTheyMoveDuringALoadAndAnOutage) {
  site_exec("CREATE TABLE orders (id BIGINT PRIMARY KEY, note TEXT)");
  site_exec(rows_of("INSERT INTO orders (id, note)", "i, 'order ' || i", 20000));
  site_exec("CREATE TABLE notes (id BIGINT PRIMARY KEY, body TEXT)");
  prepare({"orders", "notes"});
  auto config = agent_config({"orders", "notes"});
  config.metrics_listen = config::host_port{"127.0.0.1", 0};
  config.interval = std::chrono::milliseconds{300};
  actors::agent agent{config, quick_retries()};
  scraper metrics{*agent.metrics_port()};

  // Before any cycle: every table's series, at 0, in state pending.
  {
    auto samples = metrics.scrape();
    for (const auto* table : {"orders", "notes"}) {
      for (const auto* name :
           {"tidesync_agent_rows_uploaded_total", "tidesync_agent_rows_deleted_total",
            "tidesync_agent_quarantined_rows", "tidesync_agent_lag_versions",
            "tidesync_agent_upload_sent_bytes_total", "tidesync_agent_table_restarts_total",
            "tidesync_agent_compared_rows_total", "tidesync_agent_compare_progress_ratio"})
        EXPECT_EQ(metric_value(samples, name, of_table(table)), 0.0) << name << " " << table;
      for (const auto* kind : {"network", "server", "rejected", "source"})
        EXPECT_EQ(metric_value(samples, "tidesync_agent_errors_total",
                               with(of_table(table), "kind", kind)),
                  0.0)
          << kind << " " << table;
    }
    EXPECT_TRUE(only_state_is(metrics, "orders", "pending"));
    EXPECT_EQ(metric_value(samples, "tidesync_agent_tables", {{"state", "pending"}}), 2.0);
    EXPECT_EQ(metric_value(samples, "tidesync_agent_cycle_duration_seconds_count",
                           {{"database", "store-01"}}),
              0.0);
    // Every sample's labels stay within database, table and one of a fixed few.
    for (const auto& sample : samples)
      for (const auto& [key, value] : sample.labels)
        if (sample.name.rfind("tidesync_", 0) == 0)
          EXPECT_TRUE(key == "database" || key == "table" || key == "state" || key == "kind" ||
                      key == "outcome" || key == "reason" || key == "pool" || key == "version" ||
                      key == "le")
            << sample.name << " has label " << key;
  }

  std::thread runner{[&] { agent.run(); }};
  // Each table turns equal within its cycle; the cycle's own figures come
  // when the database's cycle ends.
  EXPECT_TRUE(eventually_true([&] {
    return metrics.value("tidesync_agent_rows_uploaded_total", of_table("orders")) == 20000 &&
           only_state_is(metrics, "orders", "equal") && only_state_is(metrics, "notes", "equal") &&
           metrics.value("tidesync_agent_last_success_timestamp_seconds", of_table("notes")) >
             1.6e9 &&
           metrics.value("tidesync_agent_cycle_duration_seconds_count",
                         {{"database", "store-01"}}) > 0;
  }));
  auto samples = metrics.scrape();
  EXPECT_EQ(metric_value(samples, "tidesync_agent_tables", {{"state", "equal"}}), 2.0);
  EXPECT_EQ(metric_value(samples, "tidesync_agent_tables", {{"state", "pending"}}), 0.0);
  EXPECT_EQ(metric_value(samples, "tidesync_agent_lag_versions", of_table("orders")), 0.0);
  EXPECT_EQ(metric_value(samples, "tidesync_agent_lag_seconds", of_table("orders")), 0.0);
  auto json = metric_value(samples, "tidesync_agent_upload_json_bytes_total", of_table("orders"));
  auto sent = metric_value(samples, "tidesync_agent_upload_sent_bytes_total", of_table("orders"));
  ASSERT_TRUE(json && sent);
  EXPECT_GT(*sent, 0);
  EXPECT_LT(*sent, *json) << "the agent compresses by default";
  EXPECT_GT(metric_value(samples, "tidesync_agent_batches_total",
                         with(of_table("orders"), "outcome", "success"))
              .value_or(0),
            0);
  EXPECT_GT(metric_value(samples, "tidesync_agent_upload_duration_seconds_count",
                         {{"database", "store-01"}})
              .value_or(0),
            0);
  EXPECT_TRUE(metric_value(samples, "tidesync_agent_pool_busy", {{"pool", "upload"}}));
  EXPECT_TRUE(metric_value(samples, "tidesync_agent_pool_queue_length", {{"pool", "source"}}));

  // An outage: the server goes away while the site writes. The table counts
  // network errors and is no longer equal: in error when its database's
  // listing fails, ahead when its upload is retrying (a change cycle woke it
  // first); its lag grows. After the server is back, it is equal again with
  // no lag.
  server_->stop();
  site_exec("INSERT INTO orders (id, note) VALUES (20001, 'late'), (20002, 'later')");
  EXPECT_TRUE(eventually_true([&] {
    return metrics.value("tidesync_agent_errors_total",
                         with(of_table("orders"), "kind", "network")) > 0 &&
           (only_state_is(metrics, "orders", "error") || only_state_is(metrics, "orders", "ahead")) &&
           metrics.value("tidesync_agent_lag_seconds", of_table("orders")) > 0;
  }));
  start_server(port_);
  EXPECT_TRUE(eventually_true([&] {
    return metrics.value("tidesync_agent_rows_uploaded_total", of_table("orders")) == 20002 &&
           only_state_is(metrics, "orders", "equal") &&
           metrics.value("tidesync_agent_lag_seconds", of_table("orders")) == 0;
  }));
  agent.stop();
  runner.join();
  expect_remote_matches("orders");
}

// A long load says how far it is at a steady pace (here every 100 ms instead
// of 10 s), and the agent's totals feed --once's progress line.
TEST_F(sqlite_agent_test, ALongLoadLogsRowsRateAndTimeLeftAtASteadyPace) {
  site_exec("CREATE TABLE orders (id BIGINT PRIMARY KEY, note TEXT)");
  site_exec(rows_of("INSERT INTO orders (id, note)", "i, 'order ' || i", 30000));
  site_exec("CREATE TABLE notes (id BIGINT PRIMARY KEY, body TEXT)");
  prepare({"orders", "notes"});
  auto hooks = quick_retries();
  hooks.progress_every = std::chrono::milliseconds{100};
  actors::agent agent{agent_config({"orders", "notes"}), hooks};
  const auto first = log_capture::size();
  ASSERT_TRUE(agent.run_once().all_in_sync());
  EXPECT_GE(log_capture::count_since(first, "store-01.orders: loading: "), 1u);
  EXPECT_GE(log_capture::count_since(first, " of about 30000 rows ("), 1u);
  EXPECT_GE(log_capture::count_since(first, " rows/s"), 1u);
  EXPECT_EQ(log_capture::count_since(first, "store-01.orders: loaded 30000 rows in "), 1u);
  EXPECT_EQ(log_capture::count_since(first, "store-01.notes: load"), 0u) << "nothing to load";
  auto totals = agent.progress();
  EXPECT_EQ(totals.rows_uploaded, 30000);
  EXPECT_EQ(totals.rows_expected, 30000);
  EXPECT_EQ(totals.tables, 2);
  EXPECT_EQ(totals.tables_settled, 2);
  EXPECT_EQ(totals.tables_failing, 0);
}

} // namespace
} // namespace tidesync::testing
