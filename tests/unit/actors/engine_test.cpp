// The agent's engine: fixed threads and connections whatever the number of
// tables, a slow database that holds up only its own tables, and a failed
// actor started again while the rest keeps syncing. Real actors and the real
// pool over fake sites and a fake server.
#include "actors/agent.hpp"
#include "storage/state_store.hpp"
#include "sync/batch_size_policy.hpp"

#include "tests/support/time_scale.hpp"
#include "tests/unit/actors/fakes.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <future>
#include <thread>
#include <unistd.h>

namespace tidesync::testing {

namespace {

using namespace std::chrono_literals;
using actors::table_state;

std::string thread_names() {
  std::string names;
  for (const auto& entry : std::filesystem::directory_iterator{"/proc/self/task"}) {
    std::ifstream comm{entry.path() / "comm"};
    std::string name;
    std::getline(comm, name);
    names += name + " ";
  }
  return names;
}

std::size_t thread_count() {
  std::size_t count = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator{"/proc/self/task"})
    ++count;
  return count;
}

/// Waits until `done` holds, up to `timeout`; answers whether it did.
template <class Condition>
bool wait_until(Condition done, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline)
      return false;
    std::this_thread::sleep_for(2ms);
  }
  return true;
}

/// `databases` fake site databases of `tables` tables with `rows` rows each.
class Engine : public ::testing::Test {
protected:
  void SetUp() override {
    static std::atomic<int> counter{0};
    state_dir_ = std::filesystem::temp_directory_path() /
                 ("tidesync-engine-" + std::to_string(::getpid()) + "-" +
                  std::to_string(counter++));
  }

  void TearDown() override { std::filesystem::remove_all(state_dir_); }

  config::agent_config make_sites(int databases, int tables, int rows) {
    config::agent_config config;
    config.state_dir = state_dir_.string();
    config.interval = 20ms;
    config.batch = {1, 50, 100};
    for (int d = 0; d < databases; ++d) {
      auto url = "fake://db" + std::to_string(d);
      auto site = std::make_shared<fake_site>();
      config::database_config database{"db" + std::to_string(d), url, {}};
      for (int t = 0; t < tables; ++t) {
        auto name = "t" + std::to_string(t);
        for (int id = 1; id <= rows; ++id)
          site->put(name, id, name + " row " + std::to_string(id));
        database.tables.push_back(
            {name, {}, "tidesync_version", std::nullopt, {}, std::nullopt, std::nullopt});
      }
      sites_[url] = site;
      config.databases.push_back(database);
    }
    return config;
  }

  actors::agent_hooks hooks() {
    auto out = fake_hooks(server_, sites_);
    out.restart_first = 10ms;
    return out;
  }

  std::filesystem::path state_dir_;
  std::map<std::string, std::shared_ptr<fake_site>> sites_;
  std::shared_ptr<fake_server> server_ = std::make_shared<fake_server>();
};

TEST_F(Engine, ThreadsAndConnectionsAreFixedByTheEngineNotByTheTables) {
  auto config = make_sites(20, 50, 3);
  config.engine = {4, 2, 4};
  const auto before = thread_count();
  std::atomic<bool> sampling{true};
  std::atomic<std::size_t> most{0};
  std::string names_at_most;
  std::thread sampler([&] {
    while (sampling) {
      auto now = thread_count();
      if (now > most) {
        most = now;
        names_at_most = thread_names();
      }
      std::this_thread::sleep_for(1ms);
    }
  });
  {
    actors::agent agent{config, hooks()};
    auto report = agent.run_once();
    EXPECT_TRUE(report.all_in_sync()) << report.summary_lines();
    ASSERT_EQ(report.databases.size(), 20u);
    for (const auto& database : report.databases)
      EXPECT_EQ(database.tables.size(), 50u);
  }
  sampling = false;
  sampler.join();
  // Workers (4), CAF's scheduler (2), its clock and printer and the threads
  // it starts and ends as it comes up and shuts down, the sampler: a handful
  // more than the pool, never one per table (1,000) or database (20).
  EXPECT_LE(most - before, 16u) << "threads before: " << before << ", at most: " << most << ": "
                                << names_at_most;
  for (const auto& [url, site] : sites_)
    EXPECT_LE(site->most_open_sources, 2) << url;
  EXPECT_EQ(server_->rows("db-db7", "t42").size(), 3u);
}

TEST_F(Engine, ASlowDatabaseHoldsUpOnlyItsOwnTables) {
  auto config = make_sites(3, 4, 5);
  config.engine = {4, 2, 4};
  std::mutex mutex;
  std::condition_variable released_changed;
  bool released = false;
  sites_["fake://db0"]->on_summary = [&](const std::string&) {
    std::unique_lock lock{mutex};
    released_changed.wait(lock, [&] { return released; });
  };
  actors::agent agent{config, hooks()};
  auto cycle = std::async(std::launch::async, [&] { return agent.run_cycle(false); });
  // db0's two connections are stuck; db1's and db2's tables still go through.
  auto others_synced = [&] {
    for (const auto* id : {"db-db1", "db-db2"})
      for (const auto* table : {"t0", "t1", "t2", "t3"})
        if (server_->rows(id, table).size() != 5u)
          return false;
    return true;
  };
  EXPECT_TRUE(wait_until(others_synced, scaled(10s)));
  EXPECT_EQ(server_->rows("db-db0", "t0").size(), 0u);
  {
    std::lock_guard lock{mutex};
    released = true;
  }
  released_changed.notify_all();
  auto report = cycle.get();
  EXPECT_TRUE(report.all_in_sync()) << report.summary_lines();
  EXPECT_EQ(server_->rows("db-db0", "t3").size(), 5u);
}

TEST_F(Engine, TheBatchHistoryOfAShortRunIsSavedAsTheAgentStops) {
  auto config = make_sites(1, 2, 30);
  {
    actors::agent agent{config, hooks()};
    EXPECT_TRUE(agent.run_once().all_in_sync());
  }  // well within the second a history waits before it is saved
  storage::state_store state{state_dir_.string()};
  for (const auto* table : {"t0", "t1"}) {
    auto text = state.batch_history("db0", table);
    ASSERT_TRUE(text.has_value()) << table;
    auto policy = sync::batch_size_policy::from_string(*text, {1, 50, 100});
    ASSERT_TRUE(policy.has_value()) << *text;
  }
}

/// Not a std::exception: nothing in a table's cycle expects it, so it ends
/// the table actor.
struct unexpected_failure {};

TEST_F(Engine, AFailedTableActorIsStartedAgainAndTheRestKeepsSyncing) {
  auto config = make_sites(2, 3, 4);
  std::atomic<int> failures_left{2};
  sites_["fake://db0"]->on_summary = [&](const std::string& table) {
    if (table == "t1" && failures_left.fetch_sub(1) > 0)
      throw unexpected_failure{};
  };
  actors::agent agent{config, hooks()};
  auto first = agent.run_cycle(false);
  // The failed table is reported with the error; its neighbours synced.
  ASSERT_EQ(first.databases.size(), 2u);
  const auto& db0 = first.databases[0];
  ASSERT_EQ(db0.tables.size(), 3u);
  EXPECT_EQ(db0.tables[1].state, table_state::error);
  EXPECT_NE(db0.tables[1].error.find("table actor"), std::string::npos) << db0.tables[1].error;
  EXPECT_EQ(db0.tables[0].state, table_state::in_sync) << db0.tables[0].error;
  EXPECT_EQ(db0.tables[2].state, table_state::in_sync) << db0.tables[2].error;
  EXPECT_TRUE(first.databases[1].tables.size() == 3u);
  // Started again (after a backoff, failing once more): the table syncs.
  EXPECT_TRUE(wait_until(
    [&] {
      auto report = agent.run_cycle(false);
      return report.all_in_sync();
    },
    scaled(10s)));
  EXPECT_EQ(server_->rows("db-db0", "t1").size(), 4u);
  EXPECT_LE(failures_left.load(), 0);
}

TEST_F(Engine, ATableWaitingToStartAgainIsReportedAndTheCycleStillAnswers) {
  auto config = make_sites(1, 1, 3);
  std::atomic<int> failures_left{1};
  sites_["fake://db0"]->on_summary = [&](const std::string&) {
    if (failures_left.fetch_sub(1) > 0)
      throw unexpected_failure{};
  };
  auto slow_restart = hooks();
  slow_restart.restart_first = scaled(60s);
  actors::agent agent{config, slow_restart};
  auto first = agent.run_cycle(false);
  ASSERT_EQ(first.databases.at(0).tables.size(), 1u);
  EXPECT_EQ(first.databases[0].tables[0].state, table_state::error);
  // The only table waits out its backoff: the cycle answers at once with why.
  auto second = agent.run_cycle(false);
  ASSERT_EQ(second.databases.at(0).tables.size(), 1u);
  const auto& table = second.databases[0].tables[0];
  EXPECT_EQ(table.table, "t0");
  EXPECT_EQ(table.state, table_state::error);
  EXPECT_NE(table.error.find("restarting after a failure"), std::string::npos) << table.error;
}

} // namespace

} // namespace tidesync::testing
