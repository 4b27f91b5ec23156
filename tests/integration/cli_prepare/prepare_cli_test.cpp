// The built `tidesync prepare` as an operator runs it, on a real SQLite file
// and a real PostgreSQL database.
#include "storage/sqlite_db.hpp"
#include "tests/integration/sources/source_fixtures.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/test_database.hpp"

#include <gtest/gtest.h>
#include <pqxx/pqxx>
#include <sqlite3.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <unistd.h>

namespace tidesync::testing {
namespace {

namespace fs = std::filesystem;

bool sqlite_has_column(const fs::path& file, const std::string& table, const std::string& column) {
  storage::sqlite_db db{file.string(), SQLITE_OPEN_READONLY};
  storage::sqlite_statement st{db, "SELECT 1 FROM pragma_table_info(?1) WHERE name = ?2",
                               "inspect columns"};
  st.bind_text(1, table);
  st.bind_text(2, column);
  return st.step();
}

bool pg_has_column(const std::string& url, const std::string& table, const std::string& column) {
  pqxx::connection conn{url};
  pqxx::nontransaction tx{conn};
  return !tx.exec_params("SELECT 1 FROM information_schema.columns WHERE table_name = $1 "
                         "AND column_name = $2",
                         table, column)
            .empty();
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

class PrepareCli : public ::testing::Test {
protected:
  void SetUp() override {
    sqlite_exec(sqlite_file_, "CREATE TABLE orders (id INTEGER PRIMARY KEY, note TEXT);"
                              "INSERT INTO orders (id, note) VALUES (1, 'one'), (2, 'two')");
    pg_exec(pg_.url(), "CREATE TABLE orders (id bigint PRIMARY KEY, note text);"
                       "CREATE TABLE order_lines (order_id bigint, line_no int, qty int, "
                       "PRIMARY KEY (order_id, line_no));"
                       "INSERT INTO orders VALUES (1, 'one'), (2, 'two')");
  }

  /// An agent configuration with store-01 on the SQLite file and store-02 on PostgreSQL.
  std::string write_config(const std::string& sqlite_tables = "[orders]",
                           const std::string& token = "t0k") {
    auto path = dir_.path() / "agent.yaml";
    std::ofstream{path} << "server: {url: http://127.0.0.1:8080, client_id: acme, token: " << token
                        << "}\n"
                           "databases:\n"
                           "  - name: store-01\n"
                           "    source: " << sqlite_url_ << "\n"
                           "    tables: " << sqlite_tables << "\n"
                           "  - name: store-02\n"
                           "    source: " << pg_.url() << "\n"
                           "    tables:\n"
                           "      - orders\n"
                           "      - {name: order_lines, version_column: row_version}\n";
    return path.string();
  }

  run_result prepare(std::vector<std::string> args) {
    args.insert(args.begin(), "prepare");
    return run_to_completion(TIDESYNC_BINARY, args, dir_.path());
  }

  temp_directory dir_;
  fs::path sqlite_file_ = dir_.path() / "store01.db";
  std::string sqlite_url_ = dir_.sqlite_url("store01.db");
  test_database pg_;
};

TEST_F(PrepareCli, DryRunPrintsEveryStatementAndChangesNothing) {
  auto result = prepare({"--config", write_config(), "--dry-run"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_TRUE(contains(result.out, "-- store-01: ")) << result.out;
  EXPECT_TRUE(contains(result.out, "ALTER TABLE \"orders\" ADD COLUMN \"tidesync_version\" "
                                   "INTEGER DEFAULT 1;\n"))
    << result.out;
  EXPECT_TRUE(contains(result.out, "ALTER TABLE \"order_lines\" ADD COLUMN \"row_version\" "
                                   "bigint NOT NULL DEFAULT 1;\n"))
    << result.out;
  // The trigger function spans lines; it too ends with a semicolon.
  EXPECT_TRUE(contains(result.out, "$$;\n")) << result.out;
  EXPECT_FALSE(sqlite_has_column(sqlite_file_, "orders", "tidesync_version"));
  EXPECT_FALSE(pg_has_column(pg_.url(), "orders", "tidesync_version"));
  EXPECT_FALSE(pg_has_column(pg_.url(), "order_lines", "row_version"));
  EXPECT_EQ(prepare({"--config", write_config(), "--dry-run"}).out, result.out);
}

TEST_F(PrepareCli, PrepareInstallsVersionTrackingAndASecondRunSaysAlreadyPrepared) {
  auto first = prepare({"--config", write_config()});
  ASSERT_EQ(first.exit_code, 0) << first.err;
  EXPECT_TRUE(contains(first.out, "store-01: orders: installed version tracking (")) << first.out;
  EXPECT_TRUE(contains(first.out, "store-02: orders: installed version tracking (")) << first.out;
  EXPECT_TRUE(contains(first.out, "store-02: order_lines: installed version tracking ("))
    << first.out;
  EXPECT_TRUE(sqlite_has_column(sqlite_file_, "orders", "tidesync_version"));
  EXPECT_TRUE(pg_has_column(pg_.url(), "orders", "tidesync_version"));
  EXPECT_TRUE(pg_has_column(pg_.url(), "order_lines", "row_version"));

  auto second = prepare({"--config", write_config()});
  ASSERT_EQ(second.exit_code, 0) << second.err;
  EXPECT_EQ(second.out, "store-01: orders: already prepared\n"
                        "store-02: orders: already prepared\n"
                        "store-02: order_lines: already prepared\n");
  auto dry_run = prepare({"--config", write_config(), "--dry-run"});
  EXPECT_EQ(dry_run.out, "-- store-01: already prepared\n-- store-02: already prepared\n");
}

TEST_F(PrepareCli, AnUnsetTokenVariableDoesNotStopPrepareButStillStopsStatus) {
  // The order of work on a new site: prepare the database, then issue the token.
  ::unsetenv("TIDESYNC_TEST_PREPARE_TOKEN");
  auto config = write_config("[orders]", "\"${TIDESYNC_TEST_PREPARE_TOKEN}\"");
  auto result = prepare({"--config", config});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_TRUE(contains(result.out, "store-01: orders: installed version tracking (")) << result.out;
  EXPECT_TRUE(contains(result.out, "store-02: order_lines: installed version tracking ("))
    << result.out;
  EXPECT_TRUE(sqlite_has_column(sqlite_file_, "orders", "tidesync_version"));
  EXPECT_TRUE(pg_has_column(pg_.url(), "order_lines", "row_version"));

  auto status = run_to_completion(TIDESYNC_BINARY, {"status", "--config", config}, dir_.path());
  EXPECT_EQ(status.exit_code, 1);
  EXPECT_TRUE(contains(status.err, "agent.yaml:1: server.token: environment variable "
                                   "TIDESYNC_TEST_PREPARE_TOKEN is not set"))
    << status.err;
}

// The test cluster allows prepared transactions (scripts/pg-cluster), as a
// site whose application commits in two phases must.
TEST_F(PrepareCli, AServerThatAllowsTwoPhaseCommitGetsAWarningNamingTheSetting) {
  ASSERT_GT(pg_int(pg_.url(), "SELECT current_setting('max_prepared_transactions')::int"), 0);
  auto result = prepare({"--config", write_config()});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_TRUE(contains(result.err, "tidesync prepare: store-02: warning: this server allows "
                                   "two-phase commit (max_prepared_transactions = "))
    << result.err;
  EXPECT_TRUE(contains(result.err, "ALTER ROLE <role> SET tidesync.notify = 'off'")) << result.err;
  EXPECT_FALSE(contains(result.err, "store-01")) << "a SQLite file has no two-phase commit";
  auto dry = prepare({"--config", write_config(), "--dry-run"});
  EXPECT_TRUE(contains(dry.err, "store-02: warning: this server allows two-phase commit"))
    << dry.err;
}

TEST_F(PrepareCli, SourceAndTablesOnTheCommandLinePrepareThoseTablesOnly) {
  auto result = prepare({"--source", pg_.url(), "--table", "order_lines", "--version-column",
                         "row_version"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_TRUE(contains(result.out, ": order_lines: installed version tracking (")) << result.out;
  EXPECT_FALSE(contains(result.out, "postgres@")) << "credentials in the output: " << result.out;
  EXPECT_TRUE(pg_has_column(pg_.url(), "order_lines", "row_version"));
  EXPECT_FALSE(pg_has_column(pg_.url(), "orders", "row_version"));
}

TEST_F(PrepareCli, AMissingTableExitsOneNamesItAndChangesNothing) {
  auto result = prepare({"--source", sqlite_url_, "--table", "orders", "--table", "no_such_table"});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_TRUE(contains(result.err, "no_such_table")) << result.err;
  EXPECT_FALSE(sqlite_has_column(sqlite_file_, "orders", "tidesync_version"));

  auto from_pg = prepare({"--source", pg_.url(), "--table", "no_such_table", "--dry-run"});
  EXPECT_EQ(from_pg.exit_code, 1);
  EXPECT_TRUE(contains(from_pg.err, "no_such_table")) << from_pg.err;
}

// A column of a type tidesync doesn't replicate: prepare and --dry-run name
// the table, the column and its type, say what to do, exit 1 and change
// nothing in that database; excluded in the configuration, it prepares.
TEST_F(PrepareCli, AnUnreplicableColumnIsNamedBeforeAnythingChanges) {
  sqlite_exec(sqlite_file_, "CREATE TABLE shifts (id INTEGER PRIMARY KEY, starts TIME, note TEXT)");
  for (const auto* dry : {"--dry-run", ""}) {
    std::vector<std::string> args{"--config", write_config("[orders, shifts]")};
    if (*dry)
      args.push_back(dry);
    auto result = prepare(args);
    EXPECT_EQ(result.exit_code, 1) << dry << "\n" << result.out;
    EXPECT_TRUE(contains(result.err, "store-01: table shifts in ")) << result.err;
    EXPECT_TRUE(contains(result.err, "a column of a type tidesync can't replicate: starts (TIME)"))
        << result.err;
    EXPECT_TRUE(contains(result.err, "`exclude_columns: [starts]`")) << result.err;
    EXPECT_FALSE(contains(result.out, "-- store-01: ")) << "planned anyway: " << result.out;
    EXPECT_FALSE(sqlite_has_column(sqlite_file_, "orders", "tidesync_version")) << dry;
    EXPECT_FALSE(sqlite_has_column(sqlite_file_, "shifts", "tidesync_version")) << dry;
  }
  pg_exec(pg_.url(), "CREATE TABLE shifts (id bigint PRIMARY KEY, span interval, tags text[])");
  auto from_pg = prepare({"--source", pg_.url(), "--table", "shifts", "--dry-run"});
  EXPECT_EQ(from_pg.exit_code, 1);
  EXPECT_TRUE(contains(from_pg.err, "2 columns of a type tidesync can't replicate: span "
                                    "(interval), tags (text[])"))
      << from_pg.err;

  // An enum named like a built-in type is still an enum.
  pg_exec(pg_.url(), "CREATE TYPE public.int8 AS ENUM ('x', 'y'); "
                     "CREATE TABLE shadowed (id bigint PRIMARY KEY, s public.int8)");
  auto shadowed = prepare({"--source", pg_.url(), "--table", "shadowed", "--dry-run"});
  EXPECT_EQ(shadowed.exit_code, 1);
  EXPECT_TRUE(contains(shadowed.err, "s (public.int8)")) << shadowed.err;

  // The key found from the primary key can't be excluded either, before any change.
  auto key = prepare({"--config", write_config("[orders, {name: shifts, exclude_columns: "
                                               "[starts, id]}]")});
  EXPECT_EQ(key.exit_code, 1);
  EXPECT_TRUE(contains(key.err, "exclude_columns names id, a key column of table shifts"))
      << key.err;
  EXPECT_FALSE(sqlite_has_column(sqlite_file_, "orders", "tidesync_version"));

  auto excluded = prepare({"--config", write_config("[orders, {name: shifts, exclude_columns: "
                                                    "[starts]}]")});
  EXPECT_EQ(excluded.exit_code, 0) << excluded.err;
  EXPECT_TRUE(sqlite_has_column(sqlite_file_, "shifts", "tidesync_version"));
}

TEST_F(PrepareCli, ADatabaseThatFailsDoesNotStopTheOthers) {
  auto result = prepare({"--config", write_config("[orders, no_such_table]")});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_TRUE(contains(result.err, "store-01")) << result.err;
  EXPECT_TRUE(contains(result.err, "no_such_table")) << result.err;
  EXPECT_FALSE(sqlite_has_column(sqlite_file_, "orders", "tidesync_version"));
  EXPECT_TRUE(contains(result.out, "store-02: orders: installed version tracking (")) << result.out;
}

TEST_F(PrepareCli, AnUnreadableConfigurationExitsOneNamingTheFile) {
  auto missing = (dir_.path() / "absent.yaml").string();
  auto result = prepare({"--config", missing});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_TRUE(contains(result.err, "absent.yaml")) << result.err;
}

TEST_F(PrepareCli, UsageErrorsExitTwoAndHelpExitsZero) {
  auto config = write_config();
  const std::vector<std::vector<std::string>> misuses{
    {"--bogus"},
    {},
    {"--source", sqlite_url_},
    {"--config", config, "--source", sqlite_url_, "--table", "orders"},
    {"--config", config, "--table", "orders"},
    {"--source"},
    {"--source", sqlite_url_, "--table", "orders", "extra"}};
  for (const auto& args : misuses) {
    auto result = prepare(args);
    EXPECT_EQ(result.exit_code, 2) << ::testing::PrintToString(args);
    EXPECT_TRUE(contains(result.err, "usage: tidesync prepare")) << result.err;
  }
  EXPECT_TRUE(contains(prepare({"--bogus"}).err, "unknown option '--bogus'"));
  auto help = prepare({"--help"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_TRUE(contains(help.out, "usage: tidesync prepare")) << help.out;
  EXPECT_FALSE(sqlite_has_column(sqlite_file_, "orders", "tidesync_version"));
}

} // namespace
} // namespace tidesync::testing
