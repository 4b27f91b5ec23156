// One agent per state directory: `<state_dir>/agent.lock`.
#include "actors/agent_lock.hpp"

#include "tests/integration/agent/agent_cli_support.hpp"
#include "tests/integration/agent/agent_fixture.hpp"
#include "tests/support/child_process.hpp"

#include <csignal>
#include <filesystem>
#include <fstream>
#include <unistd.h>

namespace tidesync::testing {

namespace {

namespace fs = std::filesystem;

class AgentLock : public sqlite_agent_test {
protected:
  void SetUp() override {
    sqlite_agent_test::SetUp();
    site_exec("CREATE TABLE orders (id INTEGER PRIMARY KEY, note TEXT)");
    site_exec("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 200) "
              "INSERT INTO orders SELECT i, 'order ' || i FROM n");
    prepare({"orders"});
  }

  fs::path write_config() {
    return write_agent_yaml(dir_.path(), port_, token_,
                            database_yaml("store-01", site_url_, "[orders]"));
  }

  fs::path state_dir() const { return dir_.path() / "state"; }

  std::string lock_file_text() const { return read_file(state_dir() / "agent.lock"); }

  /// Waits for `child` to end; its exit code, or -1 when it still runs at the deadline.
  static int exit_code_within_deadline(child_process& child) {
    int exit_code = -1;
    eventually_true([&] { return child.try_wait(exit_code); });
    return exit_code;
  }
};

TEST_F(AgentLock, ASecondAgentOnTheSameStateDirectoryExitsOneNamingItAndTheFirstPid) {
  auto config = write_config();
  child_process first{TIDESYNC_BINARY, {"agent", "--config", config.string()}, dir_.path()};
  auto pid = std::to_string(first.pid());
  ASSERT_TRUE(eventually_true([&] { return lock_file_text() == pid + "\n"; })) << first.err();

  child_process second{TIDESYNC_BINARY, {"agent", "--config", config.string()}, dir_.path()};
  EXPECT_EQ(exit_code_within_deadline(second), 1) << second.err();
  EXPECT_NE(second.err().find(state_dir().string()), std::string::npos) << second.err();
  EXPECT_NE(second.err().find("pid " + pid), std::string::npos) << second.err();
  EXPECT_NE(second.err().find("in use by another agent"), std::string::npos) << second.err();

  child_process once{TIDESYNC_BINARY, {"agent", "--config", config.string(), "--once"},
                     dir_.path()};
  EXPECT_EQ(exit_code_within_deadline(once), 1) << once.err();
  EXPECT_EQ(once.out(), "");

  int exit_code = 0;
  EXPECT_FALSE(first.try_wait(exit_code)) << "the first agent stopped: " << first.err();
  first.signal(SIGTERM);
  EXPECT_EQ(exit_code_within_deadline(first), 0) << first.err();
}

TEST_F(AgentLock, AfterAKill9OfTheRunningAgentANewAgentStartsAndCatchesUp) {
  auto config = write_config();
  {
    child_process first{TIDESYNC_BINARY, {"agent", "--config", config.string()}, dir_.path()};
    auto pid = std::to_string(first.pid());
    ASSERT_TRUE(eventually_true([&] { return lock_file_text() == pid + "\n"; }));
    first.signal(SIGKILL);
    EXPECT_EQ(exit_code_within_deadline(first), 128 + SIGKILL);
  }
  // The lock file stays behind with the dead agent's pid; the lock itself is gone.
  EXPECT_FALSE(lock_file_text().empty());
  child_process again{TIDESYNC_BINARY, {"agent", "--config", config.string(), "--once"},
                      dir_.path()};
  EXPECT_EQ(exit_code_within_deadline(again), 0) << again.err();
  expect_remote_matches("orders");
}

TEST_F(AgentLock, ASecondAgentInTheSameProcessIsRefusedUntilTheFirstIsGone) {
  auto config = agent_config({"orders"});
  {
    actors::agent first{config};
    EXPECT_THROW(actors::agent second{config}, actors::state_dir_in_use);
    EXPECT_EQ(lock_file_text(), std::to_string(::getpid()) + "\n");
  }
  actors::agent after{config};
  EXPECT_TRUE(after.run_once().all_in_sync());
}

TEST_F(AgentLock, AStateDirectoryThatCantBeCreatedIsAnErrorNamingIt) {
  // A file where the directory should be.
  std::ofstream{dir_.path() / "blocked"} << "not a directory";
  auto path = (dir_.path() / "blocked" / "state").string();
  try {
    actors::agent_lock lock{path};
    ADD_FAILURE() << "locked a directory inside a file";
  } catch (const storage::storage_error& e) {
    EXPECT_NE(std::string{e.what()}.find(path), std::string::npos) << e.what();
  }
}

} // namespace

} // namespace tidesync::testing
