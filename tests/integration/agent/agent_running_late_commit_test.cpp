// Transactions that commit late, against an agent running its own cycles.
#include "actors/agent.hpp"

#include "tests/integration/agent/agent_fixture.hpp"
#include "tests/support/time_scale.hpp"

#include <pqxx/pqxx>

#include <chrono>
#include <functional>
#include <thread>

namespace tidesync::testing {

namespace {

using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

// Short enough for a quick test, long enough that one cycle fits well inside it
// on a loaded machine.
constexpr auto cycle_interval = 1s;
// How long a test waits for anything; the promise itself is asserted separately.
const auto patience = scaled(60s);

/// Waits until `done()` holds or `patience` has passed; returns when it held.
std::optional<clock_type::time_point> wait_until(const std::function<bool()>& done) {
  auto deadline = clock_type::now() + patience;
  while (clock_type::now() < deadline) {
    if (done())
      return clock_type::now();
    std::this_thread::sleep_for(20ms);
  }
  return std::nullopt;
}

class RunningAgentLateCommit : public postgres_agent_test {
protected:
  void SetUp() override {
    postgres_agent_test::SetUp();
    site_exec("CREATE TABLE orders (id BIGINT PRIMARY KEY, note TEXT)");
    site_exec("INSERT INTO orders SELECT i, 'order ' || i FROM generate_series(1, 100) i");
    prepare({"orders"});
    auto config = agent_config({"orders"});
    config.interval = std::chrono::duration_cast<std::chrono::milliseconds>(cycle_interval);
    agent_ = std::make_unique<running_agent>(config);
    ASSERT_TRUE(wait_until([&] { return remote_rows("orders").size() == 100; }));
  }

  void TearDown() override {
    agent_.reset();
    postgres_agent_test::TearDown();
  }

  /// Runs `late_work` in a transaction that stays open while 20 newer rows
  /// commit and reach the cloud, commits it, and checks that `arrived()` holds
  /// within two intervals of the commit.
  void expect_late_commit_arrives(const std::string& late_work,
                                  const std::function<bool(const row_map&)>& arrived) {
    pqxx::connection late_connection{site_url_};
    pqxx::work late{late_connection};
    late.exec(late_work);  // takes its version (its transaction id) now
    site_exec("INSERT INTO orders SELECT i, 'early ' || i FROM generate_series(2001, 2020) i");
    ASSERT_TRUE(wait_until([&] { return remote_rows("orders").count({"2020"}) == 1; }));
    late.commit();
    auto committed = clock_type::now();

    auto arrival = wait_until([&] { return arrived(remote_rows("orders")); });
    ASSERT_TRUE(arrival) << "the late transaction never reached the cloud";
    auto took = std::chrono::duration_cast<std::chrono::milliseconds>(*arrival - committed);
    EXPECT_LE(took, 2 * cycle_interval) << "arrived " << took.count() << " ms after its commit";
    expect_remote_matches("orders");
  }

  std::unique_ptr<running_agent> agent_;
};

TEST_F(RunningAgentLateCommit, ALateInsertArrivesWithinTwoIntervals) {
  expect_late_commit_arrives(
    "INSERT INTO orders SELECT i, 'late ' || i FROM generate_series(1001, 1010) i",
    [](const row_map& remote) { return remote.size() == 130; });
}

// Count and maximum version stay as they were: only the row's content and
// version (below the remote maximum) change.
TEST_F(RunningAgentLateCommit, ALateUpdateArrivesWithinTwoIntervals) {
  expect_late_commit_arrives("UPDATE orders SET note = 'late change' WHERE id = 5",
                             [](const row_map& remote) {
                               auto row = remote.find({"5"});
                               return row != remote.end() &&
                                      row->second.at(1) == "\"late change\"";
                             });
}

TEST_F(RunningAgentLateCommit, ALateDeleteArrivesWithinTwoIntervals) {
  expect_late_commit_arrives("DELETE FROM orders WHERE id BETWEEN 5 AND 9",
                             [](const row_map& remote) {
                               return remote.size() == 115 && remote.count({"5"}) == 0;
                             });
}

} // namespace

} // namespace tidesync::testing
