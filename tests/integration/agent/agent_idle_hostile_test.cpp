// Hostile sequences against the idle cycle (a table left unread while its
// change counter says nothing changed): after each, the cloud copy must equal
// the site within a few cycles, and the application's writes must succeed.
#include "actors/agent.hpp"
#include "storage/version_tracking.hpp"

#include "tests/integration/agent/agent_fixture.hpp"

#include <pqxx/pqxx>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <thread>

namespace tidesync::testing {
namespace {

// Runs `cycles` cycles; returns how many of them left `table` unread.
int cycles(actors::agent& agent, const std::string& table, int count = 3) {
  int unread = 0;
  for (int cycle = 0; cycle < count; ++cycle)
    for (const auto& database : agent.run_cycle(false).databases)
      for (const auto& line : database.tables)
        if (line.table == table && line.unread)
          ++unread;
  return unread;
}

// Whether the next cycle reads `table` (does not leave it unread).
bool next_cycle_reads(actors::agent& agent, const std::string& table) {
  for (const auto& database : agent.run_cycle(false).databases)
    for (const auto& line : database.tables)
      if (line.table == table)
        return !line.unread;
  return false;
}

template <class Fixture> class break_fixture : public Fixture {
protected:
  // expect_remote_matches, but a remote that can't even be selected (a
  // column the cloud never heard of) is a failure, not a crash.
  void matches(const std::string& table) {
    try {
      this->expect_remote_matches(table);
    } catch (const std::exception& e) {
      ADD_FAILURE() << table << ": comparing failed: " << e.what();
    }
  }

  // A table of 100 rows, prepared, synced, and left unread by the agent.
  void synced_orders(actors::agent& agent, const std::string& table = "orders") {
    ASSERT_TRUE(agent.run_once().all_in_sync());
    ASSERT_TRUE(settles_unread(agent, table)) << "the shortcut never armed";
  }

  void make_orders(const std::string& table = "orders", int rows = 100) {
    this->site_exec("CREATE TABLE " + table + " (id BIGINT PRIMARY KEY, note TEXT)");
    this->site_exec(rows_of("INSERT INTO " + table + " (id, note)", "i, 'order ' || i", rows));
    this->prepare({table});
  }

  std::filesystem::path site_file() { return this->dir_.path() / "site.db"; }

  // Three cycles to catch up, then the cloud equal to the site.
  void caught_up(actors::agent& agent, const std::string& table = "orders") {
    cycles(agent, table, 3);
    matches(table);
  }

  // Caught up, and the shortcut armed again.
  void caught_up_and_quiet(actors::agent& agent, const std::string& table = "orders") {
    caught_up(agent, table);
    ASSERT_TRUE(settles_unread(agent, table));
  }
};

class idle_hostile_pg : public break_fixture<postgres_agent_test> {};
class idle_hostile_sqlite : public break_fixture<sqlite_agent_test> {};
class idle_hostile : public break_fixture<agent_fixture>,
                   public ::testing::WithParamInterface<site_kind> {
protected:
  site_kind kind() const override { return GetParam(); }
};

} // namespace

// ---------------------------------------------------------------- both kinds

TEST_P(idle_hostile, UpsertsAreRead) {
  make_orders();
  actors::agent agent{agent_config({"orders"}), quick_retries()};
  synced_orders(agent);
  site_exec("INSERT INTO orders (id, note) VALUES (5, 'upserted'), (5000, 'new') "
            "ON CONFLICT (id) DO UPDATE SET note = excluded.note");
  caught_up_and_quiet(agent);
  site_exec("INSERT INTO orders (id, note) VALUES (6, 'ignored') ON CONFLICT DO NOTHING");
  site_exec("INSERT INTO orders (id, note) VALUES (6, 'upserted 6') "
            "ON CONFLICT (id) DO UPDATE SET note = excluded.note WHERE orders.id = 6");
  caught_up(agent);
}

TEST_P(idle_hostile, DeletingTheNewestRowThenInsertingIsRead) {
  make_orders();
  actors::agent agent{agent_config({"orders"}), quick_retries()};
  synced_orders(agent);
  site_exec("UPDATE orders SET note = 'newest' WHERE id = 50");
  cycles(agent, "orders");
  ASSERT_TRUE(settles_unread(agent, "orders"));
  // The row holding the maximum version goes; a new one comes.
  site_exec("DELETE FROM orders WHERE id = 50");
  site_exec("INSERT INTO orders (id, note) VALUES (50, 'again')");
  caught_up_and_quiet(agent);
  // Delete the newest alone, between two idle cycles.
  site_exec("DELETE FROM orders WHERE id = 50");
  caught_up(agent);
}

TEST_P(idle_hostile, ForeignKeyCascadesAreRead) {
  site_exec("CREATE TABLE customers (id BIGINT PRIMARY KEY, name TEXT)");
  site_exec("CREATE TABLE orders (id BIGINT PRIMARY KEY, customer BIGINT REFERENCES customers "
            "(id) ON DELETE CASCADE ON UPDATE SET NULL, note TEXT)");
  site_exec(rows_of("INSERT INTO customers (id, name)", "i, 'c' || i", 10));
  site_exec(rows_of("INSERT INTO orders (id, customer, note)", "i, i % 10 + 1, 'o' || i", 100));
  prepare({"orders"});
  actors::agent agent{agent_config({"orders"}), quick_retries()};
  synced_orders(agent);
  // SQLite enforces foreign keys per connection.
  site_exec(std::string{is_postgres() ? "" : "PRAGMA foreign_keys = ON; "} +
            "DELETE FROM customers WHERE id = 3");
  ASSERT_LT(site_rows("orders").size(), 100u) << "the cascade did not run";
  caught_up_and_quiet(agent);
  site_exec(std::string{is_postgres() ? "" : "PRAGMA foreign_keys = ON; "} +
            "UPDATE customers SET id = 100 WHERE id = 4");
  caught_up(agent);
}

TEST_P(idle_hostile, AForeignKeyCascadeIsReadAtTheNextCycle) {
  site_exec("CREATE TABLE customers (id BIGINT PRIMARY KEY, name TEXT)");
  site_exec("CREATE TABLE orders (id BIGINT PRIMARY KEY, customer BIGINT REFERENCES customers "
            "(id) ON DELETE CASCADE, note TEXT)");
  site_exec(rows_of("INSERT INTO customers (id, name)", "i, 'c' || i", 10));
  site_exec(rows_of("INSERT INTO orders (id, customer, note)", "i, i % 10 + 1, 'o' || i", 100));
  prepare({"orders"});
  actors::agent agent{agent_config({"orders"}), quick_retries()};
  synced_orders(agent);
  site_exec(std::string{is_postgres() ? "" : "PRAGMA foreign_keys = ON; "} +
            "DELETE FROM customers WHERE id = 3");
  auto report = agent.run_cycle(false);
  EXPECT_FALSE(table_of(report, "orders").unread) << "a cascaded delete left the table unread";
  matches("orders");
}

TEST_P(idle_hostile, TheDeleteCounterRowDeletedByHand) {
  make_orders();
  actors::agent agent{agent_config({"orders"}), quick_retries()};
  synced_orders(agent);
  if (is_postgres())
    site_exec("DROP SEQUENCE tidesync_orders_changes");
  else
    site_exec("DELETE FROM tidesync_deletes WHERE table_name = 'orders'");
  // The application's writes still work.
  site_exec("DELETE FROM orders WHERE id = 9");
  site_exec("INSERT INTO orders (id, note) VALUES (900, 'after the counter went')");
  site_exec("UPDATE orders SET note = 'changed' WHERE id = 10");
  caught_up(agent);
  site_exec("DELETE FROM orders WHERE id = 11");
  caught_up(agent);
}

// The counter lost (dropped sequence / deletes row) and `prepare` run again:
// the counter starts over from where it began.
TEST_P(idle_hostile, TheCounterRecreatedByPrepareStartsOverAtAnOldToken) {
  make_orders();
  actors::agent agent{agent_config({"orders"}), quick_retries()};
  ASSERT_TRUE(agent.run_once().all_in_sync());
  // One delete: the token the next quiet check keeps counts one.
  site_exec("DELETE FROM orders WHERE id = 20");
  cycles(agent, "orders");
  ASSERT_TRUE(settles_unread(agent, "orders"));
  long long before = 1, after = 0;
  if (is_postgres()) {
    pqxx::connection c{site_url_};
    pqxx::nontransaction n{c};
    before = n.exec("SELECT last_value FROM tidesync_orders_changes")[0][0].as<long long>();
    n.exec("DROP SEQUENCE tidesync_orders_changes");
  } else {
    site_exec("DELETE FROM tidesync_deletes WHERE table_name = 'orders'");
  }
  prepare({"orders"});
  if (is_postgres()) {
    pqxx::connection c{site_url_};
    pqxx::nontransaction n{c};
    after = n.exec("SELECT last_value FROM tidesync_orders_changes")[0][0].as<long long>();
  }
  // As many deletes as bring the fresh counter back to the token kept.
  ASSERT_GT(before, after);
  for (long long i = 0; i < before - after; ++i)
    site_exec("DELETE FROM orders WHERE id = " + std::to_string(30 + i));
  EXPECT_TRUE(next_cycle_reads(agent, "orders")) << "the table unread after a fresh counter";
  caught_up(agent);
}

// Both tables prepared, then swapped by renames (rebuild-and-swap): the
// table now called orders counts into its old name's counter.
TEST_P(idle_hostile, TablesSwappedByRename) {
  make_orders();
  make_orders("staging", 30);
  actors::agent agent{agent_config({"orders"}), quick_retries()};
  synced_orders(agent);
  site_exec("ALTER TABLE orders RENAME TO orders_old");
  site_exec("ALTER TABLE staging RENAME TO orders");
  cycles(agent, "orders", 4);
  matches("orders");
  // Plain application writes to the table now called orders.
  site_exec("UPDATE orders SET note = 'written after the swap' WHERE id = 3");
  site_exec("DELETE FROM orders WHERE id = 4");
  site_exec("INSERT INTO orders (id, note) VALUES (4000, 'new after the swap')");
  EXPECT_TRUE(next_cycle_reads(agent, "orders")) << "orders unread after writes";
  caught_up(agent);
  // A delete alone (not of the newest row).
  site_exec("DELETE FROM orders WHERE id = 5");
  EXPECT_TRUE(next_cycle_reads(agent, "orders")) << "a delete after the swap left orders unread";
  caught_up(agent);
}

TEST_P(idle_hostile, MixedCaseAndKeywordTableNames) {
  // "null" is NULL in an array literal; "Orders" and "orders" differ only by case.
  site_exec(is_postgres() ? "CREATE TABLE \"Orders\" (id BIGINT PRIMARY KEY, note TEXT)"
                          : "CREATE TABLE \"Orders2\" (id BIGINT PRIMARY KEY, note TEXT)");
  const std::string upper = is_postgres() ? "Orders" : "Orders2";
  site_exec("CREATE TABLE orders (id BIGINT PRIMARY KEY, note TEXT)");
  site_exec("CREATE TABLE \"null\" (id BIGINT PRIMARY KEY, note TEXT)");
  std::string long_a(50, 'a'), long_b(50, 'a');
  long_a += "_first_table1";
  long_b += "_first_table2";
  site_exec("CREATE TABLE " + long_a + " (id BIGINT PRIMARY KEY, note TEXT)");
  site_exec("CREATE TABLE " + long_b + " (id BIGINT PRIMARY KEY, note TEXT)");
  for (const auto& t : {"\"" + upper + "\"", std::string{"orders"}, std::string{"\"null\""},
                        long_a, long_b})
    site_exec(rows_of("INSERT INTO " + t + " (id, note)", "i, 'r' || i", 20));
  std::vector<std::string> tables{upper, "orders", "null", long_a, long_b};
  prepare(tables);
  actors::agent agent{agent_config(tables), quick_retries()};
  ASSERT_TRUE(agent.run_once().all_in_sync());
  for (const auto& t : tables)
    settles_unread(agent, t);
  for (const auto& t : tables) {
    for (const auto& quiet : tables)
      settles_unread(agent, quiet);
    site_exec("UPDATE \"" + t + "\" SET note = 'hit' WHERE id = 7");
    site_exec("DELETE FROM \"" + t + "\" WHERE id = 8");
    auto report = agent.run_cycle(false);
    EXPECT_FALSE(table_of(report, t).unread) << t << " was written, yet left unread";
    cycles(agent, t, 2);
    for (const auto& each : tables)
      matches(each);
  }
}

INSTANTIATE_TEST_SUITE_P(sites, idle_hostile,
                         ::testing::Values(site_kind::sqlite, site_kind::postgresql), site_name);

// ------------------------------------------------------------------ PostgreSQL

TEST_F(idle_hostile_pg, SavepointsRolledBackInsideATransactionThatCommits) {
  make_orders();
  actors::agent agent{agent_config({"orders"}), quick_retries()};
  synced_orders(agent);
  pqxx::connection c{site_url_};
  {
    pqxx::work tx{c};
    // The first write of the transaction sits in a savepoint that is released:
    // its lock moves to the transaction.
    tx.exec("SAVEPOINT a");
    tx.exec("INSERT INTO orders VALUES (1001, 'released savepoint')");
    tx.exec("RELEASE SAVEPOINT a");
    tx.exec("SAVEPOINT b");
    tx.exec("UPDATE orders SET note = 'rolled back' WHERE id = 3");
    tx.exec("INSERT INTO orders VALUES (1002, 'rolled back')");
    tx.exec("ROLLBACK TO SAVEPOINT b");
    cycles(agent, "orders", 3);
    site_exec("INSERT INTO orders VALUES (1003, 'other session')");
    cycles(agent, "orders", 3);
    tx.exec("SAVEPOINT c");
    tx.exec("DELETE FROM orders WHERE id = 4");
    tx.exec("RELEASE SAVEPOINT c");
    cycles(agent, "orders", 3);
    tx.exec("SAVEPOINT d");
    tx.exec("UPDATE orders SET note = 'in d, rolled back' WHERE id = 5");
    tx.exec("ROLLBACK TO SAVEPOINT d");
    cycles(agent, "orders", 3);
    tx.commit();
  }
  caught_up(agent);
}

// The transaction's only write is in a savepoint rolled back, after which the
// same transaction writes again: the lock is taken, released, taken again.
TEST_F(idle_hostile_pg, ALockReleasedByRollbackToSavepointThenTakenAgain) {
  make_orders();
  actors::agent agent{agent_config({"orders"}), quick_retries()};
  synced_orders(agent);
  pqxx::connection c{site_url_};
  pqxx::work tx{c};
  tx.exec("SAVEPOINT a");
  tx.exec("UPDATE orders SET note = 'in a' WHERE id = 3");
  cycles(agent, "orders", 3);  // quiet with this transaction among the writers
  tx.exec("ROLLBACK TO SAVEPOINT a");
  tx.exec("SAVEPOINT b");
  tx.exec("UPDATE orders SET note = 'in b' WHERE id = 6");
  tx.exec("RELEASE SAVEPOINT b");
  cycles(agent, "orders", 3);
  tx.commit();
  caught_up(agent);
}

TEST_F(idle_hostile_pg, TwoPhaseCommitCommittedCyclesLater) {
  pqxx::connection probe{site_url_};
  pqxx::nontransaction p{probe};
  auto max_prepared = p.exec("SHOW max_prepared_transactions")[0][0].as<int>();
  if (max_prepared == 0)
    GTEST_SKIP() << "max_prepared_transactions is 0 on this cluster";
  make_orders();
  actors::agent agent{agent_config({"orders"}), quick_retries()};
  synced_orders(agent);
  {
    pqxx::connection c{site_url_};
    pqxx::nontransaction tx{c};
    // PREPARE refuses a transaction that notified: a two-phase application
    // turns notification off for its sessions.
    tx.exec("SET tidesync.notify = off");
    tx.exec("BEGIN");
    tx.exec("UPDATE orders SET note = 'prepared' WHERE id = 3");
    tx.exec("INSERT INTO orders VALUES (2001, 'prepared')");
    tx.exec("DELETE FROM orders WHERE id = 4");
    tx.exec("PREPARE TRANSACTION 'tidesync_break_2pc'");
  }
  cycles(agent, "orders", 3);
  site_exec("INSERT INTO orders VALUES (2002, 'committed after the prepare')");
  cycles(agent, "orders", 3);
  EXPECT_TRUE(settles_unread(agent, "orders"));
  p.exec("COMMIT PREPARED 'tidesync_break_2pc'");
  caught_up(agent);
}

TEST_F(idle_hostile_pg, CopyFromStdin) {
  make_orders();
  actors::agent agent{agent_config({"orders"}), quick_retries()};
  synced_orders(agent);
  {
    pqxx::connection c{site_url_};
    pqxx::work tx{c};
    pqxx::stream_to stream{tx, "orders", std::vector<std::string>{"id", "note"}};
    for (int i = 3000; i < 3050; ++i)
      stream << std::make_tuple(i, "copied " + std::to_string(i));
    stream.complete();
    tx.commit();
  }
  caught_up(agent);
  // A COPY held open across cycles, committed later.
  pqxx::connection c{site_url_};
  pqxx::work tx{c};
  {
    pqxx::stream_to stream{tx, "orders", std::vector<std::string>{"id", "note"}};
    for (int i = 4000; i < 4010; ++i)
      stream << std::make_tuple(i, "copied late " + std::to_string(i));
    stream.complete();
  }
  cycles(agent, "orders", 3);
  site_exec("UPDATE orders SET note = 'other' WHERE id = 9");
  cycles(agent, "orders", 3);
  tx.commit();
  caught_up(agent);
}

TEST_F(idle_hostile_pg, WritesThroughViews) {
  make_orders();
  site_exec("CREATE VIEW open_orders AS SELECT id, note FROM orders WHERE id < 10000");
  site_exec("CREATE VIEW order_notes AS SELECT id, note FROM orders");
  site_exec("CREATE FUNCTION order_notes_write() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            "IF TG_OP = 'INSERT' THEN INSERT INTO orders (id, note) VALUES (NEW.id, NEW.note); "
            "ELSIF TG_OP = 'UPDATE' THEN UPDATE orders SET note = NEW.note WHERE id = OLD.id; "
            "ELSE DELETE FROM orders WHERE id = OLD.id; END IF; RETURN NEW; END $$");
  site_exec("CREATE TRIGGER order_notes_write INSTEAD OF INSERT OR UPDATE OR DELETE ON "
            "order_notes FOR EACH ROW EXECUTE FUNCTION order_notes_write()");
  actors::agent agent{agent_config({"orders"}), quick_retries()};
  synced_orders(agent);
  site_exec("INSERT INTO open_orders VALUES (5001, 'through a view')");
  caught_up_and_quiet(agent);
  site_exec("UPDATE open_orders SET note = 'updated through a view' WHERE id = 12");
  site_exec("DELETE FROM open_orders WHERE id = 13");
  caught_up_and_quiet(agent);
  site_exec("INSERT INTO order_notes VALUES (5002, 'instead of')");
  site_exec("UPDATE order_notes SET note = 'instead of update' WHERE id = 14");
  site_exec("DELETE FROM order_notes WHERE id = 15");
  caught_up_and_quiet(agent);
  site_exec("MERGE INTO orders o USING (VALUES (16, 'merged'), (5003, 'merged new')) "
            "AS s(id, note) ON o.id = s.id WHEN MATCHED THEN UPDATE SET note = s.note "
            "WHEN NOT MATCHED THEN INSERT (id, note) VALUES (s.id, s.note)");
  caught_up(agent);
}

TEST_F(idle_hostile_pg, ALongTransactionWritingAcrossManyCycles) {
  make_orders();
  actors::agent agent{agent_config({"orders"}), quick_retries()};
  synced_orders(agent);
  pqxx::connection c{site_url_};
  pqxx::work tx{c};
  for (int round = 0; round < 5; ++round) {
    tx.exec("INSERT INTO orders VALUES (" + std::to_string(6000 + round) + ", 'long')");
    tx.exec("UPDATE orders SET note = 'long " + std::to_string(round) + "' WHERE id = " +
            std::to_string(20 + round));
    cycles(agent, "orders", 2);
    site_exec("INSERT INTO orders VALUES (" + std::to_string(7000 + round) + ", 'short')");
    site_exec("UPDATE orders SET note = 'short' WHERE id = " + std::to_string(40 + round));
    cycles(agent, "orders", 2);
    EXPECT_TRUE(settles_unread(agent, "orders"));
  }
  tx.commit();
  caught_up(agent);
}

TEST_F(idle_hostile_pg, AnApplicationRoleWithItsOwnSearchPathAndOnlyTablePrivileges) {
  make_orders();
  const auto role = site_db_->name() + "_app";
  site_exec("CREATE ROLE \"" + role + "\" NOLOGIN");
  site_exec("CREATE SCHEMA app_schema");
  // Its own objects named like tidesync's, first on its path.
  site_exec("CREATE SEQUENCE app_schema.tidesync_orders_changes");
  site_exec("CREATE TABLE app_schema.orders (id BIGINT PRIMARY KEY, note TEXT)");
  site_exec("GRANT USAGE ON SCHEMA app_schema TO \"" + role + "\"");
  site_exec("GRANT ALL ON ALL TABLES IN SCHEMA app_schema TO \"" + role + "\"");
  site_exec("GRANT SELECT, INSERT, UPDATE, DELETE ON public.orders TO \"" + role + "\"");
  actors::agent agent{agent_config({"orders"}), quick_retries()};
  synced_orders(agent);
  pqxx::connection c{site_url_};
  {
    pqxx::work tx{c};
    tx.exec("SET LOCAL ROLE \"" + role + "\"");
    tx.exec("SET LOCAL search_path = app_schema");
    tx.exec("SET LOCAL lock_timeout = '1s'");
    tx.exec("INSERT INTO public.orders VALUES (8001, 'app role')");
    tx.exec("UPDATE public.orders SET note = 'app role' WHERE id = 30");
    tx.exec("DELETE FROM public.orders WHERE id = 31");
    tx.exec("INSERT INTO orders VALUES (1, 'app_schema.orders, not synced')");
    tx.commit();
  }
  caught_up(agent);
  site_exec("DROP OWNED BY \"" + role + "\"");
  site_exec("DROP ROLE \"" + role + "\"");
}

TEST_F(idle_hostile_pg, ADroppedColumnWithNoRowWritten) {
  site_exec("CREATE TABLE orders (id BIGINT PRIMARY KEY, note TEXT, extra TEXT)");
  site_exec("INSERT INTO orders SELECT i, 'n' || i, 'x' || i FROM generate_series(1, 100) i");
  prepare({"orders"});
  actors::agent agent{agent_config({"orders"}), quick_retries()};
  synced_orders(agent);
  site_exec("ALTER TABLE orders DROP COLUMN extra");
  auto report = agent.run_cycle(false);
  EXPECT_FALSE(table_of(report, "orders").unread) << "a dropped column left the table unread";
  cycles(agent, "orders", 2);
  matches("orders");
}

TEST_F(idle_hostile_pg, TheCounterReset) {
  make_orders();
  actors::agent agent{agent_config({"orders"}), quick_retries()};
  synced_orders(agent);
  site_exec("ALTER SEQUENCE tidesync_orders_changes RESTART");
  site_exec("UPDATE orders SET note = 'after restart' WHERE id = 34");
  caught_up(agent);
}

TEST_F(idle_hostile_pg, TruncateAndRefill) {
  make_orders();
  actors::agent agent{agent_config({"orders"}), quick_retries()};
  synced_orders(agent);
  site_exec("TRUNCATE orders");
  caught_up_and_quiet(agent);
  site_exec("INSERT INTO orders SELECT i, 'refill ' || i FROM generate_series(1, 50) i");
  caught_up(agent);
}

// The application must not wait on anything the agent does between cycles,
// and its write must not fail while the counter is gone.
TEST_F(idle_hostile_pg, ApplicationWritesDoNotWaitOnTheCounter) {
  make_orders();
  actors::agent agent{agent_config({"orders"}), quick_retries()};
  synced_orders(agent);
  // Another writer holds the counter's sequence row busy in an open transaction.
  pqxx::connection other{site_url_};
  pqxx::work hold{other};
  hold.exec("UPDATE orders SET note = 'holding' WHERE id = 1");
  hold.exec("SELECT nextval('tidesync_orders_changes')");
  pqxx::connection c{site_url_};
  pqxx::work tx{c};
  tx.exec("SET LOCAL lock_timeout = '500ms'");
  tx.exec("SET LOCAL statement_timeout = '2s'");
  tx.exec("UPDATE orders SET note = 'not waiting' WHERE id = 2");
  tx.exec("INSERT INTO orders VALUES (9001, 'not waiting')");
  tx.commit();
  hold.commit();
  caught_up(agent);
}

// The counter moved back to where it was by a restore through pg_dump-like
// re-creation of only the sequence (a schema-only restore of tidesync objects).
TEST_F(idle_hostile_pg, TheCounterSequenceDroppedAndRecreatedByHand) {
  make_orders();
  actors::agent agent{agent_config({"orders"}), quick_retries()};
  synced_orders(agent);
  pqxx::connection c{site_url_};
  pqxx::nontransaction n{c};
  auto last = n.exec("SELECT last_value FROM tidesync_orders_changes")[0][0].as<long long>();
  n.exec("DROP SEQUENCE tidesync_orders_changes");
  n.exec("UPDATE orders SET note = 'while the counter is gone' WHERE id = 35");
  n.exec("CREATE SEQUENCE tidesync_orders_changes");
  n.exec("SELECT setval('tidesync_orders_changes', " + std::to_string(last) + ")");
  EXPECT_TRUE(next_cycle_reads(agent, "orders"));
  caught_up(agent);
}

// A maintenance script deletes with triggers off (pg_restore
// --disable-triggers, a data fix, a logical replication apply worker all run
// as replica): no counter moves, but the table lost rows.
TEST_F(idle_hostile_pg, ADeleteInReplicaMode) {
  make_orders();
  actors::agent agent{agent_config({"orders"}), quick_retries()};
  synced_orders(agent);
  {
    pqxx::connection c{site_url_};
    pqxx::work tx{c};
    tx.exec("SET LOCAL session_replication_role = replica");
    tx.exec("DELETE FROM orders WHERE id BETWEEN 40 AND 44");
    tx.commit();
  }
  EXPECT_TRUE(next_cycle_reads(agent, "orders")) << "orders unread after rows were deleted";
  caught_up(agent);
}

TEST_F(idle_hostile_pg, ADeleteWithTriggersDisabledForAMoment) {
  make_orders();
  actors::agent agent{agent_config({"orders"}), quick_retries()};
  synced_orders(agent);
  site_exec("ALTER TABLE orders DISABLE TRIGGER USER; "
            "DELETE FROM orders WHERE id BETWEEN 45 AND 49; "
            "ALTER TABLE orders ENABLE TRIGGER USER");
  EXPECT_TRUE(next_cycle_reads(agent, "orders")) << "orders unread after rows were deleted";
  caught_up(agent);
}

// ---------------------------------------------------------------------- SQLite

TEST_F(idle_hostile_sqlite, InsertOrReplaceDeletesWithoutTheDeleteTrigger) {
  site_exec("CREATE TABLE orders (id BIGINT PRIMARY KEY, code TEXT UNIQUE, note TEXT)");
  site_exec(rows_of("INSERT INTO orders (id, code, note)", "i, 'c' || i, 'o' || i", 100));
  prepare({"orders"});
  actors::agent agent{agent_config({"orders"}), quick_retries()};
  synced_orders(agent);
  site_exec("INSERT OR REPLACE INTO orders (id, code, note) VALUES (5, 'c5', 'replaced')");
  caught_up_and_quiet(agent);
  // A conflict on another unique column deletes a different row.
  site_exec("INSERT OR REPLACE INTO orders (id, code, note) VALUES (500, 'c6', 'took c6')");
  caught_up_and_quiet(agent);
  site_exec("REPLACE INTO orders (id, code, note) VALUES (7, 'c8', 'two rows go')");
  caught_up_and_quiet(agent);
  site_exec("UPDATE OR REPLACE orders SET code = 'c10' WHERE id = 9");
  caught_up(agent);
}

TEST_F(idle_hostile_sqlite, WithoutRowidTable) {
  site_exec("CREATE TABLE orders (id BIGINT PRIMARY KEY, note TEXT) WITHOUT ROWID");
  site_exec(rows_of("INSERT INTO orders (id, note)", "i, 'o' || i", 100));
  prepare({"orders"});
  actors::agent agent{agent_config({"orders"}), quick_retries()};
  synced_orders(agent);
  site_exec("INSERT OR REPLACE INTO orders (id, note) VALUES (5, 'replaced')");
  site_exec("UPDATE orders SET note = 'u' WHERE id = 6");
  site_exec("DELETE FROM orders WHERE id = 7");
  site_exec("UPDATE orders SET id = 7000 WHERE id = 8");
  caught_up(agent);
}

TEST_F(idle_hostile_sqlite, ANonDefaultVersionColumn) {
  site_exec("CREATE TABLE orders (id BIGINT PRIMARY KEY, note TEXT)");
  site_exec(rows_of("INSERT INTO orders (id, note)", "i, 'o' || i", 100));
  storage::apply_version_tracking(site_url_, {storage::table_ref{"orders", {}, "row_ver", {}, {}}});
  auto config = agent_config({"orders"});
  config.databases[0].tables[0].version_column = "row_ver";
  actors::agent agent{config, quick_retries()};
  ASSERT_TRUE(agent.run_once().all_in_sync());
  ASSERT_TRUE(settles_unread(agent, "orders"));
  site_exec("UPDATE orders SET note = 'u' WHERE id = 6");
  auto report = agent.run_cycle(false);
  EXPECT_FALSE(table_of(report, "orders").unread);
  site_exec("DELETE FROM orders WHERE id = 7");
  report = agent.run_cycle(false);
  EXPECT_FALSE(table_of(report, "orders").unread);
  cycles(agent, "orders", 2);
  // expect_remote_matches describes with the default column: compare the store directly.
  pqxx::connection store{store_db_.url()};
  pqxx::nontransaction n{store};
  auto count = n.exec("SELECT count(*), count(*) FILTER (WHERE note = 'u') FROM "
                      "tidesync_data.orders")[0];
  EXPECT_EQ(count[0].as<int>(), 99);
  EXPECT_EQ(count[1].as<int>(), 1);
}

TEST_F(idle_hostile_sqlite, WritesFromAnotherProcessWhileCyclesRun) {
  make_orders();
  actors::agent agent{agent_config({"orders"}), quick_retries()};
  synced_orders(agent);
  std::atomic<bool> stop{false};
  std::atomic<int> failures{0};
  std::thread writer{[&] {
    for (int i = 0; !stop; ++i) {
      std::string sql = "INSERT INTO orders (id, note) VALUES (" + std::to_string(10000 + i) +
                        ", 'p'); UPDATE orders SET note = 'p" + std::to_string(i) +
                        "' WHERE id = " + std::to_string(1 + i % 100) +
                        "; DELETE FROM orders WHERE id = " + std::to_string(10000 + i / 2) + ";";
      auto command = "sqlite3 -cmd '.timeout 5000' '" + site_file().string() + "' \"" + sql +
                     "\" >/dev/null 2>&1";
      if (std::system(command.c_str()) != 0)
        ++failures;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }};
  for (int cycle = 0; cycle < 40; ++cycle) {
    agent.run_cycle(false);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  stop = true;
  writer.join();
  EXPECT_EQ(failures.load(), 0);
  caught_up(agent);
}

} // namespace tidesync::testing
