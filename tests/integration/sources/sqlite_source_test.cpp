#include "storage/sqlite_source.hpp"

#include "storage/source_sql.hpp"
#include "storage/sqlite_db.hpp"
#include "storage/version_tracking.hpp"
#include "tests/integration/sources/source_fixtures.hpp"

#include <gtest/gtest.h>

#include <set>
#include <sqlite3.h>

namespace tidesync::storage {
namespace {

using protocol::column_type;
using testing::sqlite_exec;

class SqliteSource : public ::testing::Test {
protected:
  void run(const std::string& sql) { sqlite_exec(file_, sql); }

  void prepare(const std::string& table, std::vector<std::string> key = {}) {
    apply_version_tracking(url_, {testing::tracked(table, std::move(key))});
  }

  sqlite_source& source() {
    if (!source_)
      source_ = std::make_unique<sqlite_source>(file_.string());
    return *source_;
  }

  protocol::table_schema describe(const std::string& table,
                                  const std::vector<std::string>& key = {}) {
    return source().describe(table, key, "tidesync_version", std::nullopt);
  }

  std::string describe_error(const std::string& table) {
    try {
      describe(table);
    } catch (const storage_error& e) {
      return e.what();
    }
    return "no error";
  }

  testing::temp_directory dir_;
  std::filesystem::path file_ = dir_.path() / "site.db";
  std::string url_ = dir_.sqlite_url("site.db");
  std::unique_ptr<sqlite_source> source_;
};

TEST_F(SqliteSource, DescribeMapsDeclaredTypesByName) {
  run("CREATE TABLE every_type (id INTEGER PRIMARY KEY, big BIGINT NOT NULL, r REAL, "
      "d DOUBLE, f FLOAT, t TEXT, vc VARCHAR(20), c CHAR(3), bl BLOB, n NUMERIC, "
      "dec DECIMAL(10,2), b BOOLEAN, dt DATE, dtm DATETIME, ts TIMESTAMP, u UUID, j JSON)");
  prepare("every_type");
  auto schema = describe("every_type");
  std::vector<protocol::column_def> expected{
    {"id", column_type::bigint, false},           {"big", column_type::bigint, false},
    {"r", column_type::double_precision, true},   {"d", column_type::double_precision, true},
    {"f", column_type::double_precision, true},   {"t", column_type::text, true},
    {"vc", column_type::text, true},              {"c", column_type::text, true},
    {"bl", column_type::bytea, true},             {"n", column_type::numeric, true},
    {"dec", column_type::numeric, true},          {"b", column_type::boolean, true},
    {"dt", column_type::date, true},              {"dtm", column_type::timestamp, true},
    {"ts", column_type::timestamp, true},         {"u", column_type::uuid, true},
    {"j", column_type::json, true},               {"tidesync_version", column_type::bigint, false}};
  EXPECT_EQ(schema.columns, expected);
  EXPECT_EQ(schema.key, std::vector<std::string>{"id"});
}

TEST_F(SqliteSource, DescribeKeepsCompositeKeyOrderAndMarksKeyColumnsNotNull) {
  run("CREATE TABLE composite (a TEXT, b UUID, c NUMERIC, PRIMARY KEY (c, a, b))");
  prepare("composite");
  auto schema = describe("composite");
  EXPECT_EQ(schema.key, (std::vector<std::string>{"c", "a", "b"}));
  EXPECT_FALSE(schema.find("a")->nullable);
}

TEST_F(SqliteSource, DescribeExplainsMissingKeysTablesVersionsAndTypes) {
  run("CREATE TABLE loose (code TEXT NOT NULL); CREATE TABLE plain (id INTEGER PRIMARY KEY);"
      "CREATE TABLE odd (id INTEGER PRIMARY KEY)");
  prepare("loose", {"code"});
  prepare("odd");
  run("ALTER TABLE odd ADD COLUMN anything"); // no declared type: no replicable one
  EXPECT_NE(describe_error("loose").find("key:"), std::string::npos);
  EXPECT_EQ(describe("loose", {"code"}).key, std::vector<std::string>{"code"});
  EXPECT_NE(describe_error("plain").find("run `tidesync prepare`"), std::string::npos);
  EXPECT_NE(describe_error("nowhere").find("not found"), std::string::npos);
  auto odd = describe_error("odd");
  EXPECT_NE(odd.find("table odd in "), std::string::npos) << odd;
  EXPECT_NE(odd.find("anything (no declared type)"), std::string::npos) << odd;
}

TEST_F(SqliteSource, ReadRowsPagesThroughEveryRowExactlyOnceInVersionAndKeyOrder) {
  run("CREATE TABLE items (grp INTEGER, name TEXT, qty INTEGER, PRIMARY KEY (grp, name))");
  run("WITH RECURSIVE g(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM g WHERE x < 900) "
      "INSERT INTO items SELECT x % 7, 'n' || x, x FROM g");
  prepare("items");  // the backfill gives these 900 rows one shared version
  run("WITH RECURSIVE g(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM g WHERE x < 300) "
      "INSERT INTO items (grp, name, qty) SELECT x % 5, 'm' || x, x FROM g");
  run("UPDATE items SET qty = qty + 1 WHERE grp = 3 AND name LIKE 'n1%'");
  auto schema = describe("items");
  auto rows = testing::read_all_rows(source(), "items", schema, 97);
  ASSERT_EQ(rows.size(), 1200u);
  std::set<std::pair<std::string, std::string>> keys;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    keys.emplace(*rows[i][0], *rows[i][1]);
    if (i == 0)
      continue;
    auto previous = position_of(schema, rows[i - 1]);
    auto current = position_of(schema, rows[i]);
    auto key_of = [](const row_position& p) {
      return std::make_pair(std::stoll(p.key[0]), p.key[1]);
    };
    ASSERT_TRUE(previous.version < current.version ||
                (previous.version == current.version && key_of(previous) < key_of(current)))
      << "row " << i;
  }
  EXPECT_EQ(keys.size(), 1200u);
}

TEST_F(SqliteSource, ReadRowsGivesTheTextPostgresWouldPrint) {
  run("CREATE TABLE every_type (id INTEGER PRIMARY KEY, r REAL, t TEXT, bl BLOB, b BOOLEAN, "
      "n NUMERIC, j JSON, ts DATETIME)");
  prepare("every_type");
  run("INSERT INTO every_type (id, r, t, bl, b, n, j, ts) VALUES (9223372036854775807, 0.1, 'grüße 🌊', x'00FF0a', 1, "
      "'12.50', '{\"a\": [1, 2]}', '2024-02-29 13:45:01.123456');"
      "INSERT INTO every_type (id, r, t, bl, b, n, j, ts) VALUES (-9223372036854775808, 1e300, '', x'', 0, 12, NULL, NULL);"
      "INSERT INTO every_type (id, r, t, bl, b, n, j, ts) VALUES (0, 9e999, NULL, NULL, NULL, 1.5, NULL, NULL);"
      "INSERT INTO every_type (id, r, t, bl, b, n, j, ts) VALUES (1, -9e999, NULL, NULL, NULL, NULL, NULL, NULL)");
  auto schema = describe("every_type");
  auto rows = source().read_rows("every_type", schema, std::nullopt, std::nullopt, 10);
  ASSERT_EQ(rows.size(), 4u);
  testing::expect_wire_round_trip(schema, rows);
  for (auto& row : rows)
    row.pop_back();  // the version
  EXPECT_EQ(rows[0], (text_row{"9223372036854775807", "0.1", "grüße 🌊", "\\x00ff0a", "t",
                               "12.5", "{\"a\": [1, 2]}", "2024-02-29 13:45:01.123456"}));
  EXPECT_EQ(rows[1], (text_row{"-9223372036854775808", "1e+300", "", "\\x", "f", "12",
                               std::nullopt, std::nullopt}));
  EXPECT_EQ(rows[2], (text_row{"0", "Infinity", std::nullopt, std::nullopt, std::nullopt, "1.5",
                               std::nullopt, std::nullopt}));
  EXPECT_EQ(rows[3][1], "-Infinity");
}

TEST_F(SqliteSource, KeysOfEveryKindFindTheirRowsAgain) {
  run("CREATE TABLE keyed (k BLOB, r REAL, b BOOLEAN, t TEXT, note TEXT, "
      "PRIMARY KEY (k, r, b, t))");
  prepare("keyed");
  run("INSERT INTO keyed (k, r, b, t, note) VALUES (x'00ff', 0.1, 1, 'ä', 'one'), (x'01', -2.5, 0, 'b', 'two')");
  auto schema = describe("keyed");
  auto keys = source().read_keys("keyed", schema, std::nullopt, std::nullopt, 10, std::nullopt);
  ASSERT_EQ(keys.size(), 2u);
  EXPECT_EQ(keys[0].key, (key_cells{"\\x00ff", "0.1", "t", "ä"}));
  auto rows = source().read_rows_by_keys("keyed", schema, {keys[1].key, keys[0].key});
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0][4], "one");
  EXPECT_EQ(rows[1][4], "two");
  auto after = source().read_rows("keyed", schema, row_position{keys[0].version, keys[0].key},
                                  std::nullopt, 10);
  ASSERT_EQ(after.size(), 1u);
  EXPECT_EQ(after[0][4], "two");
  EXPECT_THROW(source().read_rows("keyed", schema, std::nullopt, std::nullopt, -1),
               storage_error);
  EXPECT_THROW(source().read_rows_by_keys("keyed", schema, {{"\\x00"}}), storage_error);
}

TEST_F(SqliteSource, SummaryAndSafeVersionFollowTheCounter) {
  run("CREATE TABLE orders (id INTEGER PRIMARY KEY, changed DATETIME)");
  prepare("orders");
  auto schema = source().describe("orders", {}, "tidesync_version", std::string{"changed"});
  EXPECT_EQ(source().summary("orders", schema).count, 0);
  run("INSERT INTO orders (id, changed) VALUES (1, '2024-01-01 00:00:00'), (2, '2024-03-01 10:00:00')");
  auto summary = source().summary("orders", schema);
  EXPECT_EQ(summary.count, 2);
  ASSERT_TRUE(summary.max_version);
  EXPECT_EQ(summary.max_modified, "2024-03-01 10:00:00");
  EXPECT_EQ(source().safe_version(), *summary.max_version + 1);
}

TEST_F(SqliteSource, EveryPageQueryWalksTheVersionIndexWithoutSorting) {
  run("CREATE TABLE items (grp INTEGER, name TEXT, qty INTEGER, PRIMARY KEY (grp, name))");
  run("WITH RECURSIVE g(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM g WHERE x < 2000) "
      "INSERT INTO items SELECT x % 7, 'n' || x, x FROM g");
  prepare("items");
  run("ANALYZE");
  auto schema = describe("items");
  row_position position{1, {"3", "n77"}};
  std::vector<detail::page_bounds> all_bounds{
    {std::nullopt, std::nullopt, std::nullopt, 10}, {position, std::nullopt, std::nullopt, 10},
    {std::nullopt, 1, std::nullopt, 10},            {position, 1, std::nullopt, 10},
    {position, 2, 5, 10},                           {std::nullopt, 1, 5, 10},
    {position, std::nullopt, 5, 10},                {std::nullopt, std::nullopt, 5, 10}};
  sqlite_db db{file_.string(), SQLITE_OPEN_READONLY};
  for (auto select : {detail::page_select::rows, detail::page_select::keys}) {
    for (const auto& bounds : all_bounds) {
      auto query = detail::page_query('?', "items", schema, select, bounds);
      sqlite_statement plan{db, "EXPLAIN QUERY PLAN " + query.sql, "explain"};
      std::string details;
      while (plan.step())
        details += plan.column_text(3) + "\n";
      EXPECT_NE(details.find("INDEX tidesync_items_version"), std::string::npos)
        << query.sql << "\n" << details;
      EXPECT_EQ(details.find("TEMP B-TREE"), std::string::npos) << query.sql << "\n" << details;
    }
  }
}

TEST_F(SqliteSource, AMissingFileIsReportedWithItsPath) {
  try {
    sqlite_source missing{(dir_.path() / "absent.db").string()};
    FAIL() << "expected an error";
  } catch (const storage_error& e) {
    EXPECT_NE(std::string{e.what()}.find("absent.db"), std::string::npos);
  }
  run("SELECT 1");
  EXPECT_EQ(open_source(url_)->kind(), "sqlite");
}

} // namespace
} // namespace tidesync::storage
