#pragma once

#include "actors/agent.hpp"
#include "config/agent_config.hpp"
#include "config/server_config.hpp"
#include "server/api_server.hpp"
#include "storage/postgres_store.hpp"
#include "storage/state_store.hpp"
#include "tests/integration/sources/source_fixtures.hpp"
#include "tests/support/test_database.hpp"

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace tidesync::testing {

/// Which kind of site database a test runs against.
enum class site_kind { sqlite, postgresql };

/// A real api_server on loopback over a fresh store database with client
/// "acme", a fresh site database of the test's kind (a SQLite file or a
/// PostgreSQL database), and a state directory; the agent runs in-process.
class agent_fixture : public ::testing::Test {
protected:
  void SetUp() override;
  void TearDown() override;

  virtual site_kind kind() const = 0;
  bool is_postgres() const { return kind() == site_kind::postgresql; }

  /// Starts the api_server on `port` (0: any free port) and sets port_.
  void start_server(std::uint16_t port);
  /// Stops the server and starts it again on the same port, refusing bodies over `bytes`.
  void restart_server_with_body_limit(std::uint64_t bytes);
  /// Stops the server and starts it again on the same port, serving only HTTPS with `tls`.
  void restart_server_with_tls(const config::tls_files& tls);

  /// Runs statements on the site database, as an application would.
  void site_exec(const std::string& sql);
  /// Installs version tracking on `tables` of the site database.
  void prepare(const std::vector<std::string>& tables);
  /// Keeps a copy of the site database as it is now (a backup).
  void back_up_site();
  /// Replaces the site database with the copy back_up_site() made (a restore).
  void restore_site();

  /// An agent config for database "store-01" with `tables`.
  config::agent_config agent_config(const std::vector<std::string>& tables) const;
  /// Runs `tidesync agent --once` in-process.
  actors::agent_report run_once(const std::vector<std::string>& tables);
  actors::agent_report run_with(const config::agent_config& config);

  /// The report line of `table`, or a failed expectation.
  static actors::table_report table_of(const actors::agent_report& report,
                                       const std::string& table);

  /// Rows keyed by their key cells, each cell in one comparable form.
  using row_map = std::map<std::vector<std::string>, std::vector<std::string>>;
  row_map site_rows(const std::string& table);
  /// The cloud copy of site table `table`, kept as `remote_name` when given.
  row_map remote_rows(const std::string& table, const std::string& remote_name = {});
  /// Expects the remote copy of `table` to equal the site's, row by row.
  void expect_remote_matches(const std::string& table, const std::string& remote_name = {});

  std::string database_id();
  /// The rows the agent's state holds as skipped, of every table.
  std::vector<storage::skipped_row> skipped_rows();

  test_database store_db_;
  std::unique_ptr<test_database> site_db_;  // PostgreSQL sites only
  std::string site_backup_;                 // PostgreSQL sites: the backup's database name
  temp_directory dir_;
  std::string site_url_;
  std::unique_ptr<storage::postgres_store> store_;
  std::unique_ptr<server::api_server> server_;
  std::uint16_t port_ = 0;
  std::uint64_t max_body_bytes_ = config::default_max_body_bytes;
  std::optional<config::tls_files> server_tls_;
  std::string token_;
};

/// Runs each test once per kind of site database.
class agent_test : public agent_fixture, public ::testing::WithParamInterface<site_kind> {
protected:
  site_kind kind() const override { return GetParam(); }
};

/// Tests that only a SQLite site can show (e.g. an impossible date, a copied file).
class sqlite_agent_test : public agent_fixture {
protected:
  site_kind kind() const override { return site_kind::sqlite; }
};

/// Tests that only a PostgreSQL site can show (e.g. concurrent transactions).
class postgres_agent_test : public agent_fixture {
protected:
  site_kind kind() const override { return site_kind::postgresql; }
};

/// `INSERT … SELECT values FROM n` with n running 1..count, in SQL both
/// SQLite and PostgreSQL understand.
std::string rows_of(const std::string& insert_head, const std::string& values, int count);

/// Runs cycles (at most 5) until `table` is left unread: its last check was
/// quiet and nothing changed since. False when it never was.
bool settles_unread(actors::agent& agent, const std::string& table);

/// Short backoff: the tests' server never fails transiently on purpose.
actors::agent_hooks quick_retries();

/// `agent::run()` on its own thread, stopped and joined on destruction.
class running_agent {
public:
  explicit running_agent(const config::agent_config& config)
    : agent_{config, quick_retries()}, thread_{[this] { agent_.run(); }} {}
  ~running_agent() {
    agent_.stop();
    thread_.join();
  }

private:
  actors::agent agent_;
  std::thread thread_;
};

/// "sqlite" / "postgresql", for test names.
std::string site_name(const ::testing::TestParamInfo<site_kind>& info);

} // namespace tidesync::testing
