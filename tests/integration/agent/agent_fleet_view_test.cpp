// The fleet view: a running agent's listing requests tell the server its
// version and how its tables stand; the server saves that in batches and its
// fleet gauges and tenants listing show which site lags, without any tenant
// label in the metrics.
#include "actors/agent.hpp"
#include "protocol/http_client.hpp"
#include "storage/postgres_store.hpp"
#include "tests/integration/agent/agent_cli_support.hpp"
#include "tests/integration/agent/agent_fixture.hpp"
#include "tests/support/metrics_text.hpp"
#include "tests/support/time_scale.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <string>
#include <thread>

namespace tidesync::testing {
namespace {

TEST_F(sqlite_agent_test, TheServerSeesEachSitesVersionAndWhichTablesLag) {
  site_exec("CREATE TABLE orders (id BIGINT PRIMARY KEY, note TEXT)");
  site_exec(rows_of("INSERT INTO orders (id, note)", "i, 'order ' || i", 500));
  site_exec("CREATE TABLE notes (id BIGINT PRIMARY KEY, body TEXT)");
  site_exec("INSERT INTO notes VALUES (1, 'one')");
  prepare({"orders", "notes"});
  auto config = agent_config({"orders", "notes"});
  config.metrics_listen = config::host_port{"127.0.0.1", 0};
  config.interval = std::chrono::milliseconds{300};
  config.notify = false;
  protocol::http_client server_metrics{"http://127.0.0.1:" + std::to_string(port_)};
  auto fleet_value = [&](const std::string& name, const std::map<std::string, std::string>& of) {
    return metric_value(parse_metrics(server_metrics.get("/metrics").body), name, of)
      .value_or(-1);
  };
  // No site has spoken yet: the gauges exist, at 0.
  EXPECT_TRUE(eventually_true([&] { return fleet_value("tidesync_server_fleet_sites_seen", {}) == 0; }));

  running_agent agent{config};
  auto tenant = [&]() -> std::optional<storage::tenant_database> {
    for (auto& db : store_->list_tenant_databases())
      if (db.database == "store-01")
        return db;
    return std::nullopt;
  };
  auto described = [&] {
    auto db = tenant();
    if (!db)
      return std::string{"no tenant row"};
    return "contact " + db->last_contact.value_or("-") + ", upload " +
           db->last_upload.value_or("-") + ", tables " + std::to_string(db->tables) + ", rows " +
           std::to_string(db->rows) + ", not equal " +
           (db->tables_not_equal ? std::to_string(*db->tables_not_equal) : "-") + ", lagging " +
           db->lagging + ", version " + db->agent_version + "; sites seen " +
           std::to_string(fleet_value("tidesync_server_fleet_sites_seen", {}));
  };
  // In sync: seen, nothing lagging, the agent's version known.
  EXPECT_TRUE(eventually_true([&] {
    auto db = tenant();
    return db && db->last_contact && db->tables_not_equal == 0 && db->tables == 2 &&
           db->rows == 501 && db->last_upload &&
           fleet_value("tidesync_server_fleet_sites_seen", {}) == 1 &&
           fleet_value("tidesync_server_fleet_agents", {{"version", TIDESYNC_VERSION}}) == 1;
  })) << described();
  EXPECT_EQ(fleet_value("tidesync_server_fleet_sites_silent", {}), 0);
  EXPECT_EQ(fleet_value("tidesync_server_fleet_tables_not_in_sync", {}), 0);
  EXPECT_EQ(tenant()->agent_version, TIDESYNC_VERSION);

  // A table the site can no longer read: its cycles fail, the agent reports
  // it in error, and the server counts it and names it.
  site_exec("DROP TABLE notes");
  EXPECT_TRUE(eventually_true([&] {
    auto db = tenant();
    return db && db->tables_not_equal == 1 &&
           db->lagging.find("notes:error:") == 0 &&
           fleet_value("tidesync_server_fleet_tables_not_in_sync", {}) == 1;
  })) << described();

  // Every series of the fleet view is tenant-free.
  for (const auto& sample : parse_metrics(server_metrics.get("/metrics").body))
    if (sample.name.rfind("tidesync_server_fleet", 0) == 0)
      for (const auto& [key, value] : sample.labels)
        EXPECT_EQ(key, "version") << sample.name;
}

} // namespace
} // namespace tidesync::testing
