#include "storage/postgres_source.hpp"

#include "storage/sqlite_source.hpp"
#include "storage/version_tracking.hpp"
#include "tests/integration/sources/source_fixtures.hpp"
#include "tests/support/test_database.hpp"
#include "tests/support/time_scale.hpp"

#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <set>
#include <thread>

namespace tidesync::storage {
namespace {

using protocol::column_type;
using testing::pg_exec;

class PostgresSource : public ::testing::Test {
protected:
  void prepare(const std::string& table, std::vector<std::string> key = {}) {
    apply_version_tracking(db_.url(), {testing::tracked(table, std::move(key))});
  }

  protocol::table_schema describe(const std::string& table,
                                  const std::vector<std::string>& key = {}) {
    return source_.describe(table, key, "tidesync_version", std::nullopt);
  }

  std::string describe_error(const std::string& table, const std::vector<std::string>& key = {}) {
    try {
      describe(table, key);
    } catch (const storage_error& e) {
      return e.what();
    }
    return "no error";
  }

  testing::test_database db_;
  postgres_source source_{db_.url()};
};

TEST_F(PostgresSource, DescribeMapsEverySupportedTypeWithNullability) {
  pg_exec(db_.url(), "CREATE TABLE every_type (id bigint PRIMARY KEY, s smallint NOT NULL, "
                     "i integer, n numeric(10,2), r real, d double precision, b boolean, "
                     "t text, vc varchar(20), c char(3), by bytea, dt date, ts timestamp, "
                     "tz timestamptz, u uuid, j json, jb jsonb)");
  prepare("every_type");
  auto schema = describe("every_type");
  std::vector<protocol::column_def> expected{
    {"id", column_type::bigint, false},         {"s", column_type::smallint, false},
    {"i", column_type::integer, true},          {"n", column_type::numeric, true},
    {"r", column_type::real, true},             {"d", column_type::double_precision, true},
    {"b", column_type::boolean, true},          {"t", column_type::text, true},
    {"vc", column_type::text, true},            {"c", column_type::text, true},
    {"by", column_type::bytea, true},           {"dt", column_type::date, true},
    {"ts", column_type::timestamp, true},       {"tz", column_type::timestamptz, true},
    {"u", column_type::uuid, true},             {"j", column_type::json, true},
    {"jb", column_type::jsonb, true},           {"tidesync_version", column_type::bigint, false}};
  EXPECT_EQ(schema.columns, expected);
  EXPECT_EQ(schema.key, std::vector<std::string>{"id"});
  EXPECT_EQ(schema.version_column, "tidesync_version");
}

TEST_F(PostgresSource, AReadOfATableTheSiteHoldsLockedGivesUpAsBusyAndWorksOnceReleased) {
  pg_exec(db_.url(), "CREATE TABLE held (id int PRIMARY KEY, note text)");
  prepare("held");
  auto schema = describe("held");
  pg_exec(db_.url(), "INSERT INTO held (id, note) VALUES (1, 'one')");
  {
    pqxx::connection holder{db_.url()};
    pqxx::work lock{holder};
    lock.exec("LOCK TABLE held IN ACCESS EXCLUSIVE MODE");
    auto started = std::chrono::steady_clock::now();
    try {
      source_.summary("held", schema);
      ADD_FAILURE() << "a read of a locked table returned";
    } catch (const storage_error& e) {
      EXPECT_EQ(e.code(), storage_errc::unavailable) << e.what();
      EXPECT_NE(std::string{e.what()}.find("lock timeout"), std::string::npos) << e.what();
    }
    // lock_timeout is 5 s: the worker is held that long, not until the lock goes.
    EXPECT_LT(std::chrono::steady_clock::now() - started, testing::scaled(std::chrono::seconds(15)));
  }
  EXPECT_EQ(source_.summary("held", schema).count, 1);
}

TEST_F(PostgresSource, DescribeKeepsTheOrderOfCompositeTextUuidAndNumericKeys) {
  pg_exec(db_.url(), "CREATE TABLE composite (a uuid, b text, c numeric, note text, "
                     "PRIMARY KEY (c, b, a))");
  prepare("composite");
  auto schema = describe("composite");
  EXPECT_EQ(schema.key, (std::vector<std::string>{"c", "b", "a"}));
  EXPECT_EQ(schema.find("a")->type, column_type::uuid);
  EXPECT_FALSE(schema.find("a")->nullable);
}

TEST_F(PostgresSource, DescribeWithoutPrimaryKeyAsksForAKeyInTheConfiguration) {
  pg_exec(db_.url(), "CREATE TABLE loose (code text NOT NULL, note text)");
  prepare("loose", {"code"});
  auto message = describe_error("loose");
  EXPECT_NE(message.find("no primary key"), std::string::npos) << message;
  EXPECT_NE(message.find("key:"), std::string::npos) << message;
  EXPECT_EQ(describe("loose", {"code"}).key, std::vector<std::string>{"code"});
}

TEST_F(PostgresSource, DescribeRefusesAKeyOverrideThatAllowsNullOrDoesNotExist) {
  pg_exec(db_.url(), "CREATE TABLE loose (code text, note text)");
  prepare("loose", {"code"});
  EXPECT_NE(describe_error("loose", {"code"}).find("allows NULL"), std::string::npos);
  EXPECT_NE(describe_error("loose", {"nope"}).find("does not exist"), std::string::npos);
}

TEST_F(PostgresSource, DescribeOfAMissingTableOrVersionColumnSaysWhatToDo) {
  auto missing = describe_error("nowhere");
  EXPECT_NE(missing.find("nowhere"), std::string::npos) << missing;
  EXPECT_NE(missing.find("not found"), std::string::npos) << missing;
  pg_exec(db_.url(), "CREATE TABLE unprepared (id int PRIMARY KEY)");
  auto unprepared = describe_error("unprepared");
  EXPECT_NE(unprepared.find("run `tidesync prepare`"), std::string::npos) << unprepared;
}

// prepare refuses such a column; one added after prepare is named by describe.
TEST_F(PostgresSource, DescribeNamesTableAndColumnOfAnUnsupportedType) {
  pg_exec(db_.url(), "CREATE TABLE odd (id int PRIMARY KEY)");
  prepare("odd");
  pg_exec(db_.url(), "ALTER TABLE odd ADD COLUMN span interval");
  auto message = describe_error("odd");
  EXPECT_NE(message.find("table odd in "), std::string::npos) << message;
  EXPECT_NE(message.find("span (interval)"), std::string::npos) << message;
  EXPECT_NE(message.find("exclude_columns: [span]"), std::string::npos) << message;
}

TEST_F(PostgresSource, DescribeRefusesNamesThatAreNotIdentifiers) {
  try {
    describe("orders; DROP TABLE x");
    FAIL() << "expected an error";
  } catch (const storage_error& e) {
    EXPECT_EQ(e.code(), storage_errc::invalid);
  }
}

TEST_F(PostgresSource, SummaryReportsCountMaxVersionAndMaxModified) {
  pg_exec(db_.url(), "CREATE TABLE orders (id int PRIMARY KEY, changed timestamptz)");
  prepare("orders");
  auto schema = source_.describe("orders", {}, "tidesync_version", std::string{"changed"});
  EXPECT_EQ(source_.summary("orders", schema), protocol::table_version{});
  pg_exec(db_.url(), "INSERT INTO orders VALUES (1, '2024-02-29 13:45:01.5+00'), (2, NULL)");
  pg_exec(db_.url(), "INSERT INTO orders VALUES (3, '2023-01-01 00:00:00+00')");
  auto summary = source_.summary("orders", schema);
  EXPECT_EQ(summary.count, 3);
  pqxx::connection conn{db_.url()};
  pqxx::nontransaction tx{conn};
  EXPECT_EQ(summary.max_version,
            tx.exec("SELECT max(tidesync_version) FROM orders")[0][0].as<std::int64_t>());
  EXPECT_EQ(summary.max_modified, "2024-02-29 13:45:01.5+00");
}

TEST_F(PostgresSource, ReadRowsPagesThroughEveryRowExactlyOnceInVersionAndKeyOrder) {
  pg_exec(db_.url(), "CREATE TABLE items (grp int, name text, qty int, PRIMARY KEY (grp, name))");
  prepare("items");
  // Five transactions of 400 rows: rows of one transaction share a version.
  for (int batch = 0; batch < 5; ++batch)
    pg_exec(db_.url(), "INSERT INTO items SELECT g % 7, 'n' || g || '-" + std::to_string(batch) +
                         "', g FROM generate_series(1, 400) g");
  pg_exec(db_.url(), "UPDATE items SET qty = qty + 1 WHERE grp = 3");
  auto schema = describe("items");
  auto rows = testing::read_all_rows(source_, "items", schema, 137);
  pqxx::connection conn{db_.url()};
  pqxx::nontransaction tx{conn};
  auto expected = tx.exec("SELECT grp::text, name, qty::text, tidesync_version::text FROM items "
                          "ORDER BY tidesync_version, grp, name");
  ASSERT_EQ(rows.size(), expected.size());
  for (std::size_t i = 0; i < rows.size(); ++i)
    for (int c = 0; c < 4; ++c)
      ASSERT_EQ(rows[i][static_cast<std::size_t>(c)], expected[static_cast<int>(i)][c].as<std::string>())
        << "row " << i << " column " << c;
}

TEST_F(PostgresSource, ReadRowsGivesPostgresTextFormOfEveryType) {
  pg_exec(db_.url(), "CREATE TABLE every_type (id bigint PRIMARY KEY, n numeric, r real, "
                     "d double precision, b boolean, t text, by bytea, dt date, ts timestamp, "
                     "tz timestamptz, u uuid, j json, jb jsonb)");
  prepare("every_type");
  pg_exec(db_.url(),
          "SET TimeZone = 'Europe/Berlin';"
          "INSERT INTO every_type VALUES "
          "(9223372036854775807, 12.50, 1.5, 'NaN', true, 'grüße 🌊', '\\x00ff0a', "
          "'2024-02-29', '2024-02-29 13:45:01.123456', '2024-02-29 13:45:01.5+01', "
          "'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11', '{\"a\": [1, 2]}', '{\"b\": 1, \"a\": 2}'),"
          "(-9223372036854775808, 'NaN', '-Infinity', 'Infinity', false, '', '\\x', "
          "NULL, NULL, NULL, NULL, NULL, NULL),"
          "(0, NULL, NULL, 0.1, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)");
  auto schema = describe("every_type");
  auto rows = source_.read_rows("every_type", schema, std::nullopt, std::nullopt, 10);
  ASSERT_EQ(rows.size(), 3u);
  testing::expect_wire_round_trip(schema, rows);
  std::sort(rows.begin(), rows.end(), [](const text_row& a, const text_row& b) {
    return std::stoll(*a[0]) > std::stoll(*b[0]);
  });
  text_row top{"9223372036854775807", "12.50", "1.5", "NaN", "t", "grüße 🌊", "\\x00ff0a",
               "2024-02-29", "2024-02-29 13:45:01.123456", "2024-02-29 12:45:01.5+00",
               "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", "{\"a\": [1, 2]}", "{\"a\": 2, \"b\": 1}"};
  rows[0].pop_back();  // the version
  EXPECT_EQ(rows[0], top);
  text_row zero{"0", std::nullopt, std::nullopt, "0.1", std::nullopt, std::nullopt,
                std::nullopt, std::nullopt, std::nullopt, std::nullopt, std::nullopt,
                std::nullopt, std::nullopt};
  rows[1].pop_back();
  EXPECT_EQ(rows[1], zero);
  text_row bottom{"-9223372036854775808", "NaN", "-Infinity", "Infinity", "f", "", "\\x",
                  std::nullopt, std::nullopt, std::nullopt, std::nullopt, std::nullopt,
                  std::nullopt};
  rows[2].pop_back();
  EXPECT_EQ(rows[2], bottom);
}

TEST_F(PostgresSource, ReadKeysAndReadRowsByKeysStayInsideTheirBounds) {
  pg_exec(db_.url(), "CREATE TABLE items (id int PRIMARY KEY, note text)");
  prepare("items");
  for (int i = 0; i < 4; ++i)
    pg_exec(db_.url(), "INSERT INTO items VALUES (" + std::to_string(i * 2) + ", 'a'), (" +
                         std::to_string(i * 2 + 1) + ", 'b')");
  auto schema = describe("items");
  auto all = source_.read_keys("items", schema, std::nullopt, std::nullopt, 100, std::nullopt);
  ASSERT_EQ(all.size(), 8u);
  auto middle = source_.read_keys("items", schema, all[2].version, all[5].version, 100,
                                  std::nullopt);
  EXPECT_EQ(middle, std::vector<key_version>(all.begin() + 2, all.begin() + 6));
  auto after = source_.read_keys("items", schema, std::nullopt, std::nullopt, 3,
                                 row_position{all[2].version, all[2].key});
  EXPECT_EQ(after, std::vector<key_version>(all.begin() + 3, all.begin() + 6));
  auto rows = source_.read_rows_by_keys("items", schema, {{"3"}, {"0"}, {"42"}});
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0][0], "0");
  EXPECT_EQ(rows[1][0], "3");
  auto from = source_.read_rows("items", schema, std::nullopt, all[6].version, 100);
  EXPECT_EQ(from.size(), 2u);
}

TEST_F(PostgresSource, SafeVersionStaysBelowAnOpenTransactionWhoseRowCommitsLate) {
  pg_exec(db_.url(), "CREATE TABLE orders (id int PRIMARY KEY, note text)");
  prepare("orders");
  auto schema = describe("orders");
  pqxx::connection slow_conn{db_.url()};
  pqxx::work slow{slow_conn};
  slow.exec("INSERT INTO orders VALUES (1, 'late')");
  auto slow_xid = slow.exec("SELECT pg_current_xact_id()::text::bigint")[0][0].as<std::int64_t>();
  pg_exec(db_.url(), "INSERT INTO orders VALUES (2, 'early')");
  pg_exec(db_.url(), "INSERT INTO orders VALUES (3, 'early')");

  EXPECT_LE(source_.safe_version(), slow_xid);
  auto before = source_.read_rows("orders", schema, std::nullopt, std::nullopt, 10);
  ASSERT_EQ(before.size(), 2u);  // the open transaction doesn't hide committed rows
  auto early_version = std::stoll(*before[0][2]);
  EXPECT_GT(early_version, slow_xid);

  slow.commit();
  // Other tests' transactions on the cluster can hold the watermark back for a moment.
  auto deadline =
      std::chrono::steady_clock::now() + tidesync::testing::scaled(std::chrono::seconds{30});
  while (source_.safe_version() <= slow_xid && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds{20});
  EXPECT_GT(source_.safe_version(), slow_xid);
  auto after = source_.read_rows("orders", schema, std::nullopt, std::nullopt, 10);
  ASSERT_EQ(after.size(), 3u);
  EXPECT_EQ(after[0][0], "1");  // committed last, ordered first
  EXPECT_EQ(std::stoll(*after[0][2]), slow_xid);
  EXPECT_LT(slow_xid, early_version);
}

TEST_F(PostgresSource, ALostConnectionIsReportedAsUnavailableAndRecovers) {
  pg_exec(db_.url(), "CREATE TABLE orders (id int PRIMARY KEY)");
  prepare("orders");
  auto schema = describe("orders");
  pg_exec(db_.url(), "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                     "WHERE application_name = 'tidesync agent' "
                     "AND datname = current_database()");
  try {
    source_.summary("orders", schema);
    FAIL() << "expected the first call after the loss to fail";
  } catch (const storage_error& e) {
    EXPECT_EQ(e.code(), storage_errc::unavailable) << e.what();
    EXPECT_NE(std::string{e.what()}.find(db_.name()), std::string::npos) << e.what();
  }
  EXPECT_EQ(source_.summary("orders", schema).count, 0);
}

TEST_F(PostgresSource, AnUnreachableServerIsReportedAsUnavailable) {
  postgres_source nowhere{"postgresql://postgres@127.0.0.1:1/shop"};
  try {
    nowhere.safe_version();
    FAIL() << "expected an error";
  } catch (const storage_error& e) {
    EXPECT_EQ(e.code(), storage_errc::unavailable) << e.what();
    EXPECT_NE(std::string{e.what()}.find("shop"), std::string::npos) << e.what();
  }
}

TEST_F(PostgresSource, OpenSourceRefusesUnknownSchemes) {
  EXPECT_THROW(open_source("mysql://host/db"), storage_error);
  EXPECT_THROW(open_source("sqlite://relative.db"), storage_error);
  EXPECT_EQ(open_source(db_.url())->kind(), "postgresql");
}

TEST_F(PostgresSource, SqliteDoublesPrintAsPostgresPrintsThem) {
  std::vector<double> values{1.5,     0.1,      100000,  1e14,   1e15,  123456789012345.6,
                             1e-4,    1.25e-5,  -2.5e-7, 1e300,  3.141592653589793,
                             -0.0,    1.0 / 3,  5e-324,  1.7976931348623157e308, 42};
  pqxx::connection conn{db_.url()};
  conn.set_variable("extra_float_digits", "1");
  pqxx::nontransaction tx{conn};
  for (double value : values) {
    char literal[64];
    std::snprintf(literal, sizeof literal, "%.17g", value);
    auto expected = tx.exec("SELECT '" + std::string{literal} + "'::float8::text")[0][0];
    EXPECT_EQ(pg_double_text(value), expected.as<std::string>()) << literal;
  }
}

} // namespace
} // namespace tidesync::storage
