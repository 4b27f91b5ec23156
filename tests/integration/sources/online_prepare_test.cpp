// Prepare on a live PostgreSQL site: short steps, no writer held up, resumable.
#include "storage/version_tracking.hpp"

#include "tests/integration/sources/source_fixtures.hpp"
#include "tests/integration/sources/tracking_catalog.hpp"
#include "tests/support/test_database.hpp"
#include "tests/support/time_scale.hpp"

#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include <atomic>
#include <chrono>
#include <future>
#include <mutex>
#include <random>
#include <thread>

namespace tidesync::storage {
namespace {

using namespace std::chrono_literals;
using testing::expect_fully_prepared;
using testing::pg_autocommit;
using testing::pg_exec;
using testing::pg_int;
using testing::read_tracking;
using testing::scaled;

std::string read_index_name(const std::string& url, const std::string& table) {
  pqxx::connection conn{url};
  pqxx::nontransaction tx{conn};
  return tx.exec_params("SELECT indexrelid::regclass::text FROM pg_index WHERE indrelid = "
                        "to_regclass($1) AND NOT indisprimary",
                        table)[0][0]
    .as<std::string>();
}

TEST(OnlinePrepare, ANewColumnGivesExistingRowsVersionOneAndWritesTheirTransactionId) {
  testing::test_database db;
  pg_exec(db.url(), "CREATE TABLE orders (id int PRIMARY KEY, note text);"
                    "INSERT INTO orders SELECT g, md5(random()::text) FROM "
                    "generate_series(1, 2000) g");
  apply_version_tracking(db.url(), {testing::tracked("orders")});
  expect_fully_prepared(db.url(), "orders");
  EXPECT_EQ(pg_int(db.url(), "SELECT count(*) FROM orders WHERE tidesync_version = 1"), 2000);

  pg_exec(db.url(), "UPDATE orders SET note = 'new' WHERE id = 7;"
                    "INSERT INTO orders (id, note) VALUES (2001, 'new')");
  auto xid = pg_int(db.url(), "SELECT pg_current_xact_id()::text::bigint");
  EXPECT_GT(pg_int(db.url(), "SELECT min(tidesync_version) FROM orders WHERE note = 'new'"), 1);
  EXPECT_LT(pg_int(db.url(), "SELECT max(tidesync_version) FROM orders"), xid);
  // Without the trigger (e.g. replication role) an insert fails rather than
  // taking an old version.
  EXPECT_THROW(pg_exec(db.url(), "SET session_replication_role = replica;"
                                 "INSERT INTO orders (id) VALUES (3000)"),
               std::exception);
}

// A site prepared by an older tidesync keeps its trigger functions until
// prepare runs again; then they get the current body, once.
TEST(OnlinePrepare, AnOutdatedTriggerFunctionIsReplacedByTheCurrentOne) {
  testing::test_database db;
  pg_exec(db.url(), "CREATE TABLE orders (id int PRIMARY KEY, note text)");
  apply_version_tracking(db.url(), {testing::tracked("orders")});
  pg_exec(db.url(), "CREATE OR REPLACE FUNCTION tidesync_notify() RETURNS trigger "
                    "LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_notify('tidesync', TG_TABLE_NAME); "
                    "RETURN NULL; END $$");
  auto plan = plan_version_tracking(db.url(), {testing::tracked("orders")});
  ASSERT_EQ(plan.size(), 2u);
  EXPECT_EQ(plan[1], "REVOKE EXECUTE ON FUNCTION tidesync_notify() FROM PUBLIC");
  apply_version_tracking(db.url(), {testing::tracked("orders")});
  EXPECT_EQ(pg_int(db.url(), "SELECT count(*) FROM pg_proc WHERE proname = 'tidesync_notify' "
                             "AND prosrc LIKE '%set_config%' AND prosecdef"),
            1);
  EXPECT_TRUE(plan_version_tracking(db.url(), {testing::tracked("orders")}).empty());
}

TEST(OnlinePrepare, ABackfillVersionsANullableColumnWithoutFiringTheTablesOwnTriggers) {
  testing::test_database db;
  pg_exec(db.url(),
          "CREATE TABLE audit (n bigserial, id int);"
          "CREATE TABLE orders (id int PRIMARY KEY, note text, tidesync_version bigint);"
          "CREATE FUNCTION audit_orders() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
          "INSERT INTO audit (id) VALUES (NEW.id); RETURN NEW; END $$;"
          "CREATE TRIGGER orders_audit AFTER UPDATE ON orders FOR EACH ROW "
          "EXECUTE FUNCTION audit_orders();"
          "INSERT INTO orders SELECT g, md5(random()::text), "
          "CASE WHEN random() < 0.3 THEN (random() * 1000)::bigint + 1000000000000 END "
          "FROM generate_series(1, 30000) g");
  auto kept = pg_int(db.url(), "SELECT count(*) FROM orders WHERE tidesync_version IS NOT NULL");
  auto kept_sum = pg_int(db.url(), "SELECT coalesce(sum(tidesync_version), 0) FROM orders");
  std::vector<std::string> messages;
  apply_version_tracking(db.url(), {testing::tracked("orders")},
                         [&](const std::string&, const std::string& m) { messages.push_back(m); });
  expect_fully_prepared(db.url(), "orders");
  EXPECT_EQ(pg_int(db.url(), "SELECT count(*) FROM audit"), 0);
  // Versions the rows had are kept.
  EXPECT_EQ(pg_int(db.url(), "SELECT count(*) FROM orders WHERE tidesync_version >= 1000000000000"),
            kept);
  EXPECT_EQ(pg_int(db.url(), "SELECT sum(tidesync_version) FROM orders WHERE "
                             "tidesync_version >= 1000000000000"),
            kept_sum);
  bool reported = false;
  for (const auto& m : messages)
    reported = reported || m.find("gave " + std::to_string(30000 - kept) + " rows a version") !=
                             std::string::npos;
  EXPECT_TRUE(reported) << ::testing::PrintToString(messages);
  // The application's trigger still fires for the application's writes.
  pg_exec(db.url(), "UPDATE orders SET note = 'x' WHERE id = 1");
  EXPECT_EQ(pg_int(db.url(), "SELECT count(*) FROM audit"), 1);
}

// The replica role turns ordinary triggers off but fires ENABLE REPLICA ones,
// and ENABLE ALWAYS ones fire whatever the role.
TEST(OnlinePrepare, ABackfillNeitherFiresReplicaTriggersNorRunsPastAlwaysTriggers) {
  testing::test_database db;
  pg_exec(db.url(),
          "CREATE TABLE audit (n bigserial, id int);"
          "CREATE FUNCTION audit_row() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
          "INSERT INTO audit (id) VALUES (NEW.id); RETURN NEW; END $$;"
          "CREATE TABLE mirrored (id int PRIMARY KEY, tidesync_version bigint);"
          "CREATE TRIGGER mirrored_audit AFTER UPDATE ON mirrored FOR EACH ROW "
          "EXECUTE FUNCTION audit_row();"
          "ALTER TABLE mirrored ENABLE REPLICA TRIGGER mirrored_audit;"
          "INSERT INTO mirrored SELECT generate_series(1, 100);"
          "CREATE TABLE audited (id int PRIMARY KEY, tidesync_version bigint);"
          "CREATE TRIGGER audited_always AFTER UPDATE ON audited FOR EACH ROW "
          "EXECUTE FUNCTION audit_row();"
          "ALTER TABLE audited ENABLE ALWAYS TRIGGER audited_always;"
          "INSERT INTO audited SELECT generate_series(1, 100)");
  apply_version_tracking(db.url(), {testing::tracked("mirrored")});
  expect_fully_prepared(db.url(), "mirrored");
  EXPECT_EQ(pg_int(db.url(), "SELECT count(*) FROM audit"), 0);

  try {
    apply_version_tracking(db.url(), {testing::tracked("audited")});
    ADD_FAILURE() << "the backfill would have fired audited_always";
  } catch (const storage_error& e) {
    EXPECT_NE(std::string{e.what()}.find("(audited_always)"), std::string::npos) << e.what();
  }
  EXPECT_EQ(pg_int(db.url(), "SELECT count(*) FROM audit"), 0);
  EXPECT_EQ(pg_int(db.url(), "SELECT count(*) FROM audited WHERE tidesync_version IS NULL"), 100);
}

TEST(OnlinePrepare, AnInvalidIndexLeftByAnInterruptedBuildIsDroppedAndRebuilt) {
  testing::test_database db;
  pg_exec(db.url(), "CREATE TABLE orders (id int PRIMARY KEY, note text);"
                    "INSERT INTO orders SELECT g, 'same' FROM generate_series(1, 100) g");
  apply_version_tracking(db.url(), {testing::tracked("orders")});
  // A concurrent build that fails leaves its index behind, invalid, as a killed one does.
  pg_exec(db.url(), "DROP INDEX tidesync_orders_version");
  EXPECT_THROW(pg_autocommit(db.url(), "CREATE UNIQUE INDEX CONCURRENTLY tidesync_orders_version "
                                 "ON orders (note)"),
               std::exception);
  ASSERT_EQ(read_tracking(db.url(), "orders").invalid_indexes, 1);
  auto plan = plan_version_tracking(db.url(), {testing::tracked("orders")});
  std::vector<std::string> expected{
    "DROP INDEX CONCURRENTLY \"tidesync_orders_version\"",
    "CREATE INDEX CONCURRENTLY \"tidesync_orders_version\" ON \"orders\" (\"tidesync_version\", "
    "\"id\")"};
  EXPECT_EQ(plan, expected);
  apply_version_tracking(db.url(), {testing::tracked("orders")});
  expect_fully_prepared(db.url(), "orders");
}

TEST(OnlinePrepare, ATableWithALongNameGetsDerivedNamesThatFit) {
  testing::test_database db;
  std::string table(63, 'n');
  pg_exec(db.url(), "CREATE TABLE \"" + table + "\" (id int PRIMARY KEY, tidesync_version "
                    "bigint); INSERT INTO \"" + table + "\" (id) SELECT generate_series(1, 50)");
  apply_version_tracking(db.url(), {testing::tracked(table)});
  expect_fully_prepared(db.url(), table);
}

// Cut to 63 bytes, "tidesync_<table>_version" was one name for tables that
// share a long prefix: preparing the second dropped the first one's index.
TEST(OnlinePrepare, TablesSharingALongPrefixGetIndexesOfTheirOwn) {
  testing::test_database db;
  std::string prefix(50, 'p');
  auto first = prefix + "_2026_01";
  auto second = prefix + "_2026_02";
  for (const auto& table : {first, second})
    pg_exec(db.url(), "CREATE TABLE \"" + table + "\" (id int PRIMARY KEY, tidesync_version "
                      "bigint); INSERT INTO \"" + table + "\" (id) SELECT generate_series(1, 50)");
  apply_version_tracking(db.url(), {testing::tracked(first)});
  apply_version_tracking(db.url(), {testing::tracked(second)});
  expect_fully_prepared(db.url(), first);
  expect_fully_prepared(db.url(), second);

  apply_tracking_removal(db.url(), {testing::tracked(second)}, {});
  EXPECT_EQ(read_tracking(db.url(), second).valid_indexes, 0);
  expect_fully_prepared(db.url(), first);
}

// Prepared by an earlier version, a long-named table has its index under the
// name cut without a hash: prepare keeps it, unprepare drops it.
TEST(OnlinePrepare, AnIndexUnderANameCutWithoutAHashIsKeptAndRemoved) {
  testing::test_database db;
  auto table = std::string(50, 'p') + "_2026_01";
  auto cut = ("tidesync_" + table).substr(0, 55) + "_version";
  pg_exec(db.url(), "CREATE TABLE " + table + " (id int PRIMARY KEY)");
  apply_version_tracking(db.url(), {testing::tracked(table)});
  pg_exec(db.url(), "DROP INDEX " + read_index_name(db.url(), table) + ";"
                    "CREATE INDEX \"" + cut + "\" ON " + table + " (tidesync_version, id)");
  expect_fully_prepared(db.url(), table);
  apply_tracking_removal(db.url(), {testing::tracked(table)}, {});
  EXPECT_EQ(read_tracking(db.url(), table).valid_indexes, 0);
}

/// Updates a random row every 50 ms on its own connection and keeps the
/// longest time one statement took.
class steady_writer {
public:
  steady_writer(std::string url, std::string table, std::int64_t rows)
    : thread_([this, url = std::move(url), table = std::move(table), rows] {
        run(url, table, rows);
      }) {}
  ~steady_writer() { stop(); }

  void stop() {
    stop_ = true;
    if (thread_.joinable())
      thread_.join();
  }
  std::chrono::milliseconds longest() const { return longest_.load(); }
  int writes() const { return writes_.load(); }

private:
  void run(const std::string& url, const std::string& table, std::int64_t rows) {
    pqxx::connection conn{url};
    std::mt19937_64 random{std::random_device{}()};
    // Row 1 is the one the long application transaction holds.
    std::uniform_int_distribution<std::int64_t> pick{2, rows};
    while (!stop_) {
      auto began = std::chrono::steady_clock::now();
      pqxx::nontransaction tx{conn};
      tx.exec("UPDATE " + table + " SET note = md5(random()::text) WHERE id = " +
              std::to_string(pick(random)));
      auto took = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - began);
      if (took > longest_.load())
        longest_ = took;
      ++writes_;
      std::this_thread::sleep_for(50ms);
    }
  }

  std::atomic<bool> stop_{false};
  std::atomic<std::chrono::milliseconds> longest_{0ms};
  std::atomic<int> writes_{0};
  std::thread thread_;
};

// 300,000 rows with a nullable version column all NULL: the single
// transaction prepare did before (backfill, SET NOT NULL and CREATE INDEX in
// one go) took 5.7 s on this size on the 2-core test machine, every writer
// waiting for all of it, so the 1 s bound below proves something. An application
// transaction holds the table 10 s while prepare starts.
TEST(OnlinePrepare, PrepareWaitsBehindALongTransactionAndNoWriterWaitsASecond) {
  constexpr std::int64_t rows = 300000;
  testing::test_database db;
  pg_exec(db.url(), "CREATE TABLE orders (id int PRIMARY KEY, note text, tidesync_version "
                    "bigint); INSERT INTO orders SELECT g, md5(g::text) FROM "
                    "generate_series(1, " + std::to_string(rows) + ") g; ANALYZE orders");
  steady_writer writer{db.url(), "orders", rows};

  pqxx::connection app{db.url()};
  auto held = std::make_unique<pqxx::work>(app);
  held->exec("UPDATE orders SET note = 'held' WHERE id = 1");
  auto held_since = std::chrono::steady_clock::now();

  std::mutex lock;
  std::vector<std::string> messages;
  auto prepared = std::async(std::launch::async, [&] {
    return apply_version_tracking(db.url(), {testing::tracked("orders")},
                                  [&](const std::string&, const std::string& m) {
                                    std::lock_guard guard{lock};
                                    messages.push_back(m);
                                  });
  });
  auto waiting_seen = [&] {
    std::lock_guard guard{lock};
    for (const auto& m : messages)
      if (m.find("waiting for a lock on orders, held by pid ") != std::string::npos)
        return true;
    return false;
  };
  auto deadline = std::chrono::steady_clock::now() + scaled(30s);
  while (!waiting_seen() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(20ms);
  ASSERT_TRUE(waiting_seen()) << ::testing::PrintToString(messages);

  // The scenario: the application keeps its transaction open 10 s.
  std::this_thread::sleep_until(held_since + 10s);
  EXPECT_EQ(prepared.wait_for(0s), std::future_status::timeout) << "prepare ran past the lock";
  held->commit();
  held.reset();

  ASSERT_EQ(prepared.wait_for(scaled(300s)), std::future_status::ready);
  prepared.get();
  writer.stop();
  EXPECT_LT(writer.longest(), 1000ms) << "a write waited on prepare";
  EXPECT_GT(writer.writes(), 100);
  expect_fully_prepared(db.url(), "orders");
  EXPECT_EQ(pg_int(db.url(), "SELECT count(*) FROM orders WHERE note = 'held' AND "
                             "tidesync_version > 1"),
            1);
}

// Two prepares planning from the same catalog would both add the column, or
// one would drop the index the other is building: the second stops at once.
TEST(OnlinePrepare, ASecondPrepareOnTheSameDatabaseStopsWhileTheFirstRuns) {
  testing::test_database db;
  pg_exec(db.url(), "CREATE TABLE orders (id int PRIMARY KEY, note text);"
                    "INSERT INTO orders SELECT g, 'x' FROM generate_series(1, 100) g");
  pqxx::connection app{db.url()};
  auto held = std::make_unique<pqxx::work>(app);
  held->exec("SELECT count(*) FROM orders");
  std::atomic<bool> waiting{false};
  auto first = std::async(std::launch::async, [&] {
    return apply_version_tracking(db.url(), {testing::tracked("orders")},
                                  [&](const std::string&, const std::string& m) {
                                    if (m.find("waiting for a lock") != std::string::npos)
                                      waiting = true;
                                  });
  });
  auto deadline = std::chrono::steady_clock::now() + scaled(30s);
  while (!waiting && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(20ms);
  ASSERT_TRUE(waiting);
  try {
    apply_version_tracking(db.url(), {testing::tracked("orders")});
    ADD_FAILURE() << "a second prepare ran alongside the first";
  } catch (const storage_error& e) {
    EXPECT_NE(std::string{e.what()}.find("another tidesync prepare or unprepare is running"),
              std::string::npos)
      << e.what();
  }
  EXPECT_THROW(apply_tracking_removal(db.url(), {testing::tracked("orders")}, {}),
               storage_error);
  held->commit();
  held.reset();
  ASSERT_EQ(first.wait_for(scaled(60s)), std::future_status::ready);
  first.get();
  expect_fully_prepared(db.url(), "orders");
}

} // namespace
} // namespace tidesync::storage
