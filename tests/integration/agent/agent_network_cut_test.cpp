#include "actors/agent.hpp"

#include "protocol/http_client.hpp"
#include "tests/integration/agent/agent_fixture.hpp"
#include "tests/integration/agent/cutting_proxy.hpp"
#include "tests/integration/agent/log_capture.hpp"
#include "tests/support/time_scale.hpp"

#include <boost/json.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace tidesync::testing {

namespace {

const auto deadline_after = scaled(std::chrono::seconds(60));
constexpr int site_row_count = 1500;
// Random text compresses little: a gzipped batch stays well over the cut point.
constexpr std::size_t note_hex_digits = 1600;
constexpr std::int64_t rows_per_batch = 200;
constexpr std::size_t bodies_cut = 3;

bool eventually(const std::function<bool()>& condition) {
  auto deadline = std::chrono::steady_clock::now() + deadline_after;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition())
      return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return condition();
}

std::string random_hex(std::mt19937_64& random, std::size_t digits) {
  static constexpr const char* hex = "0123456789abcdef";
  std::string out;
  for (std::size_t i = 0; i < digits; ++i)
    out += hex[random() % 16];
  return out;
}

/// Same statements on SQLite and PostgreSQL: a few hundred rows per INSERT.
std::vector<std::string> insert_orders(int rows) {
  constexpr int rows_per_statement = 250;
  std::mt19937_64 random{20261126};
  std::vector<std::string> statements;
  for (int first = 1; first <= rows; first += rows_per_statement) {
    std::string sql = "INSERT INTO orders (id, note) VALUES ";
    for (int id = first; id < first + rows_per_statement && id <= rows; ++id)
      sql += (id == first ? "(" : ", (") + std::to_string(id) + ", '" +
             random_hex(random, note_hex_digits) + "')";
    statements.push_back(sql);
  }
  return statements;
}

} // namespace

/// Network cuts between the agent and the server, made by a proxy in front of it.
class agent_network_cut_test : public agent_test {
protected:
  void SetUp() override {
    agent_test::SetUp();
    site_exec("CREATE TABLE orders (id BIGINT PRIMARY KEY, note TEXT)");
    for (const auto& statement : insert_orders(site_row_count))
      site_exec(statement);
    prepare({"orders"});
    proxy_ = std::make_unique<cutting_proxy>(port_);
  }

  void TearDown() override {
    proxy_.reset();
    agent_test::TearDown();
  }

  /// The agent's config, talking to the server through the proxy.
  config::agent_config proxied_config() const {
    auto config = agent_config({"orders"});
    config.server.url = "http://127.0.0.1:" + std::to_string(proxy_->port());
    config.batch = {1, rows_per_batch, rows_per_batch};
    return config;
  }

  /// The row count of the server's summary of `table`, asked directly; -1 when unknown.
  std::int64_t server_count(const std::string& table) {
    protocol::http_client_options options;
    options.default_headers = {{"Authorization", "Bearer " + token_}};
    protocol::http_client client{"http://127.0.0.1:" + std::to_string(port_), options};
    auto response =
        client.get("/v1/customers/acme/databases/" + database_id() + "/tables/" + table);
    if (!response.ok())
      return -1;
    return boost::json::parse(response.body).at("count").to_number<std::int64_t>();
  }

  std::unique_ptr<cutting_proxy> proxy_;
};

TEST_P(agent_network_cut_test,
       UploadsCutMidBodyOrWithTheirResponseLostAreSentAgainAndNothingIsSkipped) {
  proxy_->add_faults(upload_fault::cut_body, bodies_cut);
  proxy_->add_faults(upload_fault::lose_response, 1);
  const auto first_line = log_capture::size();
  auto logged = [&](const char* text) { return log_capture::count_since(first_line, text); };
  actors::agent_hooks hooks;
  hooks.retry = sync::retry_settings{std::chrono::milliseconds(50), std::chrono::milliseconds(500)};
  actors::agent agent{proxied_config(), hooks};
  std::thread runner([&] { agent.run(); });

  EXPECT_TRUE(eventually([&] { return proxy_->faults_applied() == bodies_cut + 1; }));
  EXPECT_TRUE(eventually([&] { return server_count("orders") == site_row_count; }));
  agent.stop();
  runner.join();

  expect_remote_matches("orders");
  EXPECT_TRUE(skipped_rows().empty());
  EXPECT_EQ(server_count("orders"), site_row_count);
  // One outage: one warning when it starts, one line when uploads work again.
  EXPECT_EQ(logged("orders: upload failed"), 1u);
  EXPECT_EQ(logged("orders: upload succeeded again"), 1u);
  // The response lost was a success: the batch sent again had been stored already.
  ASSERT_EQ(proxy_->lost_responses().size(), 1u);
  EXPECT_TRUE(proxy_->lost_responses().front().starts_with("HTTP/1.1 200"))
      << proxy_->lost_responses().front();
}

INSTANTIATE_TEST_SUITE_P(sites, agent_network_cut_test,
                         ::testing::Values(site_kind::sqlite, site_kind::postgresql), site_name);

} // namespace tidesync::testing
