// `tidesync prepare` killed and resumed, --dry-run, and `tidesync unprepare`,
// run as an operator runs them, checked against the databases' catalogs.
#include "storage/sqlite_db.hpp"
#include "tests/integration/sources/source_fixtures.hpp"
#include "tests/integration/sources/tracking_catalog.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/test_database.hpp"
#include "tests/support/time_scale.hpp"

#include <gtest/gtest.h>
#include <pqxx/pqxx>
#include <sqlite3.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <thread>

namespace tidesync::testing {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// Everything prepare may touch in the public schema, one line per object.
std::string pg_catalog(const std::string& url) {
  pqxx::connection conn{url};
  pqxx::nontransaction tx{conn};
  std::string out;
  for (const auto& row : tx.exec(
         "SELECT x FROM ("
         "SELECT 'column ' || table_name || '.' || column_name || ' ' || data_type || ' ' || "
         "is_nullable || ' ' || coalesce(column_default, '-') FROM information_schema.columns "
         "WHERE table_schema = 'public' "
         "UNION ALL SELECT 'trigger ' || tgrelid::regclass || ' ' || tgname || ' ' || tgenabled::text "
         "FROM pg_trigger WHERE NOT tgisinternal "
         "UNION ALL SELECT 'index ' || pg_get_indexdef(i.indexrelid) || ' ' || i.indisvalid "
         "FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid JOIN pg_namespace n ON "
         "n.oid = c.relnamespace WHERE n.nspname = 'public' "
         "UNION ALL SELECT 'constraint ' || conrelid::regclass || ' ' || conname || ' ' || "
         "pg_get_constraintdef(c.oid) FROM pg_constraint c JOIN pg_namespace n ON "
         "n.oid = c.connamespace WHERE n.nspname = 'public' "
         "UNION ALL SELECT 'function ' || p.oid::regprocedure FROM pg_proc p JOIN pg_namespace n "
         "ON n.oid = p.pronamespace WHERE n.nspname = 'public') s(x) ORDER BY x"))
    out += row[0].as<std::string>() + "\n";
  return out;
}

std::string sqlite_catalog(const fs::path& file) {
  storage::sqlite_db db{file.string(), SQLITE_OPEN_READONLY};
  std::string out;
  storage::sqlite_statement master{
    db, "SELECT type, name, tbl_name, coalesce(sql, '') FROM sqlite_master ORDER BY name",
    "read catalog"};
  while (master.step())
    out += master.column_text(0) + " " + master.column_text(1) + " " + master.column_text(2) +
           " " + master.column_text(3) + "\n";
  storage::sqlite_statement columns{
    db, "SELECT m.name, c.name, c.type, c.\"notnull\", coalesce(c.dflt_value, '-'), c.pk "
        "FROM sqlite_master m, pragma_table_info(m.name) c WHERE m.type = 'table' "
        "ORDER BY m.name, c.cid",
    "read columns"};
  while (columns.step())
    out += "column " + columns.column_text(0) + "." + columns.column_text(1) + " " +
           columns.column_text(2) + " " + columns.column_text(3) + " " +
           columns.column_text(4) + " " + columns.column_text(5) + "\n";
  return out;
}

class UnprepareCli : public ::testing::Test {
protected:
  void SetUp() override {
    sqlite_exec(sqlite_file_, "CREATE TABLE orders (id INTEGER PRIMARY KEY, note TEXT);"
                              "CREATE TABLE pairs (a TEXT, b INTEGER, PRIMARY KEY (a, b)) "
                              "WITHOUT ROWID;"
                              "INSERT INTO orders (id, note) VALUES (1, 'one'), (2, 'two');"
                              "INSERT INTO pairs VALUES ('x', 1)");
    pg_exec(pg_.url(), "CREATE TABLE orders (id bigint PRIMARY KEY, note text);"
                       "CREATE TABLE order_lines (order_id bigint, line_no int, qty int, "
                       "PRIMARY KEY (order_id, line_no));"
                       "INSERT INTO orders SELECT g, md5(g::text) FROM generate_series(1, 100) g");
  }

  std::string write_config() {
    auto path = dir_.path() / "agent.yaml";
    std::ofstream{path} << "server: {url: http://127.0.0.1:8080, client_id: acme, token: t0k}\n"
                           "databases:\n"
                           "  - name: store-01\n"
                           "    source: " << sqlite_url_ << "\n"
                           "    tables: [orders, pairs]\n"
                           "  - name: store-02\n"
                           "    source: " << pg_.url() << "\n"
                           "    tables:\n"
                           "      - orders\n"
                           "      - {name: order_lines, version_column: row_version}\n";
    return path.string();
  }

  run_result tidesync(std::vector<std::string> args) {
    return run_to_completion(TIDESYNC_BINARY, args, dir_.path());
  }

  temp_directory dir_;
  fs::path sqlite_file_ = dir_.path() / "store01.db";
  std::string sqlite_url_ = dir_.sqlite_url("store01.db");
  test_database pg_;
};

TEST_F(UnprepareCli, UnprepareWithDropColumnsLeavesTheCatalogAsItWasBeforePrepare) {
  auto config = write_config();
  auto pg_before = pg_catalog(pg_.url());
  auto sqlite_before = sqlite_catalog(sqlite_file_);
  auto prepared = tidesync({"prepare", "--config", config});
  ASSERT_EQ(prepared.exit_code, 0) << prepared.err;
  ASSERT_NE(pg_catalog(pg_.url()), pg_before);
  ASSERT_NE(sqlite_catalog(sqlite_file_), sqlite_before);

  auto removed = tidesync({"unprepare", "--config", config, "--drop-columns"});
  ASSERT_EQ(removed.exit_code, 0) << removed.err;
  EXPECT_TRUE(contains(removed.out, "store-01: removed version tracking (")) << removed.out;
  EXPECT_TRUE(contains(removed.out, "store-02: removed version tracking (")) << removed.out;
  EXPECT_EQ(pg_catalog(pg_.url()), pg_before);
  EXPECT_EQ(sqlite_catalog(sqlite_file_), sqlite_before);

  auto again = tidesync({"unprepare", "--config", config, "--drop-columns"});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(again.out, "store-01: nothing to remove\nstore-02: nothing to remove\n");
}

TEST_F(UnprepareCli, UnprepareKeepsTheColumnsAndWhatOtherTablesStillUse) {
  auto config = write_config();
  ASSERT_EQ(tidesync({"prepare", "--config", config}).exit_code, 0);
  auto dry = tidesync({"unprepare", "--config", config, "--table", "orders", "--dry-run"});
  ASSERT_EQ(dry.exit_code, 0) << dry.err;
  EXPECT_TRUE(contains(dry.out, "DROP TRIGGER tidesync_version ON \"orders\";\n")) << dry.out;
  auto unchanged = pg_catalog(pg_.url());

  auto removed = tidesync({"unprepare", "--config", config, "--table", "orders"});
  ASSERT_EQ(removed.exit_code, 0) << removed.err;
  auto pg_after = pg_catalog(pg_.url());
  EXPECT_NE(pg_after, unchanged);
  // order_lines still calls the functions; orders keeps its versions.
  EXPECT_TRUE(contains(pg_after, "function tidesync_set_version()\n")) << pg_after;
  EXPECT_TRUE(contains(pg_after, "trigger order_lines tidesync_version")) << pg_after;
  EXPECT_FALSE(contains(pg_after, "trigger orders tidesync_version")) << pg_after;
  EXPECT_TRUE(contains(pg_after, "column orders.tidesync_version bigint")) << pg_after;
  auto sqlite_after = sqlite_catalog(sqlite_file_);
  EXPECT_TRUE(contains(sqlite_after, "table tidesync_counter")) << sqlite_after;
  EXPECT_TRUE(contains(sqlite_after, "trigger tidesync_pairs_insert")) << sqlite_after;
  EXPECT_FALSE(contains(sqlite_after, "trigger tidesync_orders_insert")) << sqlite_after;

  auto rest = tidesync({"unprepare", "--config", config});
  ASSERT_EQ(rest.exit_code, 0) << rest.err;
  EXPECT_FALSE(contains(pg_catalog(pg_.url()), "tidesync_set_version"));
  EXPECT_FALSE(contains(sqlite_catalog(sqlite_file_), "tidesync_counter"));
}

TEST_F(UnprepareCli, UsageErrorsExitTwoAndHelpExitsZero) {
  const std::vector<std::vector<std::string>> misuses{
    {"unprepare"},
    {"unprepare", "--bogus"},
    {"unprepare", "--source", sqlite_url_},
    {"unprepare", "--config", write_config(), "--version-column", "v"},
    {"unprepare", "--source", sqlite_url_, "--table", "orders", "extra"}};
  for (const auto& args : misuses) {
    auto result = tidesync(args);
    EXPECT_EQ(result.exit_code, 2) << ::testing::PrintToString(args);
    EXPECT_TRUE(contains(result.err, "usage: tidesync unprepare")) << result.err;
  }
  auto help = tidesync({"unprepare", "--help"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_TRUE(contains(help.out, "--drop-columns")) << help.out;
  EXPECT_TRUE(contains(tidesync({"--help"}).out, "unprepare")) << "listed in the commands";
  auto missing = tidesync({"unprepare", "--source", pg_.url(), "--table", "no_such_table"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_TRUE(contains(missing.err, "no_such_table")) << missing.err;
}

TEST_F(UnprepareCli, DryRunPrintsTheStepsAndLeavesTheCatalogIdentical) {
  pg_exec(pg_.url(), "ALTER TABLE orders ADD COLUMN tidesync_version bigint");
  auto pg_before = pg_catalog(pg_.url());
  auto sqlite_before = sqlite_catalog(sqlite_file_);
  auto dry = tidesync({"prepare", "--config", write_config(), "--dry-run"});
  ASSERT_EQ(dry.exit_code, 0) << dry.err;
  EXPECT_TRUE(contains(dry.out, "-- orders: give existing rows a version, in short batches "
                                "(100 rows, the statement repeated in short batches)\n"))
    << dry.out;
  EXPECT_TRUE(contains(dry.out, "CREATE INDEX CONCURRENTLY \"tidesync_orders_version\""))
    << dry.out;
  EXPECT_TRUE(contains(dry.out, "ALTER TABLE \"order_lines\" ADD COLUMN \"row_version\" bigint "
                                "NOT NULL DEFAULT 1;\n"))
    << dry.out;
  EXPECT_EQ(pg_catalog(pg_.url()), pg_before);
  EXPECT_EQ(sqlite_catalog(sqlite_file_), sqlite_before);
  EXPECT_EQ(pg_int(pg_.url(), "SELECT count(*) FROM orders WHERE tidesync_version IS NULL"), 100);
}

// kill -9 in the middle of giving 400,000 rows a version, then an index build
// that died (a failed concurrent build leaves the same invalid index a killed
// one does): the next prepare finishes without duplicates or leftovers.
TEST_F(UnprepareCli, APrepareKilledMidwayFinishesWhenRunAgain) {
  pg_exec(pg_.url(), "CREATE TABLE big (id int PRIMARY KEY, note text, tidesync_version bigint);"
                     "INSERT INTO big SELECT g, md5(random()::text) FROM "
                     "generate_series(1, 400000) g");
  {
    child_process prepare{TIDESYNC_BINARY, {"prepare", "--source", pg_.url(), "--table", "big"},
                          dir_.path()};
    auto deadline = std::chrono::steady_clock::now() + scaled(60s);
    auto versioned = [&] {
      return pg_int(pg_.url(), "SELECT count(*) FROM big WHERE tidesync_version IS NOT NULL");
    };
    while (versioned() == 0 && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(20ms);
    prepare.signal(SIGKILL);
    EXPECT_EQ(prepare.wait(), 128 + SIGKILL);
  }
  auto left = pg_int(pg_.url(), "SELECT count(*) FROM big WHERE tidesync_version IS NULL");
  ASSERT_GT(left, 0) << "the kill came after the backfill: the test proves nothing";
  ASSERT_LT(left, 400000);

  pg_exec(pg_.url(), "UPDATE big SET note = 'dup' WHERE id < 3");
  EXPECT_THROW(pg_autocommit(pg_.url(), "CREATE UNIQUE INDEX CONCURRENTLY tidesync_big_version ON "
                                  "big (note)"),
               std::exception);
  ASSERT_EQ(pg_int(pg_.url(), "SELECT count(*) FROM pg_index WHERE indrelid = 'big'::regclass "
                              "AND NOT indisvalid"),
            1);

  auto resumed = tidesync({"prepare", "--source", pg_.url(), "--table", "big"});
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err << resumed.out;
  EXPECT_FALSE(contains(resumed.out, "add the version column")) << resumed.out;
  EXPECT_TRUE(contains(resumed.out, "gave ")) << resumed.out;
  EXPECT_TRUE(contains(resumed.out, "replace the version index")) << resumed.out;

  expect_fully_prepared(pg_.url(), "big");
  auto again = tidesync({"prepare", "--source", pg_.url(), "--table", "big"});
  EXPECT_TRUE(contains(again.out, ": big: already prepared\n")) << again.out;
}

} // namespace
} // namespace tidesync::testing
