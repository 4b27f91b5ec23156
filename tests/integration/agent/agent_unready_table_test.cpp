// A table whose prepare has not finished is not ready: the agent uploads and
// deletes nothing for it and status says why.
#include "tests/integration/agent/agent_fixture.hpp"
#include "tests/integration/agent/agent_cli_support.hpp"
#include "tests/support/child_process.hpp"

#include <gtest/gtest.h>
#include <pqxx/pqxx>

namespace tidesync::testing {
namespace {

class AgentUnreadyTable : public postgres_agent_test {
protected:
  void SetUp() override {
    postgres_agent_test::SetUp();
    site_exec("CREATE TABLE orders (id int PRIMARY KEY, note text)");
    site_exec(rows_of("INSERT INTO orders (id, note)", "i, 'order ' || i", 40));
    prepare({"orders"});
  }

  // The cloud copy read straight from the store: remote_rows() would describe
  // the site table, which is what refuses here.
  std::string stored_rows() {
    pqxx::connection conn{store_db_.url()};
    pqxx::nontransaction tx{conn};
    std::string out;
    if (tx.exec("SELECT to_regclass('tidesync_data.orders')")[0][0].is_null())
      return out;  // never declared
    for (const auto& row : tx.exec("SELECT id::text || ' ' || note || ' ' || "
                                   "tidesync_version::text FROM tidesync_data.orders ORDER BY id"))
      out += row[0].as<std::string>() + "\n";
    return out;
  }

  run_result status() {
    auto config = write_agent_yaml(dir_.path(), port_, token_,
                                   database_yaml("store-01", site_url_, "[orders]"));
    return run_to_completion(TIDESYNC_BINARY, {"status", "--config", config.string()},
                             dir_.path());
  }
};

// What a prepare killed during its backfill leaves: the trigger, a nullable
// version column, and rows without a version.
TEST_F(AgentUnreadyTable, ATableWithRowsStillUnversionedIsNotReadNorTakenForEmpty) {
  ASSERT_TRUE(run_once({"orders"}).all_in_sync());
  auto synced = stored_rows();
  ASSERT_EQ(remote_rows("orders").size(), 40u);
  site_exec("ALTER TABLE orders ALTER COLUMN tidesync_version DROP NOT NULL;"
            "SET session_replication_role = replica;"
            "UPDATE orders SET tidesync_version = NULL WHERE id > 10;"
            "DELETE FROM orders WHERE id <= 10");

  auto report = run_once({"orders"});
  auto line = table_of(report, "orders");
  EXPECT_NE(line.error.find("is not ready: preparing it has not finished"), std::string::npos)
    << line.error;
  EXPECT_EQ(line.rows_uploaded, 0);
  EXPECT_EQ(line.rows_deleted, 0);
  EXPECT_EQ(stored_rows(), synced);

  auto shown = status();
  EXPECT_EQ(shown.exit_code, 1);
  EXPECT_NE((shown.out + shown.err).find("is not ready"), std::string::npos)
    << shown.out << shown.err;

  prepare({"orders"});
  ASSERT_TRUE(run_once({"orders"}).all_in_sync());
  expect_remote_matches("orders");
}

TEST_F(AgentUnreadyTable, ATableWithoutItsVersionTriggerIsNotReady) {
  site_exec("DROP TRIGGER tidesync_version ON orders");
  auto line = table_of(run_once({"orders"}), "orders");
  EXPECT_NE(line.error.find("tidesync_version trigger is missing"), std::string::npos)
    << line.error;
  EXPECT_EQ(line.rows_uploaded, 0);
  EXPECT_EQ(stored_rows(), "");
}

// What a SQLite prepare killed during its backfill leaves: the triggers, rows
// without a version, and no version index yet (prepare builds it last).
class AgentUnreadySqliteTable : public sqlite_agent_test {};

TEST_F(AgentUnreadySqliteTable, ATableWithRowsStillUnversionedIsNotReadNorTakenForEmpty) {
  site_exec("CREATE TABLE orders (id INTEGER PRIMARY KEY, note TEXT)");
  site_exec(rows_of("INSERT INTO orders (id, note)", "i, 'order ' || i", 40));
  prepare({"orders"});
  ASSERT_TRUE(run_once({"orders"}).all_in_sync());
  ASSERT_EQ(remote_rows("orders").size(), 40u);
  // Rows a backfill had not reached yet, with the index not built yet.
  site_exec("DROP INDEX " + std::string{"tidesync_orders_version"} + ";"
            "DELETE FROM orders WHERE id <= 10;"
            "UPDATE orders SET tidesync_version = NULL WHERE id > 10");

  auto line = table_of(run_once({"orders"}), "orders");
  EXPECT_NE(line.error.find("is not ready: preparing it has not finished (its version index"),
            std::string::npos)
    << line.error;
  EXPECT_EQ(line.rows_uploaded, 0);
  EXPECT_EQ(line.rows_deleted, 0);

  // An index built by hand does not make rows without a version ready.
  site_exec("CREATE INDEX by_version ON orders (tidesync_version, id)");
  line = table_of(run_once({"orders"}), "orders");
  EXPECT_NE(line.error.find("rows without a version remain"), std::string::npos) << line.error;
  EXPECT_EQ(line.rows_deleted, 0);
  site_exec("DROP INDEX by_version");

  prepare({"orders"});
  ASSERT_TRUE(run_once({"orders"}).all_in_sync());
  expect_remote_matches("orders");
}

TEST_F(AgentUnreadySqliteTable, ATableWithoutItsTriggersIsNotReady) {
  site_exec("CREATE TABLE orders (id INTEGER PRIMARY KEY, note TEXT)");
  site_exec(rows_of("INSERT INTO orders (id, note)", "i, 'order ' || i", 5));
  prepare({"orders"});
  site_exec("DROP TRIGGER tidesync_orders_update");
  auto line = table_of(run_once({"orders"}), "orders");
  EXPECT_NE(line.error.find("its tidesync triggers are missing"), std::string::npos)
    << line.error;
  EXPECT_EQ(line.rows_uploaded, 0);
}

} // namespace
} // namespace tidesync::testing
