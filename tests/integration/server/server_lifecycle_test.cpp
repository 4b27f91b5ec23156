// Saturation (503) and graceful stop, made deterministic by holding a row lock
// that an upload needs, from a separate connection.
#include "server/api_server.hpp"

#include "protocol/http_client.hpp"
#include "tests/integration/server/server_fixture.hpp"
#include "tests/support/test_certificates.hpp"

#include <pqxx/pqxx>

#include <filesystem>
#include <future>

namespace tidesync::testing {

namespace {

using ServerLifecycle = server_test;

/// Holds the row lock of acme's `orders` summary until released, so an
/// upload to that table waits inside its database worker.
class summary_lock {
public:
  explicit summary_lock(const std::string& url) : connection_(url), tx_(connection_) {
    tx_.exec("SELECT 1 FROM tidesync.tenant_tables WHERE client_id = 'acme'"
             " AND table_name = 'orders' FOR UPDATE");
  }
  void release() { tx_.abort(); }

private:
  pqxx::connection connection_;
  pqxx::work tx_;
};

config::server_config single_worker(config::server_config config) {
  config.pool_size = 1;
  config.max_waiting = 0;
  return config;
}

// Starts an upload on its own connection; it answers once the lock is gone.
std::future<http_reply> start_blocked_upload(std::uint16_t port, const std::string& path,
                                             const std::string& token) {
  return std::async(std::launch::async, [port, path, token] {
    test_http_client own{port};
    return own.call("POST", path, token,
                    R"({"columns":["id","note","price","tidesync_version"],
                        "rows":[[1,"held",null,1]]})");
  });
}

TEST_F(ServerLifecycle, ASaturatedPoolAnswers503WithRetryAfterAndRecovers) {
  restart_server(single_worker(test_config()));
  declare_orders();
  summary_lock lock{db_.url()};
  auto upload = start_blocked_upload(port_, table_path("orders"), token_);
  ASSERT_TRUE(eventually([&] { return server_->busy_workers() == 1; }));

  auto refused = client().call("GET", table_path("orders"), token_);
  EXPECT_EQ(refused.status, 503) << refused.body;
  EXPECT_EQ(refused.error_code(), "unavailable");
  EXPECT_EQ(refused.headers["retry-after"], "1");
  EXPECT_EQ(client().send("GET", "/readyz").status, 503);
  // Answers that need no database still come.
  EXPECT_EQ(client().send("GET", "/healthz").status, 200);
  EXPECT_NE(client().send("GET", "/metrics").body.find("tidesync_server_pool_busy 1"),
            std::string::npos);

  lock.release();
  auto held = upload.get();
  EXPECT_EQ(held.status, 200) << held.body;
  EXPECT_EQ(client().call("GET", table_path("orders"), token_).status, 200);
  EXPECT_NE(client().send("GET", "/metrics").body.find("tidesync_server_rejected_requests_total 2"),
            std::string::npos);
}

TEST_F(ServerLifecycle, StopLetsTheRequestInFlightFinishThenTheServerIsDown) {
  restart_server(single_worker(test_config()));
  declare_orders();
  ASSERT_EQ(client().send("GET", "/healthz").status, 200); // leaves an idle keep-alive connection
  summary_lock lock{db_.url()};
  auto upload = start_blocked_upload(port_, table_path("orders"), token_);
  ASSERT_TRUE(eventually([&] { return server_->busy_workers() == 1; }));

  auto stopped = std::async(std::launch::async, [this] { server_->stop(); });
  ASSERT_TRUE(eventually([&] { return !test_http_client::answers(port_); }));
  EXPECT_EQ(stopped.wait_for(std::chrono::milliseconds(0)), std::future_status::timeout);

  lock.release();
  auto held = upload.get();
  EXPECT_EQ(held.status, 200) << held.body;
  stopped.get();
  EXPECT_FALSE(test_http_client::answers(port_));
  EXPECT_ANY_THROW(client().send("GET", "/healthz"));
}

TEST_F(ServerLifecycle, WithTlsFilesEveryConnectionIsHttps) {
  namespace fs = std::filesystem;
  auto dir = fs::temp_directory_path() / ("tidesync-tls-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  auto files = write_test_certificates(dir);
  auto config = test_config();
  config.tls = config::tls_files{files.server_cert.string(), files.server_key.string()};
  restart_server(config);

  protocol::http_client_options options;
  options.ca_file = files.ca_cert.string();
  protocol::http_client https{"https://127.0.0.1:" + std::to_string(port_), options};
  auto reply = https.get("/healthz");
  EXPECT_FALSE(reply.transport_error) << *reply.transport_error;
  EXPECT_EQ(reply.status, 200);
  auto tables = https.get(database_path("acme", database_id_) + "/tables",
                          {{"Authorization", "Bearer " + token_}});
  EXPECT_EQ(tables.status, 200) << tables.body;
  // Plain HTTP to a TLS port gets no HTTP answer.
  EXPECT_ANY_THROW(client().send("GET", "/healthz"));
  fs::remove_all(dir);
}

TEST_F(ServerLifecycle, StopIsIdempotent) {
  server_->stop();
  server_->stop();
  EXPECT_FALSE(test_http_client::answers(port_));
}

} // namespace

} // namespace tidesync::testing
