#include "storage/version_tracking.hpp"

#include "storage/sqlite_db.hpp"
#include "tests/integration/sources/source_fixtures.hpp"
#include "tests/support/test_database.hpp"

#include <gtest/gtest.h>
#include <pqxx/pqxx>
#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <future>
#include <thread>

namespace tidesync::storage {
namespace {

using testing::pg_exec;
using testing::sqlite_exec;

std::vector<std::int64_t> pg_versions(const std::string& url, const std::string& where = "") {
  pqxx::connection conn{url};
  pqxx::nontransaction tx{conn};
  std::vector<std::int64_t> out;
  for (const auto& row : tx.exec("SELECT tidesync_version FROM orders " + where + " ORDER BY id"))
    out.push_back(row[0].is_null() ? -1 : row[0].as<std::int64_t>());
  return out;
}

std::vector<std::int64_t> sqlite_versions(const std::filesystem::path& file,
                                          const std::string& table = "orders") {
  sqlite_db db{file.string(), SQLITE_OPEN_READONLY};
  sqlite_statement st{db, "SELECT tidesync_version FROM " + table + " ORDER BY 1", "test"};
  std::vector<std::int64_t> out;
  while (st.step())
    out.push_back(st.column_type(0) == SQLITE_NULL ? -1 : st.column_int(0));
  return out;
}

TEST(PostgresVersionTracking, PrepareInstallsBackfillsAndIsIdempotent) {
  testing::test_database db;
  pg_exec(db.url(), "CREATE TABLE orders (id int PRIMARY KEY, note text);"
                    "INSERT INTO orders SELECT g, 'old' FROM generate_series(1, 50) g");
  std::vector<table_ref> tables{testing::tracked("orders")};
  auto plan = plan_version_tracking(db.url(), tables);
  EXPECT_GE(plan.size(), 5u);
  EXPECT_EQ(plan_version_tracking(db.url(), tables), plan);  // planning changes nothing
  EXPECT_EQ(apply_version_tracking(db.url(), tables), plan);
  EXPECT_TRUE(plan_version_tracking(db.url(), tables).empty());
  EXPECT_TRUE(apply_version_tracking(db.url(), tables).empty());

  auto backfilled = pg_versions(db.url());
  ASSERT_EQ(backfilled.size(), 50u);
  EXPECT_GT(backfilled.front(), 0);
  EXPECT_EQ(backfilled.front(), backfilled.back());  // one transaction, one version

  pg_exec(db.url(), "UPDATE orders SET note = 'new' WHERE id = 7");
  pg_exec(db.url(), "INSERT INTO orders VALUES (51, 'new')");
  auto later = pg_versions(db.url(), "WHERE id IN (7, 51)");
  EXPECT_GT(later[0], backfilled.front());
  EXPECT_GT(later[1], later[0]);
}

TEST(PostgresVersionTracking, PrepareRefusesMissingTablesAndBadVersionColumns) {
  testing::test_database db;
  pg_exec(db.url(), "CREATE TABLE orders (id int PRIMARY KEY, tidesync_version text)");
  try {
    apply_version_tracking(db.url(), {testing::tracked("nowhere")});
    FAIL() << "expected an error";
  } catch (const storage_error& e) {
    EXPECT_EQ(e.code(), storage_errc::not_found) << e.what();
  }
  try {
    plan_version_tracking(db.url(), {testing::tracked("orders")});
    FAIL() << "expected an error";
  } catch (const storage_error& e) {
    EXPECT_NE(std::string{e.what()}.find("must be bigint"), std::string::npos) << e.what();
  }
}

TEST(PostgresVersionTracking, PrepareSaysAViewIsAView) {
  testing::test_database db;
  pg_exec(db.url(), "CREATE TABLE orders (id int PRIMARY KEY); CREATE VIEW recent AS SELECT * "
                    "FROM orders");
  try {
    plan_version_tracking(db.url(), {testing::tracked("recent")});
    FAIL() << "expected an error";
  } catch (const storage_error& e) {
    EXPECT_EQ(e.code(), storage_errc::unsupported) << e.what();
    EXPECT_NE(std::string{e.what()}.find("recent in PostgreSQL database"), std::string::npos)
      << e.what();
    EXPECT_NE(std::string{e.what()}.find("is a view"), std::string::npos) << e.what();
  }
}

TEST(PostgresVersionTracking, AFailedPrepareLeavesTheDatabaseUnchanged) {
  testing::test_database db;
  pg_exec(db.url(), "CREATE TABLE orders (id int PRIMARY KEY)");
  EXPECT_THROW(apply_version_tracking(db.url(), {testing::tracked("orders"), testing::tracked("nowhere")}), storage_error);
  EXPECT_FALSE(plan_version_tracking(db.url(), {testing::tracked("orders")}).empty());
}

TEST(SqliteVersionTracking, PrepareInstallsBackfillsAndIsIdempotent) {
  testing::temp_directory dir;
  auto file = dir.path() / "site.db";
  auto url = dir.sqlite_url("site.db");
  sqlite_exec(file, "CREATE TABLE orders (id INTEGER PRIMARY KEY, note TEXT);"
                    "INSERT INTO orders VALUES (1, 'a'), (2, 'b'), (3, 'c')");
  std::vector<table_ref> tables{testing::tracked("orders")};
  auto plan = plan_version_tracking(url, tables);
  EXPECT_EQ(apply_version_tracking(url, tables), plan);
  EXPECT_TRUE(plan_version_tracking(url, tables).empty());
  EXPECT_TRUE(apply_version_tracking(url, tables).empty());
  EXPECT_EQ(sqlite_versions(file), (std::vector<std::int64_t>{1, 1, 1}));

  sqlite_exec(file, "UPDATE orders SET note = 'x' WHERE id = 2");
  sqlite_exec(file, "INSERT INTO orders (id, note) VALUES (4, 'd')");
  sqlite_exec(file, "PRAGMA recursive_triggers = ON; UPDATE orders SET note = 'y' WHERE id = 3");
  EXPECT_EQ(sqlite_versions(file), (std::vector<std::int64_t>{1, 2, 3, 4}));
}

TEST(SqliteVersionTracking, PrepareTracksWithoutRowidTablesByKey) {
  testing::temp_directory dir;
  auto file = dir.path() / "site.db";
  sqlite_exec(file, "CREATE TABLE pairs (a TEXT, b INTEGER, PRIMARY KEY (a, b)) WITHOUT ROWID;"
                    "INSERT INTO pairs VALUES ('x', 1)");
  apply_version_tracking(dir.sqlite_url("site.db"), {testing::tracked("pairs")});
  sqlite_exec(file, "INSERT INTO pairs (a, b) VALUES ('y', 2); UPDATE pairs SET b = 3 WHERE a = 'x'");
  EXPECT_EQ(sqlite_versions(file, "pairs"), (std::vector<std::int64_t>{2, 3}));
}

TEST(SqliteVersionTracking, PrepareMovesTheCounterPastExistingVersions) {
  testing::temp_directory dir;
  auto file = dir.path() / "site.db";
  sqlite_exec(file, "CREATE TABLE orders (id INTEGER PRIMARY KEY, tidesync_version INTEGER);"
                    "INSERT INTO orders VALUES (1, 40)");
  apply_version_tracking(dir.sqlite_url("site.db"), {testing::tracked("orders")});
  sqlite_exec(file, "INSERT INTO orders (id) VALUES (2)");
  EXPECT_EQ(sqlite_versions(file), (std::vector<std::int64_t>{40, 41}));
}

TEST(SqliteVersionTracking, RowsOfAnExistingColumnWithoutAVersionGetOneInShortTransactions) {
  testing::temp_directory dir;
  auto file = dir.path() / "site.db";
  // 12,000 rows: the backfill takes three transactions of at most 5,000.
  sqlite_exec(file, "CREATE TABLE orders (id INTEGER PRIMARY KEY, tidesync_version INTEGER);"
                    "CREATE TABLE pairs (a TEXT, b INTEGER, tidesync_version INTEGER, "
                    "PRIMARY KEY (a, b)) WITHOUT ROWID;"
                    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 12000) "
                    "INSERT INTO orders SELECT i, CASE WHEN i % 7 = 0 THEN 70 END FROM n;"
                    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 6000) "
                    "INSERT INTO pairs (a, b) SELECT 'k' || i, i FROM n");
  auto url = dir.sqlite_url("site.db");
  std::vector<table_ref> tables{testing::tracked("orders"), testing::tracked("pairs")};
  auto steps = plan_tracking_steps(url, tables);
  int backfills = 0;
  for (const auto& step : steps)
    backfills += step.mode == step_mode::backfill ? 1 : 0;
  EXPECT_EQ(backfills, 2);
  apply_version_tracking(url, tables);
  EXPECT_TRUE(plan_version_tracking(url, tables).empty());
  for (const auto& table : {"orders", "pairs"}) {
    auto versions = sqlite_versions(file, table);
    EXPECT_EQ(std::count(versions.begin(), versions.end(), -1), 0) << table;
  }
  auto versions = sqlite_versions(file);
  // Rows that had a version keep it; the others come after it.
  EXPECT_EQ(std::count(versions.begin(), versions.end(), 70), 12000 / 7);
  EXPECT_GT(versions.back(), 70);
  sqlite_exec(file, "INSERT INTO orders (id) VALUES (20000)");
  EXPECT_GT(sqlite_versions(file).back(), versions.back());
}

std::int64_t sqlite_count(const std::filesystem::path& file, const std::string& sql) {
  sqlite_db db{file.string(), SQLITE_OPEN_READONLY};
  sqlite_statement st{db, sql, "test"};
  return st.step() ? st.column_int(0) : 0;
}

// Names cut to 63 bytes were one name for tables sharing a long prefix: the
// second table's triggers "existed" (the first's) and were never created.
TEST(SqliteVersionTracking, TablesSharingALongPrefixEachGetTheirOwnTriggers) {
  testing::temp_directory dir;
  auto file = dir.path() / "site.db";
  std::string prefix(50, 'p');
  auto first = prefix + "_2026_01";
  auto second = prefix + "_2026_02";
  sqlite_exec(file, "CREATE TABLE " + first + " (id INTEGER PRIMARY KEY, tidesync_version "
                    "INTEGER); CREATE TABLE " + second + " (id INTEGER PRIMARY KEY, "
                    "tidesync_version INTEGER)");
  auto url = dir.sqlite_url("site.db");
  apply_version_tracking(url, {testing::tracked(first)});
  apply_version_tracking(url, {testing::tracked(second)});
  sqlite_exec(file, "INSERT INTO " + second + " (id) VALUES (1)");
  EXPECT_EQ(sqlite_versions(file, second), (std::vector<std::int64_t>{1}));
  EXPECT_EQ(sqlite_count(file, "SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND "
                               "tbl_name = '" + second + "'"),
            3);
}

// A long-named table prepared when its names were cut without a hash, by a
// tidesync that did not count deletes, keeps its triggers and index: prepare
// adds the delete trigger and its count only, and unprepare removes all.
TEST(SqliteVersionTracking, ObjectsUnderNamesCutWithoutAHashAreFoundAndRemoved) {
  testing::temp_directory dir;
  auto file = dir.path() / "site.db";
  auto table = std::string(50, 'p') + "_2026_01";
  auto cut = ("tidesync_" + table).substr(0, 56);
  sqlite_exec(file, "CREATE TABLE " + table + " (id INTEGER PRIMARY KEY, tidesync_version "
                    "INTEGER); CREATE TABLE tidesync_counter (id INTEGER PRIMARY KEY CHECK "
                    "(id = 1), value INTEGER NOT NULL); INSERT INTO tidesync_counter VALUES (1, 0);"
                    "CREATE TRIGGER \"" + cut + "_insert\" AFTER INSERT ON " + table +
                    " BEGIN UPDATE tidesync_counter SET value = value + 1; UPDATE " + table +
                    " SET tidesync_version = (SELECT value FROM tidesync_counter) WHERE rowid = "
                    "NEW.rowid; END;"
                    "CREATE TRIGGER \"" + cut + "_update\" AFTER UPDATE ON " + table +
                    " FOR EACH ROW WHEN NEW.tidesync_version IS OLD.tidesync_version BEGIN "
                    "UPDATE tidesync_counter SET value = value + 1; UPDATE " + table +
                    " SET tidesync_version = (SELECT value FROM tidesync_counter) WHERE rowid = "
                    "NEW.rowid; END;"
                    "CREATE INDEX \"" + cut.substr(0, 55) + "_version\" ON " + table +
                    " (tidesync_version, id)");
  auto url = dir.sqlite_url("site.db");
  for (const auto& statement : plan_version_tracking(url, {testing::tracked(table)}))
    EXPECT_TRUE(statement.find("tidesync_deletes") != std::string::npos) << statement;
  apply_version_tracking(url, {testing::tracked(table)});
  EXPECT_TRUE(plan_version_tracking(url, {testing::tracked(table)}).empty());
  EXPECT_EQ(sqlite_count(file, "SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND "
                               "name LIKE '" + cut + "%'"),
            2);
  auto stamp = [&] {
    return sqlite_count(file, "SELECT deletes FROM tidesync_deletes WHERE table_name = '" +
                                table + "'");
  };
  auto before = stamp();
  sqlite_exec(file, "INSERT INTO " + table + " (id) VALUES (7); DELETE FROM " + table);
  EXPECT_GT(stamp(), before);
  apply_tracking_removal(url, {testing::tracked(table)}, {.drop_columns = true});
  EXPECT_EQ(sqlite_count(file, "SELECT count(*) FROM sqlite_master WHERE name LIKE 'tidesync%'"),
            0);
}

// A site writer holding the lock past SQLite's 5 s busy wait (a batch job)
// makes prepare wait and go on, not fail half way.
TEST(SqliteVersionTracking, PrepareWaitsForAWriterThatHoldsTheLockPastTheBusyTimeout) {
  testing::temp_directory dir;
  auto file = dir.path() / "site.db";
  sqlite_exec(file, "PRAGMA journal_mode = WAL; CREATE TABLE orders (id INTEGER PRIMARY KEY, "
                    "note TEXT); INSERT INTO orders VALUES (1, 'a')");
  sqlite_db writer{file.string(), SQLITE_OPEN_READWRITE};
  writer.exec("BEGIN IMMEDIATE; UPDATE orders SET note = 'b'", "hold the lock");
  std::atomic<bool> waited{false};
  auto prepared = std::async(std::launch::async, [&] {
    apply_version_tracking(dir.sqlite_url("site.db"), {testing::tracked("orders")},
                           [&](const std::string&, const std::string& m) {
                             if (m.find("waiting for the write lock") != std::string::npos)
                               waited = true;
                           });
  });
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{30};
  while (!waited && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds{50});
  EXPECT_TRUE(waited);
  writer.exec("COMMIT", "let go of the lock");
  prepared.get();
  EXPECT_TRUE(plan_version_tracking(dir.sqlite_url("site.db"), {testing::tracked("orders")})
                .empty());
}

} // namespace
} // namespace tidesync::storage
