// A PostgreSQL site restored from a file-level copy of its data directory:
// transaction ids are reused, so changed rows get versions the cloud has
// already seen, with other content. Only content digests can tell.
#include "actors/agent.hpp"

#include "tests/integration/agent/agent_fixture.hpp"
#include "tests/support/time_scale.hpp"

#include <pqxx/pqxx>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>
#include <unistd.h>

namespace tidesync::testing {

namespace {

namespace fs = std::filesystem;

void shell(const std::string& command) {
  ASSERT_EQ(std::system(command.c_str()), 0) << command;
}

std::string read_file(const fs::path& path) {
  std::ifstream in{path};
  std::string text;
  std::getline(in, text);
  return text;
}

// PostgreSQL refuses to run as root; as root its tools run as `postgres`.
std::string as_owner() {
  return ::geteuid() == 0 ? "runuser -u postgres -- " : "";
}

std::string pg_ctl() {
  for (const auto& version : fs::directory_iterator("/usr/lib/postgresql"))
    if (fs::exists(version.path() / "bin/pg_ctl"))
      return (version.path() / "bin/pg_ctl").string();
  return "pg_ctl";
}

/// A site cluster of its own, so its data directory can be copied and put back.
class site_cluster {
public:
  explicit site_cluster(fs::path dir) : dir_(std::move(dir)) {
    auto out = dir_.string() + ".url";
    shell(std::string(TIDESYNC_SOURCE_DIR) + "/scripts/pg-cluster start " + dir_.string() + " > " +
          out);
    url_ = read_file(out);
    port_ = read_file(dir_ / "port");
  }
  ~site_cluster() {
    std::system((std::string(TIDESYNC_SOURCE_DIR) + "/scripts/pg-cluster stop " + dir_.string())
                  .c_str());
  }

  const std::string& url() const { return url_; }

  void stop() { shell(as_owner() + pg_ctl() + " -D " + data() + " -m fast -w stop > /dev/null"); }
  void start() {
    shell(as_owner() + pg_ctl() + " -D " + data() + " -l " + (dir_ / "server.log").string() +
          " -w -t 60 -o '-c listen_addresses=127.0.0.1 -c unix_socket_directories=" +
          dir_.string() + " -c fsync=off -p " + port_ + "' start > /dev/null");
  }
  /// Copies the stopped cluster's data directory (a file-level backup).
  void back_up() { shell("cp -a " + data() + " " + (dir_ / "backup").string()); }
  /// Puts the copy back in place of the stopped cluster's data directory.
  void restore() {
    shell("rm -rf " + data() + " && cp -a " + (dir_ / "backup").string() + " " + data());
  }

private:
  std::string data() const { return (dir_ / "data").string(); }

  fs::path dir_;
  std::string url_;
  std::string port_;
};

} // namespace

class pg_file_restore_test : public postgres_agent_test {
protected:
  /// Syncs `orders`, copies the stopped cluster's data directory, changes rows
  /// 1..40 and syncs, puts the copy back and changes the same rows again: the
  /// restored cluster hands out the same transaction id, so those rows get
  /// the version the cloud already holds, with other content.
  void restore_with_rewound_versions(site_cluster& cluster) {
    site_url_ = cluster.url();
    site_exec("CREATE TABLE orders (id BIGINT PRIMARY KEY, note TEXT, amount DOUBLE PRECISION)");
    site_exec("INSERT INTO orders SELECT i, 'order ' || i, i * 0.5 FROM generate_series(1, 500) i");
    prepare({"orders"});
    ASSERT_TRUE(run_once({"orders"}).all_in_sync());

    cluster.stop();
    cluster.back_up();
    cluster.start();
    site_exec("UPDATE orders SET note = 'first life' WHERE id <= 40");
    ASSERT_TRUE(run_once({"orders"}).all_in_sync());

    cluster.stop();
    cluster.restore();
    cluster.start();
    site_exec("UPDATE orders SET note = 'second life', amount = -amount WHERE id <= 40");
    auto site = storage::open_source(site_url_);
    auto schema = site->describe("orders", {}, "tidesync_version", std::nullopt);
    auto local = site->summary("orders", schema);
    pqxx::connection store{store_db_.url()};
    pqxx::nontransaction tx{store};
    auto remote = tx.exec1("SELECT row_count, max_version FROM tidesync.tenant_tables "
                           "WHERE table_name = 'orders'");
    // The blind spot is real: count and maximum version agree.
    EXPECT_EQ(local.count, remote[0].as<std::int64_t>());
    EXPECT_EQ(local.max_version, remote[1].as<std::int64_t>()) << "the versions did not rewind";
  }
};

TEST_F(pg_file_restore_test, ASiteRestoredFromAFileCopyOfItsDataDirectoryIsRepairedByOnce) {
  site_cluster cluster{dir_.path() / "site-cluster"};
  restore_with_rewound_versions(cluster);
  auto report = run_once({"orders"});
  EXPECT_TRUE(report.all_in_sync()) << report.summary_lines();
  EXPECT_EQ(table_of(report, "orders").rows_repaired, 40);
  expect_remote_matches("orders");
}

TEST_F(pg_file_restore_test, ARunningAgentRepairsASiteRestoredFromAFileCopyByItself) {
  site_cluster cluster{dir_.path() / "site-cluster"};
  restore_with_rewound_versions(cluster);
  auto config = agent_config({"orders"});
  config.verify_interval = std::chrono::milliseconds(500);
  {
    running_agent agent{config};
    auto deadline = std::chrono::steady_clock::now() + scaled(std::chrono::seconds(60));
    while (remote_rows("orders") != site_rows("orders") &&
           std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  expect_remote_matches("orders");
}

} // namespace tidesync::testing
