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
#include <pqxx/connection>
#include <pqxx/nontransaction>
#include <pqxx/transaction>

#include <chrono>
#include <functional>
#include <string>
#include <thread>

namespace tidesync::testing {
namespace {

using FreshnessOnEachSite = agent_test;

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


// The freshness view never claims more than the agent saw: once it says a
// table was in sync as of a moment, every row the site committed before
// that moment is in the cloud copy.
TEST_P(FreshnessOnEachSite, InSyncAsOfNeverPrecedesARowTheCloudLacks) {
  site_exec("CREATE TABLE orders (id BIGINT PRIMARY KEY, note TEXT)");
  site_exec(rows_of("INSERT INTO orders (id, note)", "i, 'order ' || i", 200));
  site_exec("CREATE TABLE notes (id BIGINT PRIMARY KEY, body TEXT)");
  site_exec("INSERT INTO notes VALUES (1, 'one')");
  prepare({"orders", "notes"});
  auto config = agent_config({"orders", "notes"});
  config.metrics_listen = config::host_port{"127.0.0.1", 0};  // the report needs metrics
  config.interval = std::chrono::milliseconds{300};
  config.notify = false;  // cycles on the interval: most listings come well after a commit
  running_agent agent{config};

  const auto& store = store_db_.url();
  pqxx::connection clock{store};  // open already: read right after a commit
  auto clock_micros = [&] {
    pqxx::nontransaction tx{clock};
    return tx.exec("SELECT (extract(epoch FROM clock_timestamp()) * 1e6)::bigint")[0][0]
      .as<std::int64_t>();
  };
  auto freshness = [&](const std::string& table) {
    auto rows = pg_text_rows(store, "SELECT state, coalesce((extract(epoch FROM in_sync_as_of) * 1e6)"
                               "::bigint::text, '-'), last_contact IS NOT NULL"
                               " FROM tidesync.table_freshness WHERE table_name = '" + table + "'");
    return rows.size() == 1 ? rows[0] : std::vector<std::string>{};
  };
  // The claim and the cloud copy read in one snapshot: in sync as of after
  // the row committed, with the row missing, is the one thing never allowed.
  auto claim_holds = [&](std::int64_t id, std::int64_t committed) {
    auto row = pg_text_rows(
      store, "SELECT coalesce((extract(epoch FROM f.in_sync_as_of) * 1e6)::bigint > " +
               std::to_string(committed) + ", false), (SELECT count(*) FROM tidesync_data.orders"
               " WHERE id = " + std::to_string(id) + ") FROM tidesync.table_freshness f"
               " WHERE f.table_name = 'orders'");
    return row.size() == 1 && !(row[0][0] == "t" && row[0][1] == "0");
  };
  auto committed_reported = [&](std::int64_t committed) {
    return pg_int(store, "SELECT count(*) FROM tidesync.site_reports WHERE reported_at > "
                         "to_timestamp(" + std::to_string(committed) + " / 1e6)") == 1;
  };
  ASSERT_TRUE(eventually_true([&] {
    auto orders = freshness("orders"), notes = freshness("notes");
    return !orders.empty() && orders[0] == "in sync" && !notes.empty() && notes[0] == "in sync";
  })) << "the first load ends in sync";

  for (int round = 1; round <= 3; ++round) {
    const auto id = 1000 + round;
    {
      // The upload of the new row waits on its tenant's summary row, held
      // here a while: listings that arrive meanwhile come while the cloud
      // lacks the row.
      pqxx::connection holder{store};
      pqxx::work hold{holder};
      ASSERT_EQ(hold.exec("SELECT 1 FROM tidesync.tenant_tables WHERE table_name = 'orders'"
                          " FOR UPDATE").size(), 1u);
      site_exec("INSERT INTO orders (id, note) VALUES (" + std::to_string(id) + ", 'late order')");
      const auto committed = clock_micros();
      const auto until = std::chrono::steady_clock::now() + std::chrono::seconds{2};
      while (std::chrono::steady_clock::now() < until && !committed_reported(committed)) {
        ASSERT_TRUE(claim_holds(id, committed)) << "round " << round << ", upload held";
        std::this_thread::sleep_for(std::chrono::milliseconds{20});
      }
      ASSERT_TRUE(claim_holds(id, committed)) << "round " << round << ", upload held";
      hold.abort();

      std::vector<std::string> seen;
      ASSERT_TRUE(eventually_true([&] {
        EXPECT_TRUE(claim_holds(id, committed)) << "round " << round;
        seen = freshness("orders");
        return seen.size() == 3 && seen[0] == "in sync" && seen[1] != "-" &&
               std::stoll(seen[1]) > committed;
      })) << "round " << round << ": " << (seen.empty() ? "no row" : seen[0] + " " + seen[1]);
      EXPECT_EQ(seen[2], "t") << "the agent's last contact is shown";
    }
  }

  // A table the site can no longer read falls out of sync and keeps the
  // moment it was last seen equal; the other table goes on moving.
  auto before_drop = clock_micros();
  site_exec("DROP TABLE notes");
  std::vector<std::string> notes;
  ASSERT_TRUE(eventually_true([&] {
    notes = freshness("notes");
    return notes.size() == 3 && notes[0] == "error";
  })) << (notes.empty() ? "no row" : notes[0]);
  ASSERT_NE(notes[1], "-");
  EXPECT_LT(std::stoll(notes[1]), before_drop + 1'000'000) << "no later than its last good check";
  auto frozen = notes[1];
  auto after_drop = clock_micros();
  EXPECT_TRUE(eventually_true([&] {
    auto orders = freshness("orders");
    return orders.size() == 3 && orders[0] == "in sync" && std::stoll(orders[1]) > after_drop;
  }));
  EXPECT_EQ(freshness("notes").at(1), frozen);
}

INSTANTIATE_TEST_SUITE_P(sites, FreshnessOnEachSite,
                         ::testing::Values(site_kind::sqlite, site_kind::postgresql), site_name);

} // namespace
} // namespace tidesync::testing
