// `tidesync status` as an operator runs it: the real binary against a real
// server on loopback and real SQLite and PostgreSQL sites.
#include "tests/integration/agent/agent_cli_support.hpp"
#include "tests/integration/agent/agent_fixture.hpp"
#include "tests/support/child_process.hpp"

#include <boost/json.hpp>
#include <pqxx/pqxx>


#include <csignal>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <utility>

namespace tidesync::testing {

namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

/// A site with table `orders` (120 rows, prepared) and the agent's YAML for it.
template <class site_fixture>
class status_fixture : public site_fixture {
protected:
  void SetUp() override {
    site_fixture::SetUp();
    this->site_exec("CREATE TABLE orders (id INTEGER PRIMARY KEY, day DATE, note TEXT)");
    this->site_exec("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n "
                    "WHERE i < 120) INSERT INTO orders SELECT i, '2024-01-01', 'order ' || i "
                    "FROM n");
    this->prepare({"orders"});
  }

  fs::path write_config(const std::string& extra_databases = "") {
    return write_agent_yaml(this->dir_.path(), this->port_, this->token_,
                            database_yaml("store-01", this->site_url_, "[orders]") +
                              extra_databases);
  }

  run_result status(const std::vector<std::string>& extra = {}) {
    std::vector<std::string> args{"status", "--config", write_config().string()};
    args.insert(args.end(), extra.begin(), extra.end());
    return run_to_completion(TIDESYNC_BINARY, args, this->dir_.path());
  }

  json::array status_json() {
    auto result = status({"--json"});
    auto parsed = json::parse(result.out);
    return parsed.as_array();
  }

  std::int64_t registered_databases() {
    pqxx::connection conn{this->store_db_.url()};
    pqxx::work tx{conn};
    return tx.exec("SELECT count(*) FROM tidesync.databases")[0][0].template as<std::int64_t>();
  }

  /// Every file of the state directory with its size and a hash of its content.
  std::map<std::string, std::pair<std::size_t, std::size_t>> state_files() {
    std::map<std::string, std::pair<std::size_t, std::size_t>> out;
    auto dir = this->dir_.path() / "state";
    if (fs::exists(dir))
      for (const auto& entry : fs::directory_iterator(dir)) {
        auto content = read_file(entry.path());
        out[entry.path().filename().string()] = {content.size(),
                                                 std::hash<std::string>{}(content)};
      }
    return out;
  }
};

class StatusCli : public status_fixture<sqlite_agent_test> {};
class StatusCliOnEachSite : public status_fixture<agent_test> {};

TEST_P(StatusCliOnEachSite, BeforeAnySyncATableIsAheadOfAnUnregisteredDatabaseAndExitsOne) {
  auto result = status();
  EXPECT_EQ(result.exit_code, 1) << result.err;
  EXPECT_NE(result.out.find("DATABASE"), std::string::npos) << result.out;
  EXPECT_NE(result.out.find("store-01"), std::string::npos) << result.out;
  EXPECT_NE(result.out.find("120 rows"), std::string::npos) << result.out;
  EXPECT_NE(result.out.find("not registered"), std::string::npos) << result.out;
  EXPECT_NE(result.out.find("ahead"), std::string::npos) << result.out;
  EXPECT_EQ(registered_databases(), 0);
  EXPECT_TRUE(state_files().empty()) << "status created a state file";
}

TEST_P(StatusCliOnEachSite, AfterARunOnceEveryTableIsInSyncAndStatusExitsZero) {
  ASSERT_TRUE(run_once({"orders"}).all_in_sync());
  auto result = status();
  EXPECT_EQ(result.exit_code, 0) << result.out << result.err;
  EXPECT_NE(result.out.find("in sync"), std::string::npos) << result.out;
  EXPECT_EQ(result.err, "");
}

TEST_P(StatusCliOnEachSite, JsonHasOneObjectPerTableWithBothSummariesAndTheDecision) {
  ASSERT_TRUE(run_once({"orders"}).all_in_sync());
  site_exec("INSERT INTO orders (id, day, note) VALUES (121, '2024-01-02', 'late')");
  auto rows = status_json();
  ASSERT_EQ(rows.size(), 1u);
  const auto& row = rows[0].as_object();
  EXPECT_EQ(row.at("database"), "store-01");
  EXPECT_EQ(row.at("table"), "orders");
  EXPECT_EQ(row.at("local").at("count").to_number<std::int64_t>(), 121);
  EXPECT_FALSE(row.at("local").at("max_version").is_null());
  EXPECT_EQ(row.at("remote").at("count").to_number<std::int64_t>(), 120);
  EXPECT_EQ(row.at("remote_state"), "declared");
  EXPECT_EQ(row.at("decision"), "ahead");
  EXPECT_EQ(row.at("in_sync"), false);
  EXPECT_EQ(row.at("skipped_rows").to_number<std::int64_t>(), 0);
  EXPECT_TRUE(row.at("oldest_skipped_reason").is_null());
  EXPECT_TRUE(row.at("error").is_null());
}

TEST_P(StatusCliOnEachSite, StatusChangesNeitherTheStateFilesNorTheServer) {
  ASSERT_TRUE(run_once({"orders"}).all_in_sync());
  site_exec("INSERT INTO orders (id, day, note) VALUES (121, '2024-01-02', 'late')");
  site_exec("DELETE FROM orders WHERE id = 7");
  // remote_rows opens the state store itself (for the database id): read it first.
  auto remote = remote_rows("orders");
  auto files = state_files();
  EXPECT_EQ(status().exit_code, 1);
  EXPECT_EQ(status({"--json"}).exit_code, 1);
  EXPECT_EQ(state_files(), files);
  EXPECT_EQ(remote_rows("orders"), remote);
  EXPECT_EQ(registered_databases(), 1);
}

TEST_F(StatusCli, ASkippedRowIsCountedWithItsReasonAndStatusExitsOne) {
  site_exec("UPDATE orders SET day = '2023-02-30' WHERE id = 60");
  EXPECT_FALSE(run_once({"orders"}).all_in_sync());
  auto result = status();
  EXPECT_EQ(result.exit_code, 1) << result.err;
  EXPECT_NE(result.out.find("1 (oldest: "), std::string::npos) << result.out;
  auto rows = status_json();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].at("skipped_rows").to_number<std::int64_t>(), 1);
  ASSERT_TRUE(rows[0].at("oldest_skipped_reason").is_string());
  EXPECT_EQ(std::string(rows[0].at("oldest_skipped_reason").as_string()),
            skipped_rows().at(0).reason);
}

TEST_F(StatusCli, ASourceThatCantBeOpenedIsNamedAndTheOtherDatabasesAreStillShown) {
  ASSERT_TRUE(run_once({"orders"}).all_in_sync());
  auto missing = "sqlite://" + (dir_.path() / "missing.db").string();
  auto config = write_config(database_yaml("store-02", missing, "[orders]"));
  auto result = run_to_completion(TIDESYNC_BINARY, {"status", "--config", config.string()},
                                  dir_.path());
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.err.find("store-02: source:"), std::string::npos) << result.err;
  EXPECT_EQ(result.err.find("store-01"), std::string::npos) << result.err;
  EXPECT_NE(result.out.find("store-02"), std::string::npos) << result.out;
  auto first = result.out.find("store-01");
  ASSERT_NE(first, std::string::npos) << result.out;
  EXPECT_NE(result.out.find("in sync", first), std::string::npos) << result.out;
}

TEST_F(StatusCli, AServerThatCantBeReachedIsNamedAndTheLocalSummaryIsStillShown) {
  ASSERT_TRUE(run_once({"orders"}).all_in_sync());
  server_->stop();
  auto rows = status_json();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].at("local").at("count").to_number<std::int64_t>(), 120);
  EXPECT_TRUE(rows[0].at("remote").is_null());
  EXPECT_EQ(rows[0].at("remote_state"), "error");
  EXPECT_TRUE(rows[0].at("decision").is_null());
  auto result = status();
  EXPECT_EQ(result.exit_code, 1);
  auto server = "store-01: server http://127.0.0.1:" + std::to_string(port_);
  EXPECT_NE(result.err.find(server), std::string::npos) << result.err;
}

TEST_F(StatusCli, StatusRunsBesideARunningAgentAndSeesItCatchUp) {
  auto config = write_config();
  child_process agent{TIDESYNC_BINARY, {"agent", "--config", config.string()}, dir_.path()};
  // Status itself is the condition: it exits 0 once the agent has caught up.
  // (It reads the agent's file as it is: rewriting it could cut it short
  // under the agent starting up.)
  EXPECT_TRUE(eventually_true([&] {
    return run_to_completion(TIDESYNC_BINARY, {"status", "--config", config.string()},
                             dir_.path())
             .exit_code == 0;
  })) << agent.err();
  int exit_code = 0;
  EXPECT_FALSE(agent.try_wait(exit_code)) << "the agent stopped: " << agent.err();
  agent.signal(SIGTERM);
  EXPECT_EQ(agent.wait(), 0) << agent.err();
  expect_remote_matches("orders");
}

TEST_F(StatusCli, WithARunningAgentItShowsTheAgentsStateLastGoodCycleAndErrors) {
  auto config = write_config();
  const auto metrics_port = unused_port();
  std::ofstream{config, std::ios::app} << "metrics: {listen: \"127.0.0.1:" << metrics_port
                                       << "\"}\n";
  auto run_status = [&](const std::vector<std::string>& extra) {
    std::vector<std::string> args{"status", "--config", config.string()};
    args.insert(args.end(), extra.begin(), extra.end());
    return run_to_completion(TIDESYNC_BINARY, args, dir_.path());
  };
  {
    child_process agent{TIDESYNC_BINARY, {"agent", "--config", config.string()}, dir_.path()};
    json::object row;
    EXPECT_TRUE(eventually_true([&] {
      auto result = run_status({"--json"});
      auto rows = json::parse(result.out).as_array();
      row = rows.at(0).as_object();
      return result.exit_code == 0 && row.at("agent").is_object() &&
             row.at("agent").at("state") == "equal" && !row.at("agent").at("last_success").is_null();
    })) << json::serialize(row) << agent.err();
    EXPECT_EQ(row.at("lag_versions").as_int64(), 0);
    EXPECT_EQ(row.at("agent").at("lag_seconds").as_double(), 0.0);
    auto human = run_status({});
    EXPECT_NE(human.out.find("AGENT"), std::string::npos) << human.out;
    EXPECT_NE(human.out.find("equal, ok "), std::string::npos) << human.out;
    EXPECT_EQ(human.err.find("no agent"), std::string::npos) << human.err;
    agent.signal(SIGTERM);
    EXPECT_EQ(agent.wait(), 0) << agent.err();
  }
  // The agent is gone: status still shows both sides and says so.
  auto alone = run_status({"--json"});
  EXPECT_EQ(alone.exit_code, 0) << alone.err;
  EXPECT_TRUE(json::parse(alone.out).as_array().at(0).at("agent").is_null()) << alone.out;
  EXPECT_NE(alone.err.find("no agent answers on metrics.listen 127.0.0.1:" +
                           std::to_string(metrics_port)),
            std::string::npos)
    << alone.err;
}

// Why the agent's last cycle of a table failed is kept for status, and goes
// once a cycle of the table ends well.
TEST_F(StatusCli, TheErrorOfATablesLastCycleIsShownUntilItsCyclesEndWell) {
  auto config = write_agent_yaml(dir_.path(), port_, token_,
                                 database_yaml("store-01", site_url_, "[orders, ghost]"));
  auto run = [&](const std::vector<std::string>& args) {
    return run_to_completion(TIDESYNC_BINARY, args, dir_.path());
  };
  EXPECT_EQ(run({"agent", "--config", config.string(), "--once"}).exit_code, 1);
  auto failing = run({"status", "--config", config.string(), "--json"});
  auto rows = json::parse(failing.out).as_array();
  ASSERT_EQ(rows.size(), 2u) << failing.out;
  EXPECT_TRUE(rows.at(0).at("agent_error").is_null()) << failing.out;
  const auto& error = rows.at(1).at("agent_error");
  ASSERT_TRUE(error.is_object()) << failing.out;
  EXPECT_NE(std::string(error.at("error").as_string()).find("ghost"), std::string::npos)
    << failing.out;
  EXPECT_FALSE(error.at("since").as_string().empty());
  auto human = run({"status", "--config", config.string()});
  EXPECT_NE(human.out.find("store-01 ghost: failing since "), std::string::npos) << human.out;

  site_exec("CREATE TABLE ghost (id INTEGER PRIMARY KEY, note TEXT)");
  prepare({"ghost"});
  EXPECT_EQ(run({"agent", "--config", config.string(), "--once"}).exit_code, 0);
  auto fine = run({"status", "--config", config.string(), "--json"});
  EXPECT_TRUE(json::parse(fine.out).as_array().at(1).at("agent_error").is_null()) << fine.out;
}

TEST_F(StatusCli, WatchRedrawsUntilInterrupted) {
  child_process watching{TIDESYNC_BINARY, {"status", "--config", write_config().string(), "--watch"},
                         dir_.path()};
  EXPECT_TRUE(eventually_true([&] {
    auto out = watching.out();
    auto first = out.find("tidesync status at ");
    return first != std::string::npos &&
           out.find("tidesync status at ", first + 1) != std::string::npos;
  })) << watching.out() << watching.err();
  EXPECT_NE(watching.out().find("DATABASE"), std::string::npos);
  watching.signal(SIGINT);
  EXPECT_NE(watching.wait(), 0) << "interrupted, not finished";
}

TEST_F(StatusCli, AnUnknownOptionOrNoConfigIsAUsageErrorThatExitsTwo) {
  auto unknown = status({"--fast"});
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_NE(unknown.err.find("--fast"), std::string::npos) << unknown.err;
  auto no_config = run_to_completion(TIDESYNC_BINARY, {"status", "--json"}, dir_.path());
  EXPECT_EQ(no_config.exit_code, 2);
  EXPECT_NE(no_config.err.find("--config"), std::string::npos) << no_config.err;
}

INSTANTIATE_TEST_SUITE_P(sites, StatusCliOnEachSite,
                         ::testing::Values(site_kind::sqlite, site_kind::postgresql), site_name);

} // namespace

} // namespace tidesync::testing
