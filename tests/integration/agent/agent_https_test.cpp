#include "actors/agent.hpp"

#include "tests/integration/agent/agent_fixture.hpp"
#include "tests/integration/agent/connect_proxy.hpp"
#include "tests/support/test_certificates.hpp"
#include "tests/support/time_scale.hpp"

#include <chrono>
#include <future>
#include <string>

namespace tidesync::testing {

namespace {

using actors::table_state;

const auto run_deadline = scaled(std::chrono::seconds(60));

constexpr const char* create_orders = "CREATE TABLE orders (id BIGINT PRIMARY KEY, note TEXT)";

// More rows than one batch (the fixture's batches hold 50), so several
// requests go over the same TLS connection.
constexpr const char* insert_orders =
    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 180) "
    "INSERT INTO orders (id, note) SELECT i, 'order ' || i || ' ✓' FROM n";

/// A SQLite site with "orders" and an api_server that only speaks HTTPS, with a
/// certificate signed by a CA made for the test.
class https_agent_test : public sqlite_agent_test {
protected:
  void SetUp() override {
    sqlite_agent_test::SetUp();
    certificates_ = write_test_certificates(dir_.path() / "tls");
    restart_server_with_tls(
        {certificates_.server_cert.string(), certificates_.server_key.string()});
    site_exec(create_orders);
    site_exec(insert_orders);
    prepare({"orders"});
  }

  /// An agent config reaching the server as https://localhost:<port>.
  config::agent_config https_config() const {
    auto config = agent_config({"orders"});
    config.server.url = "https://localhost:" + std::to_string(port_);
    return config;
  }

  /// Runs `--once` with a deadline: a run that hangs fails the test instead.
  actors::agent_report run_once_within_deadline(const config::agent_config& config) {
    actors::agent_hooks hooks;
    hooks.retry = sync::retry_settings{std::chrono::milliseconds(50), std::chrono::seconds(1)};
    actors::agent agent{config, hooks};
    auto run = std::async(std::launch::async, [&] { return agent.run_once(); });
    if (run.wait_for(run_deadline) != std::future_status::ready) {
      ADD_FAILURE() << "run_once did not finish within " << run_deadline.count() << " s";
      agent.stop();
    }
    return run.get();
  }

  test_certificates certificates_;
};

} // namespace

TEST_F(https_agent_test, AnAgentTrustingTheServersCaSyncsOverHttps) {
  auto config = https_config();
  config.server.ca_file = certificates_.ca_cert.string();
  auto report = run_once_within_deadline(config);
  auto orders = table_of(report, "orders");
  EXPECT_EQ(orders.state, table_state::in_sync) << report.summary_lines();
  EXPECT_EQ(orders.rows_uploaded, 180);
  EXPECT_TRUE(report.all_in_sync()) << report.summary_lines();
  expect_remote_matches("orders");
  EXPECT_TRUE(skipped_rows().empty());
}

TEST_F(https_agent_test, AnAgentNotTrustingTheServersCertificateReportsItAndUploadsNothing) {
  auto report = run_once_within_deadline(https_config());
  EXPECT_FALSE(report.all_in_sync()) << report.summary_lines();
  auto orders = table_of(report, "orders");
  EXPECT_EQ(orders.state, table_state::error) << report.summary_lines();
  EXPECT_NE(orders.error.find("certificate verify failed"), std::string::npos)
      << report.summary_lines();
  EXPECT_EQ(orders.rows_uploaded, 0);
  EXPECT_EQ(orders.skipped_rows, 0);
  EXPECT_TRUE(remote_rows("orders").empty());
  EXPECT_TRUE(skipped_rows().empty());
}

// A store whose traffic leaves only through an HTTP proxy: the agent asks it
// for a tunnel to the server and speaks TLS inside it, verified against the
// server's name, so the proxy relays nothing it can read.
TEST_F(https_agent_test, ThroughAConnectProxyTheAgentSyncsAndTheProxySeesOnlyTls) {
  connect_proxy proxy;
  auto config = https_config();
  config.server.ca_file = certificates_.ca_cert.string();
  config.server.proxy = "http://127.0.0.1:" + std::to_string(proxy.port());
  auto report = run_once_within_deadline(config);
  EXPECT_TRUE(report.all_in_sync()) << report.summary_lines();
  EXPECT_EQ(table_of(report, "orders").rows_uploaded, 180);
  expect_remote_matches("orders");
  const auto targets = proxy.targets();
  ASSERT_FALSE(targets.empty()) << "the agent went around the proxy";
  for (const auto& target : targets)
    EXPECT_EQ(target, "localhost:" + std::to_string(port_));
  const auto relayed = proxy.relayed();
  EXPECT_GT(relayed.size(), 1000u);
  EXPECT_EQ(relayed.find("order 1"), std::string::npos) << "the proxy saw a row";
  EXPECT_EQ(relayed.find("Bearer"), std::string::npos) << "the proxy saw the token";
}

TEST_F(https_agent_test, ThroughAProxyTheServersCertificateIsStillVerified) {
  connect_proxy proxy;
  auto config = https_config();  // no ca_file: the test CA is not trusted
  config.server.proxy = "http://127.0.0.1:" + std::to_string(proxy.port());
  auto report = run_once_within_deadline(config);
  auto orders = table_of(report, "orders");
  EXPECT_EQ(orders.state, table_state::error) << report.summary_lines();
  EXPECT_NE(orders.error.find("certificate verify failed"), std::string::npos)
    << report.summary_lines();
  EXPECT_FALSE(proxy.targets().empty()) << "the tunnel was opened, the handshake refused";
  EXPECT_TRUE(remote_rows("orders").empty());
}

TEST_F(https_agent_test, AProxyThatWantsCredentialsGetsThemFromTheUrlAndARefusalIsNamed) {
  // "Basic " + base64("store 7:p@ss:word"), as the URL's percent-encoding decodes.
  connect_proxy proxy{std::string{"Basic c3RvcmUgNzpwQHNzOndvcmQ="}};
  auto config = https_config();
  config.server.ca_file = certificates_.ca_cert.string();
  config.server.proxy =
    "http://store%207:p%40ss%3Aword@127.0.0.1:" + std::to_string(proxy.port()) + "/";
  auto report = run_once_within_deadline(config);
  EXPECT_TRUE(report.all_in_sync()) << report.summary_lines();
  expect_remote_matches("orders");

  config.server.proxy = "http://store%207:wrong@127.0.0.1:" + std::to_string(proxy.port());
  site_exec("INSERT INTO orders (id, note) VALUES (1000, 'late')");
  auto refused = run_once_within_deadline(config);
  auto orders = table_of(refused, "orders");
  EXPECT_EQ(orders.state, table_state::error) << refused.summary_lines();
  EXPECT_NE(orders.error.find("407"), std::string::npos) << refused.summary_lines();
  EXPECT_NE(orders.error.find("proxy http://127.0.0.1:"), std::string::npos)
    << refused.summary_lines();
  EXPECT_EQ(orders.error.find("wrong"), std::string::npos) << "the password is never shown";
}

} // namespace tidesync::testing
