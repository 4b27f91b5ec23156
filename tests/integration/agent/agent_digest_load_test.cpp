// Content digests under size, timing and quarantine: large tables with
// differences at their edges, a cloud copy with many extra rows or none, a
// site written to while a running agent verifies, and rows held back at the
// site next to the digest pass.
#include "actors/agent.hpp"
#include "actors/content_verify.hpp"

#include "tests/integration/agent/digest_settling.hpp"
#include "tests/support/time_scale.hpp"

#include <pqxx/pqxx>

#include <atomic>
#include <chrono>
#include <thread>

namespace tidesync::testing {

namespace {

using namespace std::chrono_literals;

// Large enough for many ranges and requests; small enough for the sanitized suite.
constexpr int large_rows = 100'000;

template <class Base> class digest_load : public settling<Base> {
protected:
  /// Runs `sql` on the store with $1 bound to this test's database id.
  void store_exec(const std::string& sql) {
    pqxx::connection conn{this->store_db_.url()};
    pqxx::work tx{conn};
    tx.exec_params(sql, this->database_id());
    tx.commit();
  }
};

class DigestLoad : public digest_load<sqlite_agent_test> {};
class DigestUnderWrites : public digest_load<agent_test> {};

} // namespace

// The store is changed behind the summary's back (an operator's SQL): the
// summaries still agree, only the digests can tell.
TEST_F(DigestLoad, LargeTableWithEdgeDifferencesAndManyExtraCloudRowsIsRepairedOnce) {
  site_exec("CREATE TABLE big (id INTEGER PRIMARY KEY, note TEXT)");
  site_exec(rows_of("INSERT INTO big (id, note)", "2 * i, 'row ' || i", large_rows));
  prepare({"big"});
  auto config = with_large_batches(agent_config({"big"}));
  ASSERT_TRUE(run_with(config).all_in_sync());

  auto last = std::to_string(2 * large_rows);
  store_exec("UPDATE tidesync_data.big SET note = 'edited' "
             "WHERE database_id = $1::uuid AND id IN (2, " + last + ")");
  // 20,000 rows the site never had, all before its first key: one range.
  store_exec("INSERT INTO tidesync_data.big (client_id, database_id, id, note, tidesync_version) "
             "SELECT 'acme', $1::uuid, -i, 'stray', 1 FROM generate_series(1, 20000) i");
  auto report = run_with(config);
  EXPECT_TRUE(report.all_in_sync()) << report.summary_lines();
  EXPECT_EQ(table_of(report, "big").rows_repaired, 20'002);
  expect_settled({"big"});

  // The cloud copy lost every row; its summary says nothing changed.
  store_exec("DELETE FROM tidesync_data.big WHERE database_id = $1::uuid");
  report = run_with(config);
  EXPECT_TRUE(report.all_in_sync()) << report.summary_lines();
  EXPECT_EQ(table_of(report, "big").rows_repaired, large_rows);
  expect_settled({"big"});

  // The site table empties; the cloud still has every row.
  site_exec("DELETE FROM big");
  report = run_with(config);
  EXPECT_TRUE(report.all_in_sync()) << report.summary_lines();
  expect_settled({"big"});
  EXPECT_TRUE(remote_rows("big").empty());
}

// A key the server can't hold (text in an INT key), a cell it can't hold, and
// a float in an integer key that sorts between two good keys: the pass still
// completes, repairs nothing and leaves the table "skipped", not "syncing".
TEST_F(DigestLoad, QuarantinedRowsNeitherFailNorLoopTheDigestPass) {
  site_exec("CREATE TABLE codes (id INT PRIMARY KEY, qty INTEGER, note TEXT)");
  site_exec(rows_of("INSERT INTO codes (id, qty, note)", "i, i, 'code ' || i", 25'000));
  site_exec("INSERT INTO codes VALUES ('abc', 1, 'text key'), (10000.5, 2, 'float key')");
  site_exec("UPDATE codes SET qty = 'many' WHERE id IN (1, 12345, 25000)");
  prepare({"codes"});
  auto config = with_large_batches(agent_config({"codes"}));
  for (int pass = 0; pass < 2; ++pass) {
    auto report = run_with(config);
    auto codes = table_of(report, "codes");
    EXPECT_EQ(codes.state, actors::table_state::skipped) << report.summary_lines();
    EXPECT_TRUE(codes.digest_pass_completed) << report.summary_lines();
    EXPECT_EQ(codes.rows_repaired, 0) << report.summary_lines();
    EXPECT_EQ(codes.skipped_rows, 5) << report.summary_lines();
    EXPECT_TRUE(codes.error.empty()) << codes.error;
  }
  EXPECT_EQ(remote_rows("codes").size(), 25'000u - 3u);
  auto verified = actors::verify_content(config, {});
  ASSERT_EQ(verified.size(), 1u);
  EXPECT_EQ(verified[0].state, actors::content_state::different) << verified[0].error;
  EXPECT_EQ(verified[0].diff.missing.size(), 5u);
  EXPECT_TRUE(verified[0].diff.extra.empty());
  EXPECT_TRUE(verified[0].diff.different.empty());
}

// A writer inserts, updates and deletes at the site while a running agent
// syncs and verifies every 500 ms and `verify` runs next to it: nothing is
// lost, nothing fails, and it all settles once the writer stops.
TEST_P(DigestUnderWrites, ARunningAgentSettlesAfterAWriterStops) {
  site_exec("CREATE TABLE events (id INTEGER PRIMARY KEY, note TEXT, n INTEGER)");
  site_exec(rows_of("INSERT INTO events (id, note, n)", "i, 'event ' || i, i", 20'000));
  prepare({"events"});
  auto config = with_large_batches(agent_config({"events"}));
  config.verify_interval = 500ms;
  {
    running_agent agent{config};
    // verify needs the database's id, which the agent's first cycle saves.
    auto registered_by = std::chrono::steady_clock::now() + scaled(60s);
    while (remote_rows("events").empty() && std::chrono::steady_clock::now() < registered_by)
      std::this_thread::sleep_for(20ms);
    ASSERT_FALSE(remote_rows("events").empty()) << "the agent never started its load";
    std::mt19937_64 engine{99};
    auto writing_until = std::chrono::steady_clock::now() + 8s;
    int next_id = 20'001;
    int verifications = 0;
    while (std::chrono::steady_clock::now() < writing_until) {
      auto id = std::to_string(1 + engine() % next_id);
      switch (engine() % 3) {
      case 0:
        site_exec("INSERT INTO events (id, note, n) VALUES (" + std::to_string(next_id++) +
                  ", 'late', 0)");
        break;
      case 1:
        site_exec("UPDATE events SET note = 'changed', n = n + 1 WHERE id = " + id);
        break;
      default:
        site_exec("DELETE FROM events WHERE id = " + id);
      }
      if (engine() % 40 == 0) {
        for (const auto& verified : actors::verify_content(config, {}))
          EXPECT_NE(verified.state, actors::content_state::error) << verified.error;
        ++verifications;
      }
      std::this_thread::sleep_for(5ms);
    }
    EXPECT_GT(verifications, 0);
    auto deadline = std::chrono::steady_clock::now() + scaled(60s);
    while (remote_rows("events") != site_rows("events") &&
           std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(200ms);
    expect_remote_matches("events");
  }
  expect_settled({"events"});
}

INSTANTIATE_TEST_SUITE_P(sites, DigestUnderWrites,
                         ::testing::Values(site_kind::sqlite, site_kind::postgresql), site_name);

} // namespace tidesync::testing
