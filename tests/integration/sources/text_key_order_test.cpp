// Text keys page in bytewise order on every source, whatever collation the
// database or column declares: sync/ compares key cells bytewise.
#include "storage/postgres_source.hpp"

#include "storage/source_sql.hpp"
#include "storage/sqlite_source.hpp"
#include "storage/version_tracking.hpp"
#include "tests/integration/sources/source_fixtures.hpp"
#include "tests/support/test_database.hpp"

#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include <unistd.h>

namespace tidesync::storage {
namespace {

using testing::pg_exec;
using testing::sqlite_exec;

// Inserted in one transaction so they share a version and only the key orders them.
const std::vector<std::string> mixed_case_keys{"a", "B", "b", "_", "Z"};
const std::vector<std::string> bytewise_keys{"B", "Z", "_", "a", "b"};

/// A database on the test cluster whose default collation is ICU English,
/// where "a" < "B" (bytewise "B" < "a"); dropped when the object goes away.
class icu_database {
public:
  icu_database() : name_("tidesync_test_icu_" + std::to_string(::getpid())) {
    auto cluster = tidesync::testing::test_database::cluster_url();
    admin("CREATE DATABASE " + name_ +
          " TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en' LOCALE 'C.UTF-8'");
    auto slash = cluster.find('/', cluster.find("://") + 3);
    auto query = cluster.find('?', slash);
    url_ = cluster.substr(0, slash + 1) + name_ +
           (query == std::string::npos ? "" : cluster.substr(query));
  }

  ~icu_database() { admin("DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)"); }

  icu_database(const icu_database&) = delete;
  icu_database& operator=(const icu_database&) = delete;

  const std::string& url() const { return url_; }

private:
  void admin(const std::string& sql) {
    pqxx::connection conn{tidesync::testing::test_database::cluster_url()};
    pqxx::nontransaction tx{conn};
    tx.exec(sql);
  }

  std::string name_;
  std::string url_;
};

std::string key_values(const std::vector<std::string>& keys) {
  std::string out;
  for (const auto& key : keys)
    out += (out.empty() ? "('" : ", ('") + key + "')";
  return out;
}

std::vector<std::string> first_cells(const std::vector<text_row>& rows) {
  std::vector<std::string> out;
  for (const auto& row : rows)
    out.push_back(row.at(0).value_or("NULL"));
  return out;
}

// Every key, read `page` at a time so each page starts after a text key.
std::vector<std::string> paged_keys(source& source, const std::string& table,
                                    const protocol::table_schema& schema, std::int64_t page) {
  std::vector<std::string> out;
  std::optional<row_position> after;
  for (;;) {
    auto keys = source.read_keys(table, schema, std::nullopt, std::nullopt, page, after);
    if (keys.empty())
      return out;
    after = row_position{keys.back().version, keys.back().key};
    for (const auto& key : keys)
      out.push_back(key.key.at(0));
  }
}

void expect_bytewise_pages(source& source, const std::string& table) {
  auto schema = source.describe(table, {}, "tidesync_version", std::nullopt);
  EXPECT_EQ(first_cells(testing::read_all_rows(source, table, schema, 2)), bytewise_keys)
    << table;
  EXPECT_EQ(paged_keys(source, table, schema, 2), bytewise_keys) << table;
  std::vector<key_cells> wanted;
  for (const auto& key : mixed_case_keys)
    wanted.push_back({key});
  EXPECT_EQ(first_cells(source.read_rows_by_keys(table, schema, wanted)), bytewise_keys)
    << table;
}

TEST(TextKeyOrder, PostgresPagesTextKeysBytewiseUnderAnIcuDefaultCollation) {
  icu_database db;
  pqxx::connection conn{db.url()};
  pqxx::nontransaction tx{conn};
  // The database's own order differs, or this test would prove nothing.
  ASSERT_EQ(tx.exec("SELECT 'a' < 'B'")[0][0].as<bool>(), true);
  pg_exec(db.url(), "CREATE TABLE labels (k text PRIMARY KEY);"
                    "CREATE TABLE codes (k varchar(8) PRIMARY KEY);"
                    "CREATE TABLE letters (k char(1) COLLATE \"und-x-icu\" PRIMARY KEY)");
  apply_version_tracking(db.url(), {testing::tracked("labels"), testing::tracked("codes"),
                                    testing::tracked("letters")});
  postgres_source source{db.url()};
  for (std::string table : {"labels", "codes", "letters"}) {
    pg_exec(db.url(), "INSERT INTO " + table + " (k) VALUES " + key_values(mixed_case_keys));
    expect_bytewise_pages(source, table);
  }
}

TEST(TextKeyOrder, PostgresPageQueriesOnTextKeysWalkTheVersionIndexWithoutSorting) {
  icu_database db;
  // Every row shares the backfilled version: only the key orders them.
  pg_exec(db.url(), "CREATE TABLE labels (k text PRIMARY KEY, note text);"
                    "INSERT INTO labels SELECT 'k' || g, 'x' FROM generate_series(1, 20000) g");
  apply_version_tracking(db.url(), {testing::tracked("labels")});
  pg_exec(db.url(), "ANALYZE labels");
  postgres_source source{db.url()};
  auto schema = source.describe("labels", {}, "tidesync_version", std::nullopt);
  auto version = std::stoll(*source.read_rows("labels", schema, std::nullopt, std::nullopt, 1)
                               .at(0).at(2));
  auto query = detail::page_query('$', "labels", schema, detail::page_select::rows,
                                  {row_position{version, {"k5"}}, std::nullopt, std::nullopt, 10});
  pqxx::connection conn{db.url()};
  pqxx::nontransaction tx{conn};
  std::string plan;
  for (const auto& row : tx.exec_params(
         "EXPLAIN " + query.sql, pqxx::prepare::make_dynamic_params(std::vector<std::string>{
                                   query.params[0].text, query.params[1].text,
                                   query.params[2].text})))
    plan += row[0].as<std::string>() + "\n";
  EXPECT_NE(plan.find("tidesync_labels_version"), std::string::npos) << plan;
  EXPECT_EQ(plan.find("Sort"), std::string::npos) << plan;
}

TEST(TextKeyOrder, PrepareReplacesAVersionIndexThatSortsTextInTheDefaultCollation) {
  icu_database db;
  pg_exec(db.url(), "CREATE TABLE labels (k text PRIMARY KEY)");
  apply_version_tracking(db.url(), {testing::tracked("labels")});
  // What an earlier prepare installed.
  pg_exec(db.url(), "DROP INDEX tidesync_labels_version;"
                    "CREATE INDEX tidesync_labels_version ON labels (tidesync_version, k)");
  auto plan = plan_version_tracking(db.url(), {testing::tracked("labels")});
  std::vector<std::string> expected{
    "DROP INDEX CONCURRENTLY \"tidesync_labels_version\"",
    "CREATE INDEX CONCURRENTLY \"tidesync_labels_version\" ON \"labels\" (\"tidesync_version\", \"k\" "
    "COLLATE \"C\")"};
  EXPECT_EQ(plan, expected);
  apply_version_tracking(db.url(), {testing::tracked("labels")});
  EXPECT_TRUE(plan_version_tracking(db.url(), {testing::tracked("labels")}).empty());
}

TEST(TextKeyOrder, SqlitePagesTextKeysBytewiseEvenWhenTheColumnIsNocase) {
  testing::temp_directory dir;
  auto file = dir.path() / "site.db";
  // NOCASE would reject "b" next to "B", so that table gets "c" instead. The
  // triggers version each row on its own: rows written before prepare share
  // the backfilled version.
  sqlite_exec(file, "CREATE TABLE labels (k TEXT PRIMARY KEY);"
                    "CREATE TABLE folded (k TEXT COLLATE NOCASE PRIMARY KEY);"
                    "INSERT INTO labels (k) VALUES " + key_values(mixed_case_keys) +
                      "; INSERT INTO folded (k) VALUES ('a'), ('B'), ('c'), ('_'), ('Z')");
  apply_version_tracking(dir.sqlite_url("site.db"),
                         {testing::tracked("labels"), testing::tracked("folded")});
  sqlite_source source{file.string()};
  expect_bytewise_pages(source, "labels");
  auto schema = source.describe("folded", {}, "tidesync_version", std::nullopt);
  std::vector<std::string> expected{"B", "Z", "_", "a", "c"};
  EXPECT_EQ(first_cells(testing::read_all_rows(source, "folded", schema, 2)), expected);
  EXPECT_EQ(paged_keys(source, "folded", schema, 2), expected);
}

} // namespace
} // namespace tidesync::storage
