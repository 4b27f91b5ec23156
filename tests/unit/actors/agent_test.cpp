#include "actors/agent.hpp"

#include "tests/unit/actors/fakes.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <thread>
#include <unistd.h>

namespace tidesync::testing {

namespace {

using actors::table_state;

/// An agent over two fake site databases ("a", "b"; tables orders and items)
/// and a fake server, with a real state store in a temp directory.
class Agent : public ::testing::Test {
protected:
  void SetUp() override {
    static std::atomic<int> counter{0};
    state_dir_ = std::filesystem::temp_directory_path() /
                 ("tidesync-agent-" + std::to_string(::getpid()) + "-" +
                  std::to_string(counter++));
    for (const auto* name : {"a", "b"}) {
      auto site = std::make_shared<fake_site>();
      for (int id = 1; id <= 30; ++id) {
        site->put("orders", id, "order " + std::to_string(id));
        site->put("items", id, "item " + std::to_string(id));
      }
      sites_[std::string{"fake://"} + name] = site;
    }
  }

  void TearDown() override { std::filesystem::remove_all(state_dir_); }

  config::agent_config make_config() const {
    config::agent_config config;
    config.state_dir = state_dir_.string();
    config.interval = std::chrono::milliseconds(20);
    config.batch = {1, 8, 16};
    for (const auto* name : {"a", "b"}) {
      config::database_config database{name, std::string{"fake://"} + name, {}};
      database.tables.push_back(
          {"orders", {}, "tidesync_version", std::nullopt, {}, std::nullopt, std::nullopt});
      database.tables.push_back(
          {"items", {}, "tidesync_version", std::nullopt, {}, std::nullopt, std::nullopt});
      config.databases.push_back(database);
    }
    return config;
  }

  actors::agent_hooks hooks() { return fake_hooks(server_, sites_); }

  std::filesystem::path state_dir_;
  std::map<std::string, std::shared_ptr<fake_site>> sites_;
  std::shared_ptr<fake_server> server_ = std::make_shared<fake_server>();
};

TEST_F(Agent, RunOnceReportsEveryTableOfEveryDatabaseInSync) {
  actors::agent agent{make_config(), hooks()};
  auto report = agent.run_once();
  ASSERT_EQ(report.databases.size(), 2u);
  for (const auto& database : report.databases) {
    ASSERT_EQ(database.tables.size(), 2u);
    EXPECT_EQ(database.tables[0].table, "orders");
    EXPECT_EQ(database.tables[1].table, "items");
    for (const auto& table : database.tables) {
      EXPECT_EQ(table.state, table_state::in_sync) << table.error;
      EXPECT_EQ(table.rows_uploaded, 30);
      EXPECT_TRUE(table.scan_pass_completed);
    }
  }
  EXPECT_TRUE(report.all_in_sync());
  EXPECT_EQ(server_->rows("db-b", "items").size(), 30u);
}

TEST_F(Agent, AnIdleCycleMakesOneRequestPerDatabase) {
  actors::agent agent{make_config(), hooks()};
  ASSERT_TRUE(agent.run_once().all_in_sync());
  auto before = server_->total_calls();
  auto listings = server_->calls_of("list_tables");
  auto report = agent.run_cycle(false);
  EXPECT_TRUE(report.all_in_sync()) << report.summary_lines();
  EXPECT_EQ(server_->total_calls() - before, 2);
  EXPECT_EQ(server_->calls_of("list_tables") - listings, 2);
}

TEST_F(Agent, TheDatabaseIsRegisteredOnceAndItsIdKeptAcrossRestarts) {
  {
    actors::agent agent{make_config(), hooks()};
    ASSERT_TRUE(agent.run_once().all_in_sync());
  }
  actors::agent agent{make_config(), hooks()};
  ASSERT_TRUE(agent.run_once().all_in_sync());
  EXPECT_EQ(server_->calls_of("register"), 2);  // one per database, not per run
  EXPECT_EQ(server_->calls_of("declare_schema"), 4);  // one per table, not per run
}

TEST_F(Agent, ADatabaseTheServerNoLongerKnowsIsRegisteredAgain) {
  {
    actors::agent agent{make_config(), hooks()};
    ASSERT_TRUE(agent.run_once().all_in_sync());
  }
  {
    // The store was replaced: no database, no tables.
    std::lock_guard lock{server_->mutex};
    server_->databases.clear();
    server_->forget_unknown_databases = true;
  }
  actors::agent agent{make_config(), hooks()};
  auto report = agent.run_once();
  EXPECT_TRUE(report.all_in_sync()) << report.summary_lines();
  EXPECT_EQ(server_->calls_of("register"), 4);
  EXPECT_EQ(server_->rows("db-a", "orders").size(), 30u);
}

TEST_F(Agent, ABusyServerAtTheStartOfACycleIsRetriedNotReportedAsAnError) {
  server_->transient_listings = 3;
  actors::agent agent{make_config(), hooks()};
  auto report = agent.run_cycle(false);
  EXPECT_TRUE(report.all_in_sync()) << report.summary_lines();
  EXPECT_EQ(server_->calls_of("list_tables"), 5);
}

TEST_F(Agent, ASkippedRowMakesRunOnceFailAndIsNamedInTheSummary) {
  server_->poison_ids = {12};
  actors::agent agent{make_config(), hooks()};
  auto report = agent.run_once();
  EXPECT_FALSE(report.all_in_sync());
  auto lines = report.summary_lines();
  EXPECT_NE(lines.find("a orders skipped uploaded=29 deleted=0 skipped=1"), std::string::npos)
    << lines;
  EXPECT_NE(lines.find("b items skipped"), std::string::npos) << lines;
}

TEST_F(Agent, StopEndsRunAfterTheCurrentCycle) {
  actors::agent agent{make_config(), hooks()};
  std::thread runner([&] { agent.run(); });
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (server_->calls_of("list_tables") < 4 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  EXPECT_GE(server_->calls_of("list_tables"), 4);  // at least two cycles ran
  agent.stop();
  runner.join();
  EXPECT_EQ(server_->rows("db-a", "orders").size(), 30u);
}

} // namespace

} // namespace tidesync::testing
