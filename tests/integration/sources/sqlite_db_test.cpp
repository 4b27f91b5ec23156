// sqlite_db keeps a connection's statements prepared for their next use: a
// statement taken from the cache must behave as a freshly prepared one.
#include "storage/sqlite_db.hpp"

#include "storage/source.hpp"
#include "tests/integration/sources/source_fixtures.hpp"

#include <gtest/gtest.h>

#include <sqlite3.h>

#include <chrono>
#include <string>

namespace tidesync::storage {
namespace {

class SqliteDb : public ::testing::Test {
protected:
  sqlite_db open() { return sqlite_db{file_.string(), SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE}; }

  testing::temp_directory dir_;
  std::filesystem::path file_ = dir_.path() / "site.db";
};

std::int64_t single_int(sqlite_db& db, const std::string& sql) {
  sqlite_statement st{db, sql, "test query"};
  EXPECT_TRUE(st.step());
  return st.column_int(0);
}

TEST_F(SqliteDb, AStatementUsedAgainBindsAfreshAndSeesTheCurrentRows) {
  auto db = open();
  db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v INTEGER)", "create");
  db.exec("INSERT INTO t VALUES (1, 10), (2, 20)", "insert");
  const std::string sql = "SELECT count(*) FROM t WHERE v >= ?1";
  for (int round = 0; round < 3; ++round) {
    sqlite_statement st{db, sql, "count"};
    st.bind_int(1, 15);
    ASSERT_TRUE(st.step());
    EXPECT_EQ(st.column_int(0), 1 + round);
    EXPECT_EQ(db.cached_statements(), 0u);  // on loan, not in the cache
    db.exec("INSERT INTO t (v) VALUES (" + std::to_string(100 + round) + ")", "insert");
  }
  EXPECT_EQ(db.cached_statements(), 1u);  // one statement, kept once
  sqlite_statement unbound{db, sql, "count"};
  ASSERT_TRUE(unbound.step());
  EXPECT_EQ(unbound.column_int(0), 0);  // the old binding was cleared: v >= NULL
}

TEST_F(SqliteDb, ATableDroppedAndCreatedAgainIsReadWithItsNewColumns) {
  auto db = open();
  db.exec("CREATE TABLE t (a INTEGER)", "create");
  {
    sqlite_statement st{db, "SELECT * FROM t", "read"};
    EXPECT_EQ(st.column_count(), 1);
  }
  db.exec("DROP TABLE t; CREATE TABLE t (a INTEGER, b TEXT, c REAL); INSERT INTO t VALUES (1, 'x', 2.5)",
          "recreate");  // a cached statement must not hold the table
  {
    sqlite_statement st{db, "SELECT * FROM t", "read"};
    ASSERT_TRUE(st.step());
    EXPECT_EQ(st.column_count(), 3);
    EXPECT_EQ(st.column_text(1), "x");
  }
  EXPECT_NO_THROW(db.exec("DROP TABLE t", "drop"));  // the statement went back, reset
}

TEST_F(SqliteDb, AStatementLeftMidWayReleasesItsReadLockWhenItGoesBack) {
  {
    auto setup = open();
    setup.exec("PRAGMA journal_mode = DELETE; CREATE TABLE t (id INTEGER PRIMARY KEY);"
               " INSERT INTO t VALUES (1), (2), (3)",
               "setup");
  }
  auto reader = open();
  {
    sqlite_statement st{reader, "SELECT id FROM t", "read"};
    ASSERT_TRUE(st.step());  // one row of three: a read lock while it stands
  }
  ASSERT_EQ(reader.cached_statements(), 1u);
  auto writer = open();
  sqlite3_busy_timeout(writer.handle(), 0);  // a lock still held fails at once
  EXPECT_NO_THROW(writer.exec("DELETE FROM t", "delete while the reader's statement is cached"));
  EXPECT_EQ(single_int(reader, "SELECT count(*) FROM t"), 0);
}

TEST_F(SqliteDb, TheCacheKeepsAtMostItsSizeAndTheMostRecentlyUsed) {
  auto db = open();
  const auto limit = sqlite_db::statement_cache_size;
  for (std::size_t i = 0; i < 3 * limit; ++i)
    EXPECT_EQ(single_int(db, "SELECT " + std::to_string(i)), static_cast<std::int64_t>(i));
  EXPECT_EQ(db.cached_statements(), limit);
  // The most recent ones are kept: asking for them again prepares nothing new.
  for (std::size_t i = 2 * limit; i < 3 * limit; ++i)
    EXPECT_EQ(single_int(db, "SELECT " + std::to_string(i)), static_cast<std::int64_t>(i));
  EXPECT_EQ(db.cached_statements(), limit);
}

TEST_F(SqliteDb, SqlThatDoesNotPrepareIsAStorageErrorAndCachesNothing) {
  auto db = open();
  try {
    sqlite_statement st{db, "SELECT * FROM no_such_table", "read the missing table"};
    FAIL() << "prepared a query of a missing table";
  } catch (const storage_error& e) {
    EXPECT_NE(std::string{e.what()}.find("read the missing table"), std::string::npos) << e.what();
    EXPECT_NE(std::string{e.what()}.find("no such table"), std::string::npos) << e.what();
  }
  EXPECT_EQ(db.cached_statements(), 0u);
}

} // namespace
} // namespace tidesync::storage
