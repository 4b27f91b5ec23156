#include "actors/change_watcher.hpp"

#include "actors/change_set.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>
#include <unistd.h>

namespace tidesync::testing {

namespace {

using namespace std::chrono_literals;

std::size_t open_descriptors() {
  std::size_t count = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator("/proc/self/fd"))
    ++count;
  return count;
}

std::size_t running_threads() {
  std::ifstream status{"/proc/self/status"};
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("Threads:", 0) == 0)
      return std::stoul(line.substr(8));
  return 0;
}

class ChangeWatcher : public ::testing::Test {
protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("tidesync-watch-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  config::agent_config config_with(std::vector<std::string> sources) const {
    config::agent_config config;
    for (std::size_t i = 0; i < sources.size(); ++i) {
      config::database_config database{"db" + std::to_string(i), sources[i], {}};
      database.tables.push_back(
          {"orders", {}, "tidesync_version", std::nullopt, {}, std::nullopt, std::nullopt});
      database.tables.push_back(
          {"items", {}, "tidesync_version", std::nullopt, {}, std::nullopt, std::nullopt});
      config.databases.push_back(database);
    }
    return config;
  }

  std::filesystem::path dir_;
};

TEST_F(ChangeWatcher, AWriteToTheWatchedFileOrItsWalWakesEveryTableOfThatDatabaseOnly) {
  auto config = config_with({"sqlite://" + (dir_ / "a.db").string(),
                             "sqlite://" + (dir_ / "b.db").string()});
  actors::change_set changes{{2, 2}};
  auto watcher = actors::start_change_watcher(config, changes, nullptr);
  std::ofstream{dir_ / "a.db-wal"} << "frame";
  std::ofstream{dir_ / "unrelated.db"} << "x";
  const auto start = actors::change_set::clock::now();
  changes.wait(start, start + 30s, [] { return false; });
  auto taken = changes.take();
  EXPECT_TRUE(taken.includes(0, 0));
  EXPECT_TRUE(taken.includes(0, 1));
  EXPECT_FALSE(taken.any_in(1));
}

TEST_F(ChangeWatcher, StopsPromptlyAndLeavesNoDescriptorOrThreadBehind) {
  const auto descriptors = open_descriptors();
  const auto threads = running_threads();
  {
    // A port nobody listens on and an address that never answers: the
    // listeners are connecting or backing off when the watcher stops.
    auto config = config_with({"sqlite://" + (dir_ / "a.db").string(),
                               "postgresql://nobody@127.0.0.1:1/none",
                               "postgresql://nobody@10.255.255.1:5432/none"});
    actors::change_set changes{{2, 2, 2}};
    auto watcher = actors::start_change_watcher(config, changes, nullptr);
    std::this_thread::sleep_for(300ms);  // let it try, fail and retry
    const auto stopping = std::chrono::steady_clock::now();
    watcher.reset();
    EXPECT_LT(std::chrono::steady_clock::now() - stopping, 1s);
  }
  EXPECT_EQ(open_descriptors(), descriptors);
  EXPECT_EQ(running_threads(), threads);
}

} // namespace

} // namespace tidesync::testing
