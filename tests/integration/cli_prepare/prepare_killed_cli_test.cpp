// `tidesync prepare` killed with SIGKILL while PostgreSQL works for it (a
// concurrent index build, a backfill batch), its orphaned backend ended as a
// dead client's eventually is, then run again: it finishes with nothing twice.
#include "storage/source.hpp"
#include "tests/integration/sources/source_fixtures.hpp"
#include "tests/integration/sources/tracking_catalog.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/test_database.hpp"
#include "tests/support/time_scale.hpp"

#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include <chrono>
#include <csignal>
#include <memory>
#include <optional>
#include <thread>

namespace tidesync::testing {
namespace {

using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

constexpr std::int64_t backfill_rows = 200000;

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// stderr without the lines prepare warns with about the server (the test
// cluster allows two-phase commit, which prepare points out).
std::string without_warnings(const std::string& err) {
  std::string kept;
  std::size_t start = 0;
  while (start < err.size()) {
    auto end = err.find('\n', start);
    end = end == std::string::npos ? err.size() : end + 1;
    auto line = err.substr(start, end - start);
    if (line.find(": warning: ") == std::string::npos)
      kept += line;
    start = end;
  }
  return kept;
}

// Asks `done` every `pause` until it holds or `limit` (scaled) has passed.
template <class Condition>
bool eventually(Condition&& done, std::chrono::milliseconds limit,
                std::chrono::milliseconds pause = 10ms) {
  auto deadline = clock_type::now() + scaled(limit);
  while (!done()) {
    if (clock_type::now() >= deadline)
      return false;
    std::this_thread::sleep_for(pause);
  }
  return true;
}

class PrepareKilledCli : public ::testing::Test {
protected:
  std::unique_ptr<child_process> start_prepare(const std::string& table) {
    return std::make_unique<child_process>(
      TIDESYNC_BINARY, std::vector<std::string>{"prepare", "--source", pg_.url(), "--table", table},
      dir_.path());
  }

  run_result prepare(const std::string& table) {
    return run_to_completion(TIDESYNC_BINARY, {"prepare", "--source", pg_.url(), "--table", table},
                             dir_.path());
  }

  /// The pid of a backend of the test database running a statement that
  /// starts with `statement` and, unless `wait_event` is empty, waiting on it.
  std::optional<int> backend_running(const std::string& statement,
                                     const std::string& wait_event = "") {
    pqxx::nontransaction tx{watcher_};
    auto rows = tx.exec_params(
      "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND "
      "pid <> pg_backend_pid() AND state = 'active' AND left(query, length($1)) = $1 AND "
      "($2 = '' OR wait_event = $2)",
      statement, wait_event);
    if (rows.empty())
      return std::nullopt;
    return rows[0][0].as<int>();
  }

  /// Ends `orphan`, the killed prepare's busy backend, as TCP keepalive or an
  /// operator eventually would (PostgreSQL notices a gone client only when it
  /// next talks to it), and waits until every session of that prepare is
  /// gone: its idle ones end as soon as PostgreSQL reads their closed socket.
  /// `keep` is a session of the test's own.
  void end_orphaned_sessions(int orphan, int keep = 0) {
    {
      pqxx::nontransaction tx{watcher_};
      tx.exec_params("SELECT pg_terminate_backend($1)", orphan);
    }
    auto others = [&] {
      pqxx::nontransaction tx{watcher_};
      return tx
        .exec_params("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                     "AND backend_type = 'client backend' AND pid <> pg_backend_pid() AND "
                     "pid <> $1",
                     keep)[0][0]
        .as<std::int64_t>();
    };
    ASSERT_TRUE(eventually([&] { return others() == 0; }, 30s))
      << others() << " sessions of the killed prepare are still there";
  }

  /// What the agent's source says of `table`: empty when it reads as ready.
  std::string readiness(const std::string& table) {
    try {
      storage::open_source(pg_.url())->describe(table, {}, "tidesync_version", std::nullopt);
      return "";
    } catch (const std::exception& e) {
      return e.what();
    }
  }

  temp_directory dir_;
  test_database pg_;
  pqxx::connection watcher_{pg_.url()};
};

// CREATE INDEX CONCURRENTLY waits for every transaction of the database that
// holds an older snapshot: a repeatable-read one keeps the build waiting, its
// index in the catalog and not yet valid, for as long as the test needs.
TEST_F(PrepareKilledCli, APrepareKilledDuringItsConcurrentIndexBuildFinishesWhenRunAgain) {
  pg_exec(pg_.url(), "CREATE TABLE orders (id bigint PRIMARY KEY, note text);"
                     "INSERT INTO orders SELECT g, md5(g::text) FROM generate_series(1, 5000) g");
  pqxx::connection app{pg_.url()};
  auto held = std::make_unique<pqxx::transaction<pqxx::isolation_level::repeatable_read>>(app);
  held->exec("SELECT count(*) FROM pg_class");
  auto held_pid = app.backendpid();

  auto first = start_prepare("orders");
  std::optional<int> building;
  auto waiting = [&] {
    building = backend_running("CREATE INDEX CONCURRENTLY", "virtualxid");
    return building.has_value();
  };
  ASSERT_TRUE(eventually(waiting, 60s))
    << "prepare never waited inside CREATE INDEX CONCURRENTLY:\n"
    << first->out() << first->err();
  first->signal(SIGKILL);
  EXPECT_EQ(first->wait(), 128 + SIGKILL);
  ASSERT_NO_FATAL_FAILURE(end_orphaned_sessions(*building, held_pid));
  held->commit();
  held.reset();

  // The killed build leaves its index invalid; the rest was done before it.
  auto left = read_tracking(pg_.url(), "orders");
  EXPECT_EQ(left.invalid_indexes, 1);
  EXPECT_EQ(left.valid_indexes, 0);
  EXPECT_EQ(left.version_triggers, 1);
  EXPECT_EQ(left.notify_triggers, 1);
  EXPECT_TRUE(left.not_null);

  auto resumed = prepare("orders");
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err << resumed.out;
  EXPECT_EQ(without_warnings(resumed.err), "");
  EXPECT_TRUE(
    contains(resumed.out, ": orders: replace the version index an interrupted build left invalid"))
    << resumed.out;
  EXPECT_TRUE(contains(resumed.out, ": orders: installed version tracking (2 statements)\n"))
    << resumed.out;
  EXPECT_FALSE(contains(resumed.out, "add the version column")) << resumed.out;
  EXPECT_FALSE(contains(resumed.out, "install the triggers")) << resumed.out;
  expect_fully_prepared(pg_.url(), "orders");
  EXPECT_EQ(pg_int(pg_.url(), "SELECT count(*) FROM pg_index WHERE indrelid = 'orders'::regclass "
                              "AND indexrelid = '\"tidesync_orders_version\"'::regclass AND "
                              "indisvalid"),
            1);
  EXPECT_EQ(readiness("orders"), "");
  EXPECT_TRUE(contains(prepare("orders").out, ": orders: already prepared\n"));
}

// A nullable version column is backfilled in batches, each its own
// transaction: the batch the kill catches never commits (its COMMIT would
// have come from the dead client), the ones before it stay.
TEST_F(PrepareKilledCli, APrepareKilledDuringABackfillBatchVersionsTheRestWhenRunAgain) {
  pg_exec(pg_.url(), "CREATE TABLE big (id int PRIMARY KEY, note text, tidesync_version bigint);"
                     "INSERT INTO big SELECT g, md5(g::text) FROM generate_series(1, " +
                       std::to_string(backfill_rows) + ") g");
  auto versioned = [&] {
    return pg_int(pg_.url(), "SELECT count(*) FROM (SELECT 1 FROM big WHERE tidesync_version "
                             "IS NOT NULL LIMIT 1) s") > 0;
  };

  auto first = start_prepare("big");
  std::optional<int> batch;
  auto in_batch = [&] {
    batch = backend_running("UPDATE \"big\" SET \"tidesync_version\"");
    return batch.has_value();
  };
  ASSERT_TRUE(eventually(versioned, 60s)) << first->out() << first->err();
  ASSERT_TRUE(eventually(in_batch, 60s, 1ms))
    << "no backfill batch seen running:\n" << first->out() << first->err();
  first->signal(SIGKILL);
  EXPECT_EQ(first->wait(), 128 + SIGKILL);
  ASSERT_NO_FATAL_FAILURE(end_orphaned_sessions(*batch));

  auto left = read_tracking(pg_.url(), "big");
  ASSERT_GT(left.unversioned, 0) << "the kill came after the backfill: the test proves nothing";
  ASSERT_LT(left.unversioned, backfill_rows);
  EXPECT_EQ(left.version_triggers, 1);
  EXPECT_FALSE(left.not_null);
  EXPECT_TRUE(contains(readiness("big"), "is not ready")) << readiness("big");

  auto resumed = prepare("big");
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err << resumed.out;
  EXPECT_EQ(without_warnings(resumed.err), "");
  EXPECT_TRUE(contains(resumed.out, "gave " + std::to_string(left.unversioned) + " rows a version"))
    << resumed.out;
  EXPECT_TRUE(contains(resumed.out, ": big: installed version tracking (")) << resumed.out;
  EXPECT_FALSE(contains(resumed.out, "install the triggers")) << resumed.out;
  expect_fully_prepared(pg_.url(), "big");
  EXPECT_EQ(pg_int(pg_.url(), "SELECT count(*) FROM big WHERE tidesync_version IS NULL"), 0);
  EXPECT_EQ(pg_int(pg_.url(), "SELECT count(*) FROM big"), backfill_rows);
  EXPECT_EQ(readiness("big"), "");
  EXPECT_TRUE(contains(prepare("big").out, ": big: already prepared\n"));
}

} // namespace
} // namespace tidesync::testing
