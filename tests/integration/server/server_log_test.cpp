// What the server writes to its log about requests: escaped, and never a secret.
#include "server/api_server.hpp"

#include "tests/integration/agent/log_capture.hpp"
#include "tests/integration/server/raw_http_connection.hpp"
#include "tests/integration/server/server_fixture.hpp"

#include <spdlog/spdlog.h>

namespace tidesync::testing {

namespace {

using namespace std::chrono_literals;

/// server_test with every request logged (debug) while it runs.
class ServerLog : public server_test {
protected:
  void SetUp() override {
    level_ = spdlog::get_level();
    spdlog::set_level(spdlog::level::debug);
    server_test::SetUp();
  }
  void TearDown() override {
    server_test::TearDown();
    spdlog::set_level(level_);
  }

private:
  spdlog::level::level_enum level_ = spdlog::level::info;
};

TEST_F(ServerLog, APercentEncodedNewlineInAPathSegmentIsEscapedInTheLog) {
  auto first = log_capture::size();
  auto reply = client().call(
      "GET", "/v1/customers/acme%0AFORGED%20server:%20stopped/databases/x%0D%1B/tables", token_);
  EXPECT_EQ(reply.status, 403) << reply.body;
  EXPECT_GE(log_capture::count_since(first, "client=acme\\x0aFORGED server: stopped"), 1u);
  EXPECT_GE(log_capture::count_since(first, "database=x\\x0d\\x1b"), 1u);
  EXPECT_EQ(log_capture::count_since(first, "\n"), 0u);
  EXPECT_EQ(log_capture::count_since(first, "\r"), 0u);
  EXPECT_EQ(log_capture::count_since(first, "\x1b"), 0u);
}

TEST_F(ServerLog, NoLogLineHoldsABearerSecret) {
  auto first = log_capture::size();
  auto path = database_path("acme", database_id_) + "/tables";
  auto revoked = admin_->create_token("acme", std::nullopt);
  ASSERT_EQ(client().call("GET", path, revoked.secret).status, 200);
  ASSERT_TRUE(admin_->revoke_token(revoked.token_id));
  const std::string bogus = "ts_bogus_secret_0123456789abcdef";
  auto globex = create_client("globex");

  EXPECT_EQ(client().call("GET", path, token_).status, 200);
  EXPECT_EQ(client().call("GET", path, bogus).status, 401);
  EXPECT_EQ(client().call("GET", path, revoked.secret).status, 401);
  EXPECT_EQ(client().call("GET", path, globex).status, 403);
  EXPECT_EQ(client().send("GET", path, "", {{"Authorization", "Basic " + token_}}).status, 401);
  EXPECT_EQ(client().call("POST", path + "/orders", token_, "{not json").status, 400);
  raw_http_connection slow{port_};
  slow.send(request_head("POST", path + "/orders",
                         {{"Authorization", "Bearer " + bogus}, {"Content-Length", "100000"}}));
  ASSERT_TRUE(slow.read_reply(3s));

  ASSERT_GT(log_capture::size(), first); // the requests were logged
  for (const auto& secret : {token_, bogus, revoked.secret, globex})
    EXPECT_EQ(log_capture::count_since(first, secret), 0u) << "a log line holds " << secret;
}

} // namespace

} // namespace tidesync::testing
