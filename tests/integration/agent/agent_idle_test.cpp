// The idle cycle: tables whose change counter has not moved since a quiet
// check are left unread, and nothing that changed is ever left behind; and
// each database's cycles run on their own, whatever another database does.
#include "actors/agent.hpp"

#include "protocol/http_client.hpp"

#include "storage/version_tracking.hpp"
#include "tests/integration/agent/agent_fixture.hpp"
#include "tests/support/test_database.hpp"
#include "tests/support/time_scale.hpp"

#include <pqxx/pqxx>

#include <chrono>
#include <filesystem>
#include <thread>

namespace tidesync::testing {
namespace {

// Polls `condition` every 20 ms until it holds or `limit` (scaled) passes.
bool within(std::chrono::milliseconds limit, const std::function<bool()>& condition) {
  auto deadline = std::chrono::steady_clock::now() + scaled(limit);
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition())
      return true;
    std::this_thread::sleep_for(std::chrono::milliseconds{20});
  }
  return condition();
}

// Rows of `table` in the store, all tenants; -1 before it is declared.
std::int64_t cloud_count(const std::string& store_url, const std::string& table) {
  if (pg_int(store_url, "SELECT count(*) FROM pg_class WHERE oid = to_regclass('tidesync_data." +
                          table + "')") == 0)
    return -1;
  return pg_int(store_url, "SELECT count(*) FROM tidesync_data." + table);
}

// The server's count of listings it answered with `status`.
int listings_answered(std::uint16_t port, int status) {
  protocol::http_client client{"http://127.0.0.1:" + std::to_string(port)};
  auto body = client.get("/metrics").body;
  auto series = "tidesync_server_requests_total{route=\"table_versions\",status=\"" +
                std::to_string(status) + "\"} ";
  auto at = body.find(series);
  return at == std::string::npos ? 0 : std::stoi(body.substr(at + series.size()));
}

} // namespace

// An idle cycle's listing comes back "not modified" (no body to parse) while
// nothing changed remotely, and in full once something did.
TEST_P(agent_test, AnIdleListingIsAnsweredNotModifiedUntilTheRemoteChanges) {
  site_exec("CREATE TABLE orders (id BIGINT PRIMARY KEY, note TEXT)");
  site_exec(rows_of("INSERT INTO orders (id, note)", "i, 'order ' || i", 100));
  prepare({"orders"});
  actors::agent agent{agent_config({"orders"}), quick_retries()};
  ASSERT_TRUE(agent.run_once().all_in_sync());
  ASSERT_TRUE(settles_unread(agent, "orders"));
  auto unchanged = listings_answered(port_, 304);
  auto full = listings_answered(port_, 200);
  auto idle = agent.run_cycle(false);
  EXPECT_TRUE(table_of(idle, "orders").unread) << idle.summary_lines();
  EXPECT_EQ(table_of(idle, "orders").state, actors::table_state::in_sync);
  EXPECT_EQ(listings_answered(port_, 304), unchanged + 1);
  EXPECT_EQ(listings_answered(port_, 200), full);

  // A row written at the site changes the remote summary: the cycle that
  // uploads it is answered from the cache, the next one sees the new listing.
  site_exec("INSERT INTO orders (id, note) VALUES (1000, 'new')");
  auto moved = agent.run_cycle(false);
  EXPECT_EQ(table_of(moved, "orders").rows_uploaded, 1) << moved.summary_lines();
  auto after = agent.run_cycle(false);
  EXPECT_EQ(table_of(after, "orders").state, actors::table_state::in_sync)
    << after.summary_lines();
  EXPECT_EQ(listings_answered(port_, 200), full + 1);
  expect_remote_matches("orders");

  // A change the agent did not make (a row deleted through the API) is a
  // new listing: the agent sees it at once and puts the row back.
  protocol::http_client api{"http://127.0.0.1:" + std::to_string(port_)};
  auto deleted = api.request("DELETE",
                             "/v1/customers/acme/databases/" + database_id() + "/tables/orders",
                             R"({"keys":[[5]]})", {{"Authorization", "Bearer " + token_}});
  ASSERT_EQ(deleted.status, 200) << deleted.body;
  for (int cycle = 0; cycle < 3 && remote_rows("orders") != site_rows("orders"); ++cycle)
    agent.run_cycle(false);
  EXPECT_EQ(listings_answered(port_, 200), full + 2);
  expect_remote_matches("orders");
}

TEST_P(agent_test, AnIdleCycleReadsOnlyTheTablesThatChanged) {
  site_exec("CREATE TABLE orders (id BIGINT PRIMARY KEY, note TEXT)");
  site_exec("CREATE TABLE stock (id BIGINT PRIMARY KEY, qty INTEGER)");
  site_exec(rows_of("INSERT INTO orders (id, note)", "i, 'order ' || i", 200));
  site_exec(rows_of("INSERT INTO stock (id, qty)", "i, i * 3", 50));
  prepare({"orders", "stock"});
  actors::agent agent{agent_config({"orders", "stock"}), quick_retries()};
  ASSERT_TRUE(agent.run_once().all_in_sync());
  auto first = agent.run_cycle(false);
  EXPECT_FALSE(table_of(first, "orders").unread) << "no quiet check yet since the full pass";
  auto idle = agent.run_cycle(false);
  EXPECT_TRUE(table_of(idle, "orders").unread) << idle.summary_lines();
  EXPECT_TRUE(table_of(idle, "stock").unread);
  EXPECT_EQ(table_of(idle, "stock").state, actors::table_state::in_sync);

  // Each kind of write is read at the next cycle; the other table stays unread.
  for (const auto* write : {"INSERT INTO orders (id, note) VALUES (1000, 'new')",
                            "UPDATE orders SET note = 'changed' WHERE id = 7",
                            "DELETE FROM orders WHERE id = 8"}) {
    site_exec(write);
    auto report = agent.run_cycle(false);
    auto orders = table_of(report, "orders");
    EXPECT_FALSE(orders.unread) << write;
    EXPECT_EQ(orders.rows_uploaded + orders.rows_deleted, 1) << write << "\n"
                                                             << report.summary_lines();
    EXPECT_TRUE(table_of(report, "stock").unread) << write;
    expect_remote_matches("orders");
    EXPECT_TRUE(settles_unread(agent, "orders")) << write;
  }
  expect_remote_matches("stock");
}

// A restored site (versions rewound) moves its counters too.
TEST_P(agent_test, ARestoredSiteIsReadAtTheNextCycle) {
  site_exec("CREATE TABLE orders (id BIGINT PRIMARY KEY, note TEXT)");
  site_exec(rows_of("INSERT INTO orders (id, note)", "i, 'order ' || i", 100));
  prepare({"orders"});
  back_up_site();
  site_exec("INSERT INTO orders (id, note) VALUES (500, 'after the backup')");
  actors::agent agent{agent_config({"orders"}), quick_retries()};
  ASSERT_TRUE(agent.run_once().all_in_sync());
  ASSERT_TRUE(settles_unread(agent, "orders"));
  restore_site();
  auto report = agent.run_cycle(false);
  EXPECT_FALSE(table_of(report, "orders").unread) << report.summary_lines();
  for (int cycle = 0; cycle < 3 && remote_rows("orders") != site_rows("orders"); ++cycle)
    agent.run_cycle(false);
  expect_remote_matches("orders");
}

// A site file restored by moving another file into its place: the agent's
// kept connection still reads the old file, which never changes again, so
// the cycle opens the path again instead of trusting it.
TEST_F(sqlite_agent_test, ASiteFileMovedIntoItsPlaceIsReadAtTheNextCycle) {
  site_exec("CREATE TABLE orders (id BIGINT PRIMARY KEY, note TEXT)");
  site_exec(rows_of("INSERT INTO orders (id, note)", "i, 'order ' || i", 100));
  prepare({"orders"});
  actors::agent agent{agent_config({"orders"}), quick_retries()};
  ASSERT_TRUE(agent.run_once().all_in_sync());
  ASSERT_TRUE(settles_unread(agent, "orders"));
  const auto site = dir_.path() / "site.db";
  const auto replacement = dir_.path() / "replacement.db";
  site_exec("VACUUM INTO '" + replacement.string() + "'");
  sqlite_exec(replacement, "UPDATE orders SET note = 'restored' WHERE id <= 10");
  sqlite_exec(replacement, "DELETE FROM orders WHERE id > 90");
  std::filesystem::rename(replacement, site);
  auto report = agent.run_cycle(false);
  EXPECT_FALSE(table_of(report, "orders").unread) << report.summary_lines();
  for (int cycle = 0; cycle < 3 && remote_rows("orders") != site_rows("orders"); ++cycle)
    agent.run_cycle(false);
  expect_remote_matches("orders");
  EXPECT_EQ(remote_rows("orders").size(), 90u);
}

// A transaction that wrote before a quiet check and commits cycles later:
// left unread while it runs, read (by the late-commit window) once it ends.
TEST_F(postgres_agent_test, ATransactionOpenAcrossIdleCyclesIsReadOnceItCommits) {
  site_exec("CREATE TABLE orders (id BIGINT PRIMARY KEY, note TEXT)");
  site_exec("INSERT INTO orders SELECT i, 'order ' || i FROM generate_series(1, 100) i");
  prepare({"orders"});
  actors::agent agent{agent_config({"orders"}), quick_retries()};
  ASSERT_TRUE(agent.run_once().all_in_sync());

  pqxx::connection late_connection{site_url_};
  pqxx::work late{late_connection};
  late.exec("UPDATE orders SET note = 'late' WHERE id = 5");
  late.exec("INSERT INTO orders VALUES (900, 'late')");
  site_exec("INSERT INTO orders VALUES (901, 'early')");
  auto report = agent.run_cycle(false);
  EXPECT_EQ(table_of(report, "orders").rows_uploaded, 1) << report.summary_lines();
  // Quiet from here on, with the open transaction among the table's writers.
  EXPECT_TRUE(settles_unread(agent, "orders"));
  EXPECT_TRUE(table_of(agent.run_cycle(false), "orders").unread);
  late.commit();

  report = agent.run_cycle(false);
  auto orders = table_of(report, "orders");
  EXPECT_FALSE(orders.unread) << report.summary_lines();
  EXPECT_EQ(orders.rows_uploaded, 2) << report.summary_lines();
  expect_remote_matches("orders");
}

// The site's application holds store-01's table locked: each of its cycles
// waits out the source's 5 s lock timeout. store-02's changes keep arriving
// at its own interval meanwhile, not once per store-01 cycle.
TEST_F(postgres_agent_test, ALockedDatabaseDelaysOnlyItsOwnTables) {
  using namespace std::chrono_literals;
  site_exec("CREATE TABLE orders (id BIGINT PRIMARY KEY, note TEXT)");
  site_exec("INSERT INTO orders VALUES (1, 'one')");
  prepare({"orders"});
  auto other = dir_.path() / "other.db";
  sqlite_exec(other, "CREATE TABLE stock (id INTEGER PRIMARY KEY, qty INTEGER)");
  storage::apply_version_tracking(dir_.sqlite_url("other.db"), {tracked("stock")});
  auto config = agent_config({"orders"});
  config.interval = 300ms;
  config.notify = false;
  config::table_config stock;
  stock.name = "stock";
  config.databases.push_back({"store-02", dir_.sqlite_url("other.db"), {stock}});
  running_agent agent{config};
  ASSERT_TRUE(within(30s, [&] { return cloud_count(store_db_.url(), "orders") == 1; }));
  ASSERT_TRUE(within(30s, [&] { return cloud_count(store_db_.url(), "stock") == 0; }));

  pqxx::connection holder{site_url_};
  pqxx::work hold{holder};
  // The write moves the table's counter, so store-01's cycles read it (an
  // unchanged table would be left unread and never meet the lock).
  hold.exec("INSERT INTO orders VALUES (2, 'two')");
  hold.exec("LOCK TABLE orders IN ACCESS EXCLUSIVE MODE");
  auto agent_waits = [&] {
    return pg_int(site_url_, "SELECT count(*) FROM pg_stat_activity WHERE datname = "
                             "current_database() AND wait_event_type = 'Lock' AND pid <> "
                             "pg_backend_pid()") > 0;
  };
  ASSERT_TRUE(within(30s, agent_waits)) << "store-01's cycle never reached the locked table";
  for (int row = 1; row <= 3; ++row) {
    sqlite_exec(other, "INSERT INTO stock (id, qty) VALUES (" + std::to_string(row) + ", 1)");
    auto written = std::chrono::steady_clock::now();
    ASSERT_TRUE(within(30s, [&] { return cloud_count(store_db_.url(), "stock") == row; }));
    EXPECT_LT(std::chrono::steady_clock::now() - written, scaled(std::chrono::milliseconds{2500}))
      << "row " << row << " of store-02 waited for store-01's cycle";
  }
  EXPECT_TRUE(agent_waits()) << "store-01 is still held up by the lock";
  hold.abort();
  EXPECT_TRUE(within(30s, [&] { return !agent_waits(); }));
}

} // namespace tidesync::testing
