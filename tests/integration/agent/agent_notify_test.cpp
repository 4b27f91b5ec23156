// Change notification: a committed change wakes a running agent, long before
// its interval.
#include "actors/agent.hpp"

#include "tests/integration/agent/agent_fixture.hpp"
#include "tests/support/time_scale.hpp"

#include <pqxx/pqxx>
#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <optional>
#include <thread>

namespace tidesync::testing {

namespace {

using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;
using actors::cycle_reason;

// Long enough that only a notification can explain a prompt arrival.
constexpr auto long_interval = 60s;
// What "promptly" means for one change on a loaded 2-core machine.
const auto prompt = scaled(5s);
// How long a test waits for anything at all.
const auto patience = scaled(60s);
// Woken cycles a burst of commits may cost: one per notify gap while the
// commits keep coming (the coalescing guarantee; a burst written slowly on a
// loaded machine lasts longer and earns more), at least 50, and a few after
// the last commit.
int burst_cycle_limit(clock_type::duration writing) {
  auto gaps = static_cast<int>(writing / actors::notify_cycle_gap);
  return std::max(50, gaps + 5);
}

std::optional<clock_type::time_point> wait_until(const std::function<bool()>& done,
                                                 clock_type::duration limit = patience) {
  const auto deadline = clock_type::now() + limit;
  while (clock_type::now() < deadline) {
    if (done())
      return clock_type::now();
    std::this_thread::sleep_for(10ms);
  }
  return std::nullopt;
}

/// `agent::run()` on its own thread, counting the cycles it starts by reason.
class counted_agent {
public:
  explicit counted_agent(const config::agent_config& config)
    : agent_{config, hooks()}, thread_{[this] { agent_.run(); }} {}
  ~counted_agent() {
    agent_.stop();
    thread_.join();
  }

  int interval_cycles() const { return interval_; }
  int change_cycles() const { return change_; }

private:
  actors::agent_hooks hooks() {
    auto out = quick_retries();
    out.on_cycle = [this](cycle_reason reason) {
      ++(reason == cycle_reason::interval ? interval_ : change_);
    };
    return out;
  }

  std::atomic<int> interval_{0};
  std::atomic<int> change_{0};
  actors::agent agent_;
  std::thread thread_;
};

class AgentNotify : public agent_test {
protected:
  void SetUp() override {
    agent_test::SetUp();
    site_exec("CREATE TABLE orders (id BIGINT PRIMARY KEY, note TEXT)");
    site_exec(rows_of("INSERT INTO orders (id, note)", "i, 'order ' || i", 100));
    site_exec("CREATE TABLE items (id BIGINT PRIMARY KEY, note TEXT)");
    site_exec(rows_of("INSERT INTO items (id, note)", "i, 'item ' || i", 10));
    prepare({"orders", "items"});
  }

  void TearDown() override {
    agent_.reset();
    agent_test::TearDown();
  }

  /// Starts an agent with a 60 s interval and waits for its first cycle to copy both tables.
  void start_agent(bool notify = true) {
    auto config = agent_config({"orders", "items"});
    config.interval = long_interval;
    config.notify = notify;
    config.batch = {1, 500, 5000};
    agent_ = std::make_unique<counted_agent>(config);
    ASSERT_TRUE(wait_until([&] {
      return remote_rows("orders").size() == 100 && remote_rows("items").size() == 10;
    }));
  }

  /// Waits until no woken cycle has started for a second (the start-up ones are over).
  void wait_for_quiet() {
    int seen = -1;
    auto quiet_since = clock_type::now();
    ASSERT_TRUE(wait_until([&] {
      if (agent_->change_cycles() != seen) {
        seen = agent_->change_cycles();
        quiet_since = clock_type::now();
      }
      return clock_type::now() - quiet_since >= 1s;
    }));
  }

  bool remote_note_is(std::int64_t id, const std::string& note) {
    auto remote = remote_rows("orders");
    auto row = remote.find({std::to_string(id)});
    return row != remote.end() && row->second.at(1) == "\"" + note + "\"";
  }

  /// Commits a one-row UPDATE and returns how long it took to reach the cloud.
  std::chrono::milliseconds update_arrives_after(std::int64_t id, const std::string& note) {
    site_exec("UPDATE orders SET note = '" + note + "' WHERE id = " + std::to_string(id));
    const auto committed = clock_type::now();
    auto arrival = wait_until([&] { return remote_note_is(id, note); });
    EXPECT_TRUE(arrival) << "the update of " << id << " never reached the cloud";
    return std::chrono::duration_cast<std::chrono::milliseconds>(
      arrival.value_or(clock_type::now()) - committed);
  }

  std::unique_ptr<counted_agent> agent_;
};

TEST_P(AgentNotify, AOneRowUpdateArrivesPromptlyWithoutWaitingForTheInterval) {
  start_agent();
  wait_for_quiet();
  for (int i = 1; i <= 3; ++i) {
    auto took = update_arrives_after(i * 7, "changed " + std::to_string(i));
    EXPECT_LT(took, prompt) << "update " << i << " took " << took.count() << " ms";
  }
  EXPECT_EQ(agent_->interval_cycles(), 1) << "only the first cycle may be the interval's";
  expect_remote_matches("orders");
}

TEST_P(AgentNotify, AnIdleAgentDoesNotWakeItself) {
  start_agent();
  wait_for_quiet();
  const int before = agent_->change_cycles();
  // Nothing changes at the site: absence can only be watched for a while.
  std::this_thread::sleep_for(3s);
  EXPECT_EQ(agent_->change_cycles() - before, 0);
  EXPECT_EQ(agent_->interval_cycles(), 1);
}

TEST_P(AgentNotify, WithNotifyOffAChangeWaitsForTheInterval) {
  start_agent(false);
  site_exec("UPDATE orders SET note = 'unannounced' WHERE id = 3");
  std::this_thread::sleep_for(2s);
  EXPECT_FALSE(remote_note_is(3, "unannounced"));
  EXPECT_EQ(agent_->change_cycles(), 0);
  EXPECT_EQ(agent_->interval_cycles(), 1);
}

/// Inserts rows first..last, one transaction each, as fast as they commit.
void insert_one_per_transaction(const std::string& url, const std::filesystem::path& sqlite_file,
                                bool postgres, int first, int last) {
  if (postgres) {
    pqxx::connection connection{url};
    pqxx::nontransaction autocommit{connection};
    for (int id = first; id <= last; ++id)
      autocommit.exec0("INSERT INTO orders (id, note) VALUES (" + std::to_string(id) +
                       ", 'burst')");
    return;
  }
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(sqlite_file.c_str(), &db), SQLITE_OK);
  sqlite3_busy_timeout(db, 10'000);
  // As fast as they go: without a sync per commit, 10,000 take a second or two.
  ASSERT_EQ(sqlite3_exec(db, "PRAGMA synchronous = OFF", nullptr, nullptr, nullptr), SQLITE_OK);
  for (int id = first; id <= last; ++id) {
    const auto sql = "INSERT INTO orders (id, note) VALUES (" + std::to_string(id) + ", 'burst')";
    ASSERT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK)
      << sqlite3_errmsg(db);
  }
  sqlite3_close(db);
}

TEST_P(AgentNotify, ABurstOfTenThousandCommitsCostsAHandfulOfCyclesAndEveryRowArrives) {
  start_agent();
  wait_for_quiet();
  const int before = agent_->change_cycles();
  const auto started = clock_type::now();
  insert_one_per_transaction(site_url_, dir_.path() / "site.db", is_postgres(), 1001, 11'000);
  const auto written = clock_type::now();
  ASSERT_TRUE(wait_until([&] { return remote_rows("orders").size() == 10'100; }))
    << remote_rows("orders").size() << " rows arrived";
  const int cycles = agent_->change_cycles() - before;
  RecordProperty("woken_cycles", cycles);
  RecordProperty("write_ms", static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                                written - started).count()));
  EXPECT_LE(cycles, burst_cycle_limit(written - started))
    << "10,000 commits in "
    << std::chrono::duration_cast<std::chrono::milliseconds>(written - started).count() << " ms";
  EXPECT_GE(cycles, 1);
  EXPECT_EQ(agent_->interval_cycles(), 1);
  expect_remote_matches("orders");
}

INSTANTIATE_TEST_SUITE_P(SiteKinds, AgentNotify,
                         ::testing::Values(site_kind::sqlite, site_kind::postgresql), site_name);

class AgentNotifyPostgres : public AgentNotify {};

/// The backend pid of the agent's listening connection to the site database, if any.
std::optional<int> listener_pid(const std::string& site_url) {
  pqxx::connection connection{site_url};
  pqxx::nontransaction tx{connection};
  auto rows = tx.exec("SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                      "AND query LIKE 'LISTEN%' AND pid <> pg_backend_pid()");
  if (rows.empty())
    return std::nullopt;
  return rows[0][0].as<int>();
}

TEST_P(AgentNotifyPostgres, AKilledListeningConnectionIsReopenedAndChangesStillArrivePromptly) {
  start_agent();
  std::optional<int> first;
  ASSERT_TRUE(wait_until([&] { return (first = listener_pid(site_url_)).has_value(); }));
  wait_for_quiet();
  pg_exec(site_url_, "SELECT pg_terminate_backend(" + std::to_string(*first) + ")");
  ASSERT_TRUE(wait_until([&] {
    auto now = listener_pid(site_url_);
    return now && *now != *first;
  })) << "no new listening connection";
  auto took = update_arrives_after(11, "after the reconnect");
  EXPECT_LT(took, prompt) << took.count() << " ms";
  EXPECT_EQ(agent_->interval_cycles(), 1);
}

TEST_P(AgentNotifyPostgres, AChangeWhileNobodyListenedArrivesAfterTheReconnect) {
  start_agent();
  std::optional<int> first;
  ASSERT_TRUE(wait_until([&] { return (first = listener_pid(site_url_)).has_value(); }));
  wait_for_quiet();
  // The update commits while the listener is gone: nobody hears its notification.
  pg_exec(site_url_, "SELECT pg_terminate_backend(" + std::to_string(*first) + ");"
                     "UPDATE orders SET note = 'in the gap' WHERE id = 12");
  ASSERT_TRUE(wait_until([&] { return remote_note_is(12, "in the gap"); }, prompt));
  EXPECT_EQ(agent_->interval_cycles(), 1);
}

TEST_P(AgentNotifyPostgres, AHostilePayloadWakesTheDatabaseAndChangesNothing) {
  start_agent();
  ASSERT_TRUE(wait_until([&] { return listener_pid(site_url_).has_value(); }));
  wait_for_quiet();
  const int before = agent_->change_cycles();
  pg_exec(site_url_, "SELECT pg_notify('tidesync', 'or\"ders; DROP TABLE orders; --'), "
                     "pg_notify('tidesync', 'it''ems with spaces'), pg_notify('tidesync', '')");
  ASSERT_TRUE(wait_until([&] { return agent_->change_cycles() > before; }, prompt));
  expect_remote_matches("orders");
  expect_remote_matches("items");
  auto took = update_arrives_after(13, "still listening");
  EXPECT_LT(took, prompt) << took.count() << " ms";
}

INSTANTIATE_TEST_SUITE_P(Postgres, AgentNotifyPostgres, ::testing::Values(site_kind::postgresql),
                         site_name);

} // namespace

} // namespace tidesync::testing
