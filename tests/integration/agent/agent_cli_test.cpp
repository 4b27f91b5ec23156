// The built `tidesync agent` as an operator runs it.
#include "protocol/http_client.hpp"
#include "tests/integration/agent/agent_cli_support.hpp"
#include "tests/integration/agent/agent_fixture.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/time_scale.hpp"

#include <csignal>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace tidesync::testing {

namespace {

namespace fs = std::filesystem;

std::string read_file(const fs::path& path) {
  std::ifstream in{path};
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

/// The tidesync binary running in a child, stdout and stderr in files.
class agent_process {
public:
  agent_process(const std::vector<std::string>& args, const fs::path& dir)
    : out_(dir / "agent.out"), err_(dir / "agent.err") {
    pid_ = ::fork();
    if (pid_ == 0) {
      ::dup2(::open(out_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644), 1);
      ::dup2(::open(err_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644), 2);
      std::vector<char*> argv{const_cast<char*>(TIDESYNC_BINARY)};
      for (const auto& arg : args)
        argv.push_back(const_cast<char*>(arg.c_str()));
      argv.push_back(nullptr);
      ::execv(TIDESYNC_BINARY, argv.data());
      ::_exit(127);
    }
  }

  ~agent_process() {
    if (pid_ > 0 && !exit_code_) {
      ::kill(pid_, SIGKILL);
      wait_for(std::chrono::seconds(10));
    }
  }

  void signal(int number) { ::kill(pid_, number); }

  /// The exit code (128 + signal when killed), or nullopt when still running at the deadline.
  std::optional<int> wait_for(std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!exit_code_) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_)
        exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      else if (std::chrono::steady_clock::now() >= deadline)
        break;
      else
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return exit_code_;
  }

  std::string out() const { return read_file(out_); }
  std::string err() const { return read_file(err_); }

private:
  fs::path out_;
  fs::path err_;
  pid_t pid_ = -1;
  std::optional<int> exit_code_;
};

const auto process_deadline = scaled(std::chrono::seconds(60));

/// A site fixture that can write the agent's YAML config for its site.
template <class site_fixture>
class cli_fixture : public site_fixture {
protected:
  fs::path write_config(const std::string& tables = "[orders]") {
    auto path = this->dir_.path() / "agent.yaml";
    std::ofstream{path} << "server:\n"
                        << "  url: http://127.0.0.1:" << this->port_ << "\n"
                        << "  client_id: acme\n"
                        << "  token: \"" << this->token_ << "\"\n"
                        << "state_dir: " << (this->dir_.path() / "state").string() << "\n"
                        << "interval: 200ms\n"
                        << "batch: {min: 1, initial: 20, max: 50}\n"
                        << "databases:\n"
                        << "  - name: store-01\n"
                        << "    source: " << this->site_url_ << "\n"
                        << "    tables: " << tables << "\n";
    return path;
  }
};

class AgentCli : public cli_fixture<sqlite_agent_test> {
protected:
  void SetUp() override {
    sqlite_agent_test::SetUp();
    site_exec("CREATE TABLE orders (id INTEGER PRIMARY KEY, day DATE, note TEXT)");
    site_exec("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 120) "
              "INSERT INTO orders SELECT i, '2024-01-01', 'order ' || i FROM n");
    prepare({"orders"});
  }
};

/// CLI tests that run once per kind of site database.
class AgentCliOnEachSite : public cli_fixture<agent_test> {};

TEST_F(AgentCli, OnceExitsZeroAndPrintsOneLinePerTableWhenInSync) {
  agent_process agent{{"agent", "--config", write_config().string(), "--once"}, dir_.path()};
  ASSERT_EQ(agent.wait_for(process_deadline), 0) << agent.err();
  EXPECT_EQ(agent.out(), "store-01 orders in_sync uploaded=120 deleted=0 skipped=0\n");
  expect_remote_matches("orders");
}

// On a terminal --once keeps one progress line up to date on stderr; on a
// pipe it prints none (the tables' own progress lines say it there).
TEST_F(AgentCli, OnceShowsALiveProgressLineOnlyOnATerminal) {
  site_exec("WITH RECURSIVE n(i) AS (SELECT 121 UNION ALL SELECT i + 1 FROM n WHERE i < 40000) "
            "INSERT INTO orders (id, day, note) SELECT i, '2024-01-01', 'order ' || i FROM n");
  const auto config = write_config();
  // script(1) runs the agent on a pseudo-terminal and copies what it shows.
  auto on_terminal = run_to_completion(
    "/usr/bin/script",
    {"-qefc", std::string{TIDESYNC_BINARY} + " agent --config " + config.string() + " --once",
     "/dev/null"},
    dir_.path());
  ASSERT_EQ(on_terminal.exit_code, 0) << on_terminal.out << on_terminal.err;
  EXPECT_NE(on_terminal.out.find("\r\x1b[Ktidesync: "), std::string::npos) << on_terminal.out;
  EXPECT_NE(on_terminal.out.find(" rows/s"), std::string::npos) << on_terminal.out;
  EXPECT_NE(on_terminal.out.find(" of 1 tables done"), std::string::npos) << on_terminal.out;
  EXPECT_NE(on_terminal.out.find("store-01 orders in_sync uploaded=40000"), std::string::npos);

  site_exec("UPDATE orders SET note = 'again' WHERE id <= 40000");
  agent_process piped{{"agent", "--config", config.string(), "--once"}, dir_.path()};
  ASSERT_EQ(piped.wait_for(process_deadline), 0) << piped.err();
  EXPECT_EQ(piped.err().find("tables done"), std::string::npos) << piped.err();
  EXPECT_EQ(piped.err().find('\r'), std::string::npos);
}

TEST_F(AgentCli, OnceExitsOneWhenARowHadToBeSkipped) {
  site_exec("UPDATE orders SET day = '2023-02-30' WHERE id = 60");
  agent_process agent{{"agent", "--config", write_config().string(), "--once"}, dir_.path()};
  ASSERT_EQ(agent.wait_for(process_deadline), 1) << agent.err();
  EXPECT_EQ(agent.out(), "store-01 orders skipped uploaded=119 deleted=0 skipped=1\n"
                         "store-01 orders skipped row [60]: column day: expected a JSON string "
                         "holding a date \"YYYY-MM-DD\", got \"2023-02-30\"\n");
}

TEST_F(AgentCli, OnceNamesARowHeldBackAtTheSiteWithItsReasonAndExitsOne) {
  // Not valid UTF-8: the agent can't encode it, so no request ever carries it.
  site_exec("UPDATE orders SET note = CAST(x'6f7264ff6572' AS TEXT) WHERE id = 60");
  agent_process agent{{"agent", "--config", write_config().string(), "--once"}, dir_.path()};
  ASSERT_EQ(agent.wait_for(process_deadline), 1) << agent.err();
  auto out = agent.out();
  EXPECT_EQ(out.rfind("store-01 orders skipped uploaded=119 deleted=0 skipped=1\n", 0), 0u) << out;
  ASSERT_EQ(skipped_rows().size(), 1u);
  EXPECT_NE(out.find("[60]"), std::string::npos) << out;
  EXPECT_NE(out.find("column note"), std::string::npos) << out;
  EXPECT_NE(out.find(skipped_rows()[0].reason), std::string::npos) << out;
}

TEST_F(AgentCli, SigtermStopsARunningAgentWithExitZero) {
  agent_process agent{{"agent", "--config", write_config().string()}, dir_.path()};
  auto deadline = std::chrono::steady_clock::now() + process_deadline;
  while (remote_rows("orders").size() < 120 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  expect_remote_matches("orders");
  agent.signal(SIGTERM);
  EXPECT_EQ(agent.wait_for(process_deadline), 0) << agent.err();
  EXPECT_NE(agent.err().find("stopping"), std::string::npos) << agent.err();
}

// A table removed from the file stops syncing, and its metric series go with it.
TEST_F(AgentCli, SighupRemovingATableRemovesItsMetricSeries) {
  site_exec("CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT)");
  prepare({"items"});
  const auto metrics_port = unused_port();
  auto configure = [&](const std::string& tables) {
    auto path = write_config(tables);
    std::ofstream{path, std::ios::app} << "metrics: {listen: \"127.0.0.1:" << metrics_port
                                       << "\"}\n";
    return path;
  };
  auto config = configure("[orders, items]");
  agent_process agent{{"agent", "--config", config.string()}, dir_.path()};
  protocol::http_client metrics{"http://127.0.0.1:" + std::to_string(metrics_port)};
  const std::string items_series = R"(tidesync_agent_rows_uploaded_total{database="store-01",table="items"})";
  const std::string orders_series = R"(tidesync_agent_rows_uploaded_total{database="store-01",table="orders"} 120)";
  ASSERT_TRUE(eventually_true([&] {
    auto page = metrics.get("/metrics").body;
    return page.find(items_series) != std::string::npos &&
           page.find(orders_series) != std::string::npos;
  })) << agent.err();
  configure("[orders]");
  agent.signal(SIGHUP);
  EXPECT_TRUE(eventually_true([&] {
    auto page = metrics.get("/metrics").body;
    return page.find(orders_series) == std::string::npos &&  // counts start again
           page.find(R"(tidesync_agent_rows_uploaded_total{database="store-01",table="orders"} 0)") !=
             std::string::npos &&
           page.find(items_series) == std::string::npos;
  })) << agent.err();
  site_exec("INSERT INTO items (id, name) VALUES (9, 'left behind')");
  site_exec("INSERT INTO orders (id, day, note) VALUES (500, '2024-01-02', 'still synced')");
  EXPECT_TRUE(eventually_true([&] { return remote_rows("orders").size() == 121u; }));
  EXPECT_TRUE(remote_rows("items").empty()) << "a removed table stops syncing";
  agent.signal(SIGTERM);
  EXPECT_EQ(agent.wait_for(process_deadline), 0) << agent.err();
}

TEST_F(AgentCli, SighupAddsATableAndABadFileKeepsTheRunningConfiguration) {
  site_exec("CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT)");
  site_exec("INSERT INTO items VALUES (1, 'bolt'), (2, 'nut'), (3, 'washer')");
  prepare({"items"});
  auto config = write_config("[orders]");
  agent_process agent{{"agent", "--config", config.string()}, dir_.path()};
  ASSERT_TRUE(eventually_true([&] { return remote_rows("orders").size() == 120u; }))
    << agent.err();
  EXPECT_TRUE(remote_rows("items").empty());
  // The table added to the file syncs without a restart.
  write_config("[orders, items]");
  agent.signal(SIGHUP);
  ASSERT_TRUE(eventually_true([&] { return remote_rows("items").size() == 3u; })) << agent.err();
  expect_remote_matches("items");
  EXPECT_NE(agent.err().find("reread (1 databases)"), std::string::npos) << agent.err();
  EXPECT_NE(agent.err().find("running on the reread configuration"), std::string::npos)
    << agent.err();
  EXPECT_EQ(agent.err().find("agent: stopped"), std::string::npos) << agent.err();
  // A file with an error is named in the log; the running agent goes on.
  auto broken = read_file(config);
  broken.replace(broken.find("interval: 200ms"), 15, "interval: soon");
  std::ofstream{config} << broken;
  agent.signal(SIGHUP);
  ASSERT_TRUE(eventually_true([&] { return agent.err().find("not reloaded") != std::string::npos; }))
    << agent.err();
  EXPECT_NE(agent.err().find("interval"), std::string::npos) << agent.err();
  site_exec("INSERT INTO items (id, name) VALUES (4, 'spring')");
  EXPECT_TRUE(eventually_true([&] { return remote_rows("items").size() == 4u; })) << agent.err();
  EXPECT_FALSE(agent.wait_for(std::chrono::milliseconds(0)).has_value());
  agent.signal(SIGTERM);
  EXPECT_EQ(agent.wait_for(process_deadline), 0) << agent.err();
}

TEST_P(AgentCliOnEachSite, AKill9DuringTheInitialLoadThenARestartConverges) {
  // Batches start at 1,000 rows and double while they are fast: enough rows
  // that the load is still running when the kill follows its first batch.
  constexpr std::size_t rows = 40'000;
  site_exec("CREATE TABLE big (id INTEGER PRIMARY KEY, note TEXT)");
  site_exec("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < " +
            std::to_string(rows) + ") INSERT INTO big SELECT i, 'row ' || i FROM n");
  prepare({"big"});
  auto config = write_config("[big]");
  {
    agent_process agent{{"agent", "--config", config.string()}, dir_.path()};
    auto deadline = std::chrono::steady_clock::now() + process_deadline;
    while (remote_rows("big").size() < 500 && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    agent.signal(SIGKILL);
    EXPECT_EQ(agent.wait_for(process_deadline), 128 + SIGKILL);
  }
  EXPECT_LT(remote_rows("big").size(), rows);
  agent_process again{{"agent", "--config", config.string(), "--once"}, dir_.path()};
  ASSERT_EQ(again.wait_for(process_deadline), 0) << again.err();
  expect_remote_matches("big");
  EXPECT_TRUE(skipped_rows().empty());
}

TEST_F(AgentCli, AConfigErrorIsNamedAndExitsOne) {
  auto path = dir_.path() / "bad.yaml";
  std::ofstream{path} << "server: {url: http://127.0.0.1:1, client_id: acme, token: x}\n"
                      << "interval: soon\n"
                      << "databases: []\n";
  agent_process agent{{"agent", "--config", path.string()}, dir_.path()};
  EXPECT_EQ(agent.wait_for(process_deadline), 1);
  EXPECT_NE(agent.err().find("interval"), std::string::npos) << agent.err();
}

TEST_F(AgentCli, AnUnknownOptionExitsTwo) {
  agent_process agent{{"agent", "--config", write_config().string(), "--sometimes"},
                      dir_.path()};
  EXPECT_EQ(agent.wait_for(process_deadline), 2);
  EXPECT_NE(agent.err().find("--sometimes"), std::string::npos) << agent.err();
}

INSTANTIATE_TEST_SUITE_P(sites, AgentCliOnEachSite,
                         ::testing::Values(site_kind::sqlite, site_kind::postgresql), site_name);

} // namespace

} // namespace tidesync::testing
