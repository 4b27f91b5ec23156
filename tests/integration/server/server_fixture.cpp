#include "tests/integration/server/server_fixture.hpp"

#include "tests/support/time_scale.hpp"

#include <boost/json.hpp>

#include <thread>

namespace tidesync::testing {

void server_test::SetUp() {
  admin_ = std::make_unique<storage::postgres_store>(storage::store_options{db_.url()});
  admin_->migrate();
  restart_server(test_config());
  token_ = create_client("acme");
  database_id_ = register_database("acme", token_, "store-01");
}

void server_test::TearDown() {
  client_.reset();
  if (server_)
    server_->stop();
}

config::server_config server_test::test_config() const {
  config::server_config config;
  config.listen = {"127.0.0.1", 0};
  config.database = db_.url();
  config.pool_size = 2;
  config.max_waiting = 8;
  config.io_threads = 2;
  config.max_body_bytes = test_max_body_bytes;
  return config;
}

void server_test::restart_server(config::server_config config) {
  client_.reset();
  if (server_)
    server_->stop();
  server_ = std::make_unique<server::api_server>(std::move(config));
  port_ = server_->start();
  client_ = std::make_unique<test_http_client>(port_);
}

std::string server_test::create_client(const std::string& client_id) {
  return admin_->create_client(client_id).secret;
}

std::string server_test::register_database(const std::string& client_id, const std::string& token,
                                           const std::string& name) {
  auto reply = client().call("POST", "/v1/customers/" + client_id + "/databases", token,
                             R"({"name":")" + name + R"("})");
  EXPECT_EQ(reply.status, 200) << reply.body;
  if (reply.status != 200)
    return {};
  return std::string(reply.json().at("database_id").as_string());
}

std::string server_test::database_path(const std::string& client_id,
                                       const std::string& database_id) const {
  return "/v1/customers/" + client_id + "/databases/" + database_id;
}

std::string server_test::table_path(const std::string& table) const {
  return database_path("acme", database_id_) + "/tables/" + table;
}

void server_test::declare_orders() {
  auto reply = client().call("PUT", table_path("orders") + "/schema", token_,
                             schema_body(R"([{"name":"id","type":"bigint","nullable":false},
                                             {"name":"note","type":"text","nullable":true},
                                             {"name":"price","type":"numeric","nullable":true},
                                             {"name":"tidesync_version","type":"bigint",
                                              "nullable":false}])",
                                         R"(["id"])"));
  ASSERT_EQ(reply.status, 200) << reply.body;
}

http_reply server_test::upload_orders(const std::string& rows) {
  return client().call("POST", table_path("orders"), token_,
                       R"({"columns":["id","note","price","tidesync_version"],"rows":)" + rows +
                           "}");
}

bool eventually(const std::function<bool()>& condition, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + scaled(timeout);
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition())
      return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return condition();
}

std::string schema_body(const std::string& columns, const std::string& key,
                        const std::string& version_column) {
  return R"({"columns":)" + columns + R"(,"key":)" + key + R"(,"version_column":")" +
         version_column + R"(","modified_column":null})";
}

} // namespace tidesync::testing
