// What the tidesync_notify trigger `prepare` installs announces to a
// listening agent, on a real PostgreSQL database: enough to wake it for every
// table a session writes, never one notification per commit.
#include "storage/version_tracking.hpp"
#include "tests/integration/sources/source_fixtures.hpp"
#include "tests/support/test_database.hpp"

#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include <algorithm>
#include <chrono>
#include <string>
#include <vector>

namespace tidesync::storage {
namespace {

using testing::pg_exec;
using testing::tracked;
using namespace std::chrono_literals;

constexpr const char* end_marker = "end of test writes";

// The payloads of the `tidesync` channel, in commit order.
class announcements : public pqxx::notification_receiver {
public:
  explicit announcements(pqxx::connection_base& c) : pqxx::notification_receiver{c, "tidesync"} {}
  void operator()(const std::string& payload, int) override { payloads.push_back(payload); }
  std::vector<std::string> payloads;
};

class NotifyTrigger : public ::testing::Test {
protected:
  void SetUp() override {
    testing::make_prepared_orders_and_stock(db_.url());
    heard_ = std::make_unique<announcements>(listener_);
  }

  // Everything announced before this call: another session's notification
  // commits last, and notifications arrive in commit order.
  std::vector<std::string> heard() {
    pg_exec(db_.url(), std::string{"NOTIFY tidesync, '"} + end_marker + "'");
    auto deadline = std::chrono::steady_clock::now() + 30s;
    while (std::find(heard_->payloads.begin(), heard_->payloads.end(), end_marker) ==
             heard_->payloads.end() &&
           std::chrono::steady_clock::now() < deadline)
      listener_.await_notification(0, 100'000);
    auto payloads = heard_->payloads;
    EXPECT_NE(std::find(payloads.begin(), payloads.end(), end_marker), payloads.end())
      << "the marker notification never arrived";
    heard_->payloads.clear();
    payloads.erase(std::remove(payloads.begin(), payloads.end(), end_marker), payloads.end());
    return payloads;
  }

  // Runs `writes` in a new application session until they start and end
  // within one quarter-second slot of the server's clock (the trigger's unit
  // of silence), so what a test expects is not an artefact of a boundary. A
  // new session each time: an attempt's announcements would silence the next.
  template <typename Writes>
  void within_one_slot(Writes writes) {
    for (int attempt = 0; attempt < 20; ++attempt) {
      pqxx::connection app{db_.url()};
      auto slot = [&] {
        pqxx::nontransaction tx{app};
        return tx.exec("SELECT floor(date_part('epoch', clock_timestamp()) * 4)")[0][0]
          .as<std::string>();
      };
      heard();
      auto before = slot();
      writes(app);
      if (slot() == before)
        return;
    }
    FAIL() << "twenty attempts each crossed a quarter-second boundary";
  }

  testing::test_database db_;
  pqxx::connection listener_{db_.url()};
  std::unique_ptr<announcements> heard_;
};

std::size_t count(const std::vector<std::string>& payloads, const std::string& table) {
  return static_cast<std::size_t>(std::count(payloads.begin(), payloads.end(), table));
}

TEST_F(NotifyTrigger, ABusySessionAnnouncesATableAFewTimesASecondNotEveryCommit) {
  pqxx::connection app{db_.url()};
  constexpr int commits = 300;
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < commits; ++i) {
    pqxx::nontransaction tx{app};
    tx.exec("UPDATE orders SET note = 'n" + std::to_string(i) + "' WHERE id = 1");
  }
  auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
    std::chrono::steady_clock::now() - start);
  auto payloads = heard();
  // At most one announcement per quarter second the writes spanned (plus the
  // slot they started in).
  auto bound = static_cast<std::size_t>(elapsed.count() / 250 + 2);
  EXPECT_GE(count(payloads, "orders"), 1u);
  EXPECT_LE(count(payloads, "orders"), bound) << commits << " commits in " << elapsed.count()
                                              << " ms";
  EXPECT_LT(bound, static_cast<std::size_t>(commits)) << "the writes were too slow to tell";
}

TEST_F(NotifyTrigger, EachTableASessionWritesIsAnnouncedOnItsOwn) {
  within_one_slot([](pqxx::connection& app) {
    pqxx::nontransaction tx{app};
    tx.exec("UPDATE orders SET note = 'x' WHERE id = 1");
    tx.exec("UPDATE stock SET qty = qty + 1 WHERE id = 1");
    tx.exec("UPDATE orders SET note = 'y' WHERE id = 2");
  });
  auto payloads = heard();
  EXPECT_EQ(count(payloads, "orders"), 1u);
  EXPECT_EQ(count(payloads, "stock"), 1u);
}

// The session remembers its last announcement in a setting that a rollback
// reverts: an announcement that never reached anyone silences nothing.
TEST_F(NotifyTrigger, ARolledBackAnnouncementDoesNotSilenceTheNextCommit) {
  within_one_slot([](pqxx::connection& app) {
    {
      pqxx::work tx{app};
      tx.exec("UPDATE orders SET note = 'rolled back' WHERE id = 1");
      tx.abort();
    }
    pqxx::nontransaction tx{app};
    tx.exec("UPDATE orders SET note = 'kept' WHERE id = 2");
  });
  EXPECT_EQ(count(heard(), "orders"), 1u);
}

// Every spelling an operator may use to say "off" is off: a two-phase
// application that wrote `false` would otherwise fail its PREPAREs.
TEST_F(NotifyTrigger, ASessionWithNotifyOffAnnouncesNothingButStillCounts) {
  auto counter = [&] {
    return testing::pg_int(db_.url(), "SELECT last_value FROM tidesync_orders_changes");
  };
  std::int64_t id = 10;
  for (const char* off : {"off", "OFF", "false", "no", "0"}) {
    pqxx::connection app{db_.url()};
    auto before = counter();
    {
      pqxx::nontransaction tx{app};
      tx.exec(std::string{"SET tidesync.notify = '"} + off + "'");
      tx.exec("UPDATE orders SET note = 'quiet' WHERE id = 1");
      tx.exec("INSERT INTO orders VALUES (" + std::to_string(++id) + ", 'quiet')");
    }
    EXPECT_EQ(count(heard(), "orders"), 0u) << "tidesync.notify = '" << off << "'";
    EXPECT_EQ(counter(), before + 2) << "tidesync.notify = '" << off << "'";
  }
}

// The trigger runs in the writer's session, under its search_path: a
// function planted in a schema earlier on that path, matching a call better
// than pg_catalog's, must not run there.
TEST_F(NotifyTrigger, AFunctionPlantedOnTheSearchPathNeverRunsInAWritersSession) {
  pg_exec(db_.url(),
          "CREATE SCHEMA planted; CREATE TABLE planted.ran (what text); "
          "CREATE FUNCTION planted.pg_notify(text, name) RETURNS void LANGUAGE sql AS "
          "$$ INSERT INTO planted.ran VALUES ('pg_notify') $$; "
          "CREATE FUNCTION planted.nextval(regclass) RETURNS bigint LANGUAGE sql AS "
          "$$ INSERT INTO planted.ran VALUES ('nextval') RETURNING 1::bigint $$; "
          "CREATE FUNCTION planted.jsonb_build_object(text, bigint) RETURNS jsonb LANGUAGE sql "
          "AS $$ INSERT INTO planted.ran VALUES ('jsonb_build_object') RETURNING '{}'::jsonb $$");
  pqxx::connection app{db_.url()};
  {
    pqxx::nontransaction tx{app};
    tx.exec("SET search_path = planted, public, pg_catalog");
    tx.exec("UPDATE public.orders SET note = 'planted' WHERE id = 1");
    tx.exec("INSERT INTO public.orders VALUES (7, 'planted')");
  }
  EXPECT_EQ(testing::pg_int(db_.url(), "SELECT count(*) FROM planted.ran"), 0);
  EXPECT_EQ(count(heard(), "orders"), 1u);
}

// A role allowed to write through a view, but not to use the schema of the
// table behind it, writes as it would without tidesync: the counter lives in
// that schema, and the trigger reaches it as whoever prepared the table.
TEST(NotifyTriggerPrivileges, AWriterWithoutUsageOnTheTablesSchemaStillWritesThroughAView) {
  testing::test_database db;
  const auto role = "tidesync_view_writer_" + db.name();
  pg_exec(db.url(), "CREATE SCHEMA back; CREATE TABLE back.items (id bigint PRIMARY KEY, v text); "
                    "CREATE SCHEMA api; CREATE VIEW api.items AS SELECT id, v FROM back.items; "
                    "CREATE ROLE " + role + "; GRANT USAGE ON SCHEMA api TO " + role +
                    "; GRANT INSERT ON api.items TO " + role);
  struct drop_role {
    std::string url, role;
    ~drop_role() { pg_exec(url, "DROP OWNED BY " + role + "; DROP ROLE " + role); }
  } cleanup{db.url(), role};
  const auto in_back = db.url() + (db.url().find('?') == std::string::npos ? "?" : "&") +
                       "options=-csearch_path%3Dback";
  apply_version_tracking(in_back, {tracked("items")});
  auto counter = [&] {
    return testing::pg_int(db.url(), "SELECT last_value FROM back.tidesync_items_changes");
  };
  auto before = counter();
  pqxx::connection app{db.url()};
  pqxx::nontransaction tx{app};
  tx.exec("SET ROLE " + role);
  tx.exec("INSERT INTO api.items VALUES (1, 'through the view')");
  tx.exec("RESET ROLE");
  EXPECT_EQ(counter(), before + 1);
  EXPECT_GT(testing::pg_int(db.url(), "SELECT tidesync_version FROM back.items WHERE id = 1"), 0);
}

// The notify function runs as its owner, so nobody else may attach it to a
// table of their own (it would move whatever sequence they name).
TEST(NotifyTriggerPrivileges, NobodyElseMayAttachTheNotifyFunctionToATable) {
  testing::test_database db;
  const auto role = "tidesync_table_owner_" + db.name();
  pg_exec(db.url(), "CREATE TABLE orders (id bigint PRIMARY KEY); CREATE ROLE " + role +
                      "; GRANT CREATE ON SCHEMA public TO " + role);
  struct drop_role {
    std::string url, role;
    ~drop_role() { pg_exec(url, "DROP OWNED BY " + role + "; DROP ROLE " + role); }
  } cleanup{db.url(), role};
  apply_version_tracking(db.url(), {tracked("orders")});
  pqxx::connection other{db.url()};
  pqxx::nontransaction tx{other};
  tx.exec("SET ROLE " + role);
  tx.exec("CREATE TABLE mine (id bigint)");
  try {
    tx.exec("CREATE TRIGGER borrowed AFTER INSERT ON mine FOR EACH STATEMENT EXECUTE FUNCTION "
            "tidesync_notify('tidesync_orders_changes')");
    ADD_FAILURE() << "another role attached tidesync_notify to its own table";
  } catch (const pqxx::insufficient_privilege&) {
  }
}

} // namespace
} // namespace tidesync::storage
