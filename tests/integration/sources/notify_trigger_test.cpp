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
    pg_exec(db_.url(), "CREATE TABLE orders (id bigint PRIMARY KEY, note text); "
                       "CREATE TABLE stock (id bigint PRIMARY KEY, qty integer); "
                       "INSERT INTO orders VALUES (1, 'a'), (2, 'b'); "
                       "INSERT INTO stock VALUES (1, 5)");
    apply_version_tracking(db_.url(), {tracked("orders"), tracked("stock")});
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

TEST_F(NotifyTrigger, ASessionWithNotifyOffAnnouncesNothingButStillCounts) {
  pqxx::connection app{db_.url()};
  auto counter = [&] {
    return testing::pg_int(db_.url(), "SELECT last_value FROM tidesync_orders_changes");
  };
  auto before = counter();
  {
    pqxx::nontransaction tx{app};
    tx.exec("SET tidesync.notify = off");
    tx.exec("UPDATE orders SET note = 'quiet' WHERE id = 1");
    tx.exec("INSERT INTO orders VALUES (3, 'quiet')");
  }
  EXPECT_EQ(count(heard(), "orders"), 0u);
  EXPECT_EQ(counter(), before + 2);
}

} // namespace
} // namespace tidesync::storage
