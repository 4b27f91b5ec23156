// The change counters `prepare` installs and the one query that reads them
// (source::read_change_marks), on real PostgreSQL databases and SQLite files.
#include "storage/postgres_source.hpp"
#include "storage/sqlite_source.hpp"
#include "storage/version_tracking.hpp"
#include "tests/integration/sources/source_fixtures.hpp"
#include "tests/support/test_database.hpp"

#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include <algorithm>
#include <chrono>
#include <functional>
#include <future>

namespace tidesync::storage {
namespace {

using testing::pg_exec;
using testing::sqlite_exec;
using testing::tracked;

const std::vector<table_ref> both{tracked("orders"), tracked("stock")};

std::string token(source& site, const std::string& table) {
  auto marks = site.read_change_marks(both);
  auto found = marks.tokens.find(table);
  return found == marks.tokens.end() ? std::string{"(none)"} : found->second;
}

// Runs `write` and expects the token of orders to move and stock's to stay.
void expect_only_orders_moves(source& site, const std::string& sql,
                              const std::function<void()>& write) {
  auto orders = token(site, "orders");
  auto stock = token(site, "stock");
  write();
  EXPECT_NE(token(site, "orders"), orders) << sql;
  EXPECT_EQ(token(site, "stock"), stock) << sql;
}

class PostgresChangeMarks : public ::testing::Test {
protected:
  void SetUp() override {
    testing::make_prepared_orders_and_stock(db_.url());
  }

  void expect_only_orders_moves(const std::string& sql) {
    storage::expect_only_orders_moves(source_, sql, [&] { pg_exec(db_.url(), sql); });
  }

  testing::test_database db_;
  postgres_source source_{db_.url()};
};

TEST_F(PostgresChangeMarks, EveryKindOfWriteAndAnAlterMoveOnlyThatTablesToken) {
  ASSERT_NE(token(source_, "orders"), "(none)");
  ASSERT_NE(token(source_, "stock"), "(none)");
  expect_only_orders_moves("INSERT INTO orders (id, note) VALUES (3, 'c')");
  expect_only_orders_moves("UPDATE orders SET note = 'z' WHERE id = 1");
  expect_only_orders_moves("DELETE FROM orders WHERE id = 2");
  expect_only_orders_moves("ALTER TABLE orders ADD COLUMN extra integer DEFAULT 7");
  expect_only_orders_moves("TRUNCATE orders");
  // An UPDATE that matches no row still ran a writing statement: a false
  // alarm costs one read of the table, never a missed change.
  auto stock = token(source_, "stock");
  pg_exec(db_.url(), "SELECT count(*) FROM stock");
  EXPECT_EQ(token(source_, "stock"), stock) << "a read is not a write";
}

TEST_F(PostgresChangeMarks, ATransactionThatMovedATokenIsItsTablesWriterUntilItEnds) {
  pqxx::connection writer{db_.url()};
  pqxx::work tx{writer};
  tx.exec("UPDATE orders SET note = 'late' WHERE id = 1");
  auto open = source_.read_change_marks(both);
  ASSERT_EQ(open.writers["orders"].size(), 1u);
  EXPECT_TRUE(open.writers["stock"].empty());
  // Still the same writer in a later read, with a second one beside it.
  pqxx::connection other{db_.url()};
  pqxx::work second{other};
  second.exec("INSERT INTO orders (id, note) VALUES (5, 'e')");
  auto both_open = source_.read_change_marks(both);
  ASSERT_EQ(both_open.writers["orders"].size(), 2u);
  EXPECT_TRUE(std::includes(both_open.writers["orders"].begin(), both_open.writers["orders"].end(),
                            open.writers["orders"].begin(), open.writers["orders"].end()));
  second.abort();
  tx.commit();
  auto after = source_.read_change_marks(both);
  EXPECT_TRUE(after.writers["orders"].empty());
  EXPECT_EQ(after.tokens.at("orders"), both_open.tokens.at("orders"))
    << "the counter moved when the statements ran, not at commit";
}

// The counter is a sequence: nextval waits for no other transaction.
TEST_F(PostgresChangeMarks, TwoWritersOfOneTableNeverWaitForEachOther) {
  pqxx::connection first{db_.url()};
  pqxx::work hold{first};
  hold.exec("UPDATE orders SET note = 'first' WHERE id = 1");
  hold.exec("INSERT INTO orders (id, note) VALUES (10, 'first')");
  auto second = std::async(std::launch::async, [&] {
    pqxx::connection c{db_.url()};
    pqxx::work tx{c};
    tx.exec("SET LOCAL lock_timeout = '2s'");
    tx.exec("UPDATE orders SET note = 'second' WHERE id = 2");
    tx.exec("INSERT INTO orders (id, note) VALUES (11, 'second')");
    tx.exec("DELETE FROM orders WHERE id = 11");
    tx.commit();
  });
  ASSERT_EQ(second.wait_for(std::chrono::seconds{30}), std::future_status::ready);
  EXPECT_NO_THROW(second.get()) << "the second writer waited for the first one";
  hold.commit();
}

// The application's sessions may run with another search_path and without
// any privilege on tidesync's objects; a counter someone dropped must not
// fail their writes either.
TEST_F(PostgresChangeMarks, AnApplicationRoleWithOtherSearchPathWritesAndIsCounted) {
  auto role = "tidesync_app_" + db_.name();
  pg_exec(db_.url(), "CREATE ROLE " + role + " LOGIN; GRANT USAGE ON SCHEMA public TO " + role +
                       "; GRANT SELECT, INSERT, UPDATE, DELETE ON orders TO " + role);
  auto before = token(source_, "orders");
  {
    pqxx::connection app{db_.url()};
    pqxx::work tx{app};
    tx.exec("SET LOCAL ROLE " + role);
    tx.exec("SET LOCAL search_path = pg_catalog");
    tx.exec("INSERT INTO public.orders (id, note) VALUES (20, 'app')");
    tx.commit();
  }
  EXPECT_NE(token(source_, "orders"), before);
  pg_exec(db_.url(), "DROP SEQUENCE tidesync_orders_changes");
  EXPECT_NO_THROW(pg_exec(db_.url(), "INSERT INTO orders (id, note) VALUES (21, 'after the drop')"));
  EXPECT_EQ(token(source_, "orders"), "(none)");
  pg_exec(db_.url(), "DROP OWNED BY " + role + "; DROP ROLE " + role);
}

// A table prepared before notify triggers counted writes has no token (it is
// read every cycle); prepare puts the counter in, once.
TEST_F(PostgresChangeMarks, AnOlderPreparedTableGetsItsCounterFromTheNextPrepare) {
  pg_exec(db_.url(), "DROP TRIGGER tidesync_notify ON orders; DROP SEQUENCE "
                     "tidesync_orders_changes; CREATE TRIGGER tidesync_notify AFTER INSERT OR "
                     "UPDATE OR DELETE OR TRUNCATE ON orders FOR EACH STATEMENT EXECUTE "
                     "FUNCTION tidesync_notify()");
  EXPECT_EQ(token(source_, "orders"), "(none)");
  auto statements = plan_version_tracking(db_.url(), {tracked("orders")});
  ASSERT_FALSE(statements.empty());
  apply_version_tracking(db_.url(), {tracked("orders")});
  EXPECT_TRUE(plan_version_tracking(db_.url(), {tracked("orders")}).empty());
  auto before = token(source_, "orders");
  ASSERT_NE(before, "(none)");
  pg_exec(db_.url(), "DELETE FROM orders WHERE id = 1");
  EXPECT_NE(token(source_, "orders"), before);
  // A disabled trigger counts nothing: no token rather than a still one.
  pg_exec(db_.url(), "ALTER TABLE orders DISABLE TRIGGER tidesync_notify");
  EXPECT_EQ(token(source_, "orders"), "(none)");
}

// A session draws a cached counter's values without moving it: the next
// prepare gives the counter its cache of one back.
TEST_F(PostgresChangeMarks, ACounterGivenACacheGetsItBackToOneFromTheNextPrepare) {
  pg_exec(db_.url(), "ALTER SEQUENCE tidesync_orders_changes CACHE 50");
  auto statements = plan_version_tracking(db_.url(), {tracked("orders")});
  ASSERT_EQ(statements.size(), 1u);
  EXPECT_EQ(statements[0], "ALTER SEQUENCE public.\"tidesync_orders_changes\" CACHE 1");
  apply_version_tracking(db_.url(), {tracked("orders")});
  EXPECT_TRUE(plan_version_tracking(db_.url(), {tracked("orders")}).empty());
  pqxx::connection app{db_.url()};
  pqxx::nontransaction tx{app};
  tx.exec("UPDATE orders SET note = 'first' WHERE id = 1");
  auto after_first = token(source_, "orders");
  tx.exec("UPDATE orders SET note = 'second' WHERE id = 1");
  EXPECT_NE(token(source_, "orders"), after_first) << "the same session's next write";
}

// Writes the trigger would not see, and changes to the counter or its
// trigger, all move the token: none can leave a changed table unread.
TEST_F(PostgresChangeMarks, ReplicaModeADisabledMomentAndARestartedCounterMoveTheToken) {
  expect_only_orders_moves("SET session_replication_role = replica; "
                           "DELETE FROM orders WHERE id = 1");
  expect_only_orders_moves("ALTER TABLE orders DISABLE TRIGGER USER; DELETE FROM orders WHERE "
                           "id = 2; ALTER TABLE orders ENABLE ALWAYS TRIGGER tidesync_notify; "
                           "ALTER TABLE orders ENABLE TRIGGER tidesync_version");
  expect_only_orders_moves("ALTER SEQUENCE tidesync_orders_changes RESTART");
  expect_only_orders_moves("ALTER TABLE orders RENAME COLUMN note TO memo");
}

// A table renamed into a configured name keeps the trigger that counts into
// its old name's counter: it has no token, so it is read every cycle.
TEST_F(PostgresChangeMarks, ATableRenamedIntoAConfiguredNameHasNoToken) {
  pg_exec(db_.url(), "ALTER TABLE orders RENAME TO orders_old; ALTER TABLE stock RENAME TO "
                     "orders");
  EXPECT_EQ(token(source_, "orders"), "(none)");
}

// PostgreSQL refuses to PREPARE a transaction that notified: a session that
// turns notification off commits in two phases and still moves the counter.
TEST_F(PostgresChangeMarks, ASessionWithNotifyOffCanPrepareItsTransaction) {
  ASSERT_GT(testing::pg_int(db_.url(), "SELECT current_setting('max_prepared_transactions')::int"),
            0) << "scripts/pg-cluster starts the test cluster with prepared transactions on";
  auto before = token(source_, "orders");
  {
    pqxx::connection app{db_.url()};
    pqxx::nontransaction tx{app};
    tx.exec("SET tidesync.notify = off");
    tx.exec("BEGIN");
    tx.exec("UPDATE orders SET note = 'two phases' WHERE id = 1");
    tx.exec("PREPARE TRANSACTION 'tidesync_test_2pc'");
    tx.exec("COMMIT PREPARED 'tidesync_test_2pc'");
  }
  EXPECT_NE(token(source_, "orders"), before);
}

TEST_F(PostgresChangeMarks, UnprepareDropsTheCounter) {
  apply_tracking_removal(db_.url(), {tracked("orders")}, {.drop_columns = true});
  EXPECT_EQ(testing::pg_int(db_.url(), "SELECT count(*) FROM pg_class WHERE relname = "
                                       "'tidesync_orders_changes'"),
            0);
  EXPECT_EQ(token(source_, "orders"), "(none)");
  EXPECT_NE(token(source_, "stock"), "(none)");
}

TEST(PostgresChangeMarksPartitioned, APartitionedTableHasNoToken) {
  testing::test_database db;
  pg_exec(db.url(), "CREATE TABLE orders (id bigint, day date, PRIMARY KEY (id, day)) "
                    "PARTITION BY RANGE (day); CREATE TABLE orders_2026 PARTITION OF orders "
                    "FOR VALUES FROM ('2026-01-01') TO ('2027-01-01')");
  apply_version_tracking(db.url(), {tracked("orders")});
  postgres_source site{db.url()};
  EXPECT_TRUE(site.read_change_marks({tracked("orders")}).tokens.empty())
    << "a write to a partition would not fire the parent's statement trigger";
}

class SqliteChangeMarks : public ::testing::Test {
protected:
  void SetUp() override {
    sqlite_exec(file_, "CREATE TABLE orders (id INTEGER PRIMARY KEY, note TEXT); "
                       "CREATE TABLE stock (id INTEGER PRIMARY KEY, qty INTEGER); "
                       "INSERT INTO orders VALUES (1, 'a'), (2, 'b'); "
                       "INSERT INTO stock VALUES (1, 5)");
    apply_version_tracking(dir_.sqlite_url("site.db"), {tracked("orders"), tracked("stock")});
    source_ = std::make_unique<sqlite_source>(file_.string());
  }

  void expect_only_orders_moves(const std::string& sql) {
    storage::expect_only_orders_moves(*source_, sql, [&] { sqlite_exec(file_, sql); });
  }

  testing::temp_directory dir_;
  std::filesystem::path file_ = dir_.path() / "site.db";
  std::unique_ptr<sqlite_source> source_;
};

TEST_F(SqliteChangeMarks, EveryKindOfWriteMovesOnlyThatTablesToken) {
  ASSERT_NE(token(*source_, "orders"), "(none)");
  expect_only_orders_moves("INSERT INTO orders (id, note) VALUES (3, 'c')");
  expect_only_orders_moves("UPDATE orders SET note = 'z' WHERE id = 1");
  expect_only_orders_moves("DELETE FROM orders WHERE id = 2");
  expect_only_orders_moves("DELETE FROM orders");  // no truncate shortcut past the triggers
  auto orders = token(*source_, "orders");
  sqlite_exec(file_, "BEGIN; INSERT INTO orders (id, note) VALUES (9, 'x'); ROLLBACK");
  EXPECT_EQ(token(*source_, "orders"), orders) << "a rolled-back write counts nothing";
  // Any definition change moves every token (the file's schema version).
  sqlite_exec(file_, "ALTER TABLE stock ADD COLUMN extra INTEGER DEFAULT 7");
  EXPECT_NE(token(*source_, "orders"), orders);
}

TEST_F(SqliteChangeMarks, AFileWithoutCountsHasNoTokens) {
  sqlite_exec(file_, "DROP TABLE tidesync_deletes");
  EXPECT_TRUE(source_->read_change_marks(both).tokens.empty());
  apply_version_tracking(dir_.sqlite_url("site.db"), {tracked("orders"), tracked("stock")});
  EXPECT_EQ(source_->read_change_marks(both).tokens.size(), 2u);
}

} // namespace
} // namespace tidesync::storage
