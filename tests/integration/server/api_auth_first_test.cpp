// The token is checked on the request's head: a request the server will
// refuse never costs it the body (docs/api.md, Errors).
#include "server/api_server.hpp"

#include "tests/integration/server/raw_http_connection.hpp"
#include "tests/integration/server/server_fixture.hpp"
#include "tests/support/time_scale.hpp"

#include <atomic>
#include <future>
#include <random>
#include <thread>
#include <vector>

namespace tidesync::testing {

namespace {

using ApiAuthFirst = server_test;
using namespace std::chrono_literals;

constexpr std::size_t ten_megabytes = 10u << 20;
// Long enough for a loaded machine, far shorter than the server's 60 s read timeout.
const auto prompt_answer = scaled(3s);

/// The head of an upload announcing a 10 MB body that never comes.
std::string upload_head(const std::string& path, const std::string& token) {
  std::map<std::string, std::string> fields{{"Content-Type", "application/json"},
                                            {"Content-Length", std::to_string(ten_megabytes)}};
  if (!token.empty())
    fields["Authorization"] = "Bearer " + token;
  return request_head("POST", path, fields);
}

class ApiAuthFirstLargeBodies : public server_test {
protected:
  void SetUp() override {
    server_test::SetUp();
    auto config = test_config();
    config.max_body_bytes = 64u << 20; // a 10 MB body is allowed: only the token can refuse it
    restart_server(config);
  }
};

TEST_F(ApiAuthFirstLargeBodies, ABogusTokenIsAnswered401WhileTheClientHasSentOnlyTheHead) {
  raw_http_connection connection{port_};
  ASSERT_TRUE(connection.send(upload_head(table_path("orders"), "ts_bogus")));
  auto reply = connection.read_reply(prompt_answer);
  ASSERT_TRUE(reply) << "no answer before the body was sent";
  EXPECT_EQ(reply->status, 401) << reply->body;
  EXPECT_NE(reply->body.find("unauthorized"), std::string::npos);
  EXPECT_EQ(reply->headers["connection"], "close");
  EXPECT_TRUE(connection.closed_within(prompt_answer));
}

TEST_F(ApiAuthFirstLargeBodies, AMissingTokenIsAnswered401WhileTheClientHasSentOnlyTheHead) {
  raw_http_connection connection{port_};
  ASSERT_TRUE(connection.send(upload_head(table_path("orders"), "")));
  auto reply = connection.read_reply(prompt_answer);
  ASSERT_TRUE(reply) << "no answer before the body was sent";
  EXPECT_EQ(reply->status, 401) << reply->body;
  EXPECT_TRUE(connection.closed_within(prompt_answer));
}

TEST_F(ApiAuthFirstLargeBodies, ATokenOfAnotherClientIsAnswered403WhileTheClientHasSentOnlyTheHead) {
  auto globex_token = create_client("globex");
  for (int attempt = 0; attempt < 2; ++attempt) { // looked up, then cached
    raw_http_connection connection{port_};
    ASSERT_TRUE(connection.send(upload_head(table_path("orders"), globex_token)));
    auto reply = connection.read_reply(prompt_answer);
    ASSERT_TRUE(reply) << "no answer before the body was sent, attempt " << attempt;
    EXPECT_EQ(reply->status, 403) << reply->body;
    EXPECT_TRUE(connection.closed_within(prompt_answer));
  }
}

TEST_F(ApiAuthFirstLargeBodies, ANarrowedTokenOnAnotherDatabaseIsAnswered403BeforeTheBody) {
  auto narrowed = admin_->create_token("acme", database_id_).secret;
  auto other_db = register_database("acme", token_, "store-02");
  raw_http_connection connection{port_};
  ASSERT_TRUE(connection.send(upload_head(database_path("acme", other_db) + "/tables/orders",
                                          narrowed)));
  auto reply = connection.read_reply(prompt_answer);
  ASSERT_TRUE(reply) << "no answer before the body was sent";
  EXPECT_EQ(reply->status, 403) << reply->body;
}

TEST_F(ApiAuthFirst, AValidTokenGetsItsBodyReadAfterTheHeadIsChecked) {
  declare_orders();
  std::string body =
      R"({"columns":["id","note","price","tidesync_version"],"rows":[[1,"late body",null,1]]})";
  raw_http_connection connection{port_};
  ASSERT_TRUE(connection.send(request_head("POST", table_path("orders"),
                                           {{"Authorization", "Bearer " + token_},
                                            {"Content-Type", "application/json"},
                                            {"Content-Length", std::to_string(body.size())}})));
  // The head alone gets no answer: the server waits for the body.
  EXPECT_FALSE(connection.read_reply(300ms));
  ASSERT_TRUE(connection.send(body));
  auto reply = connection.read_reply(prompt_answer);
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->status, 200) << reply->body;
  // Keep-alive holds after an admitted request.
  ASSERT_TRUE(connection.send(request_head("GET", table_path("orders"),
                                           {{"Authorization", "Bearer " + token_}})));
  auto next = connection.read_reply(prompt_answer);
  ASSERT_TRUE(next);
  EXPECT_EQ(next->status, 200) << next->body;
}

TEST_F(ApiAuthFirst, ExpectContinueIsAnsweredOnlyOnceTheTokenIsAccepted) {
  declare_orders();
  std::string body =
      R"({"columns":["id","note","price","tidesync_version"],"rows":[[2,"continued",null,1]]})";
  auto head = [&](const std::string& token) {
    return request_head("POST", table_path("orders"),
                        {{"Authorization", "Bearer " + token},
                         {"Content-Type", "application/json"},
                         {"Expect", "100-continue"},
                         {"Content-Length", std::to_string(body.size())}});
  };
  raw_http_connection refused{port_};
  ASSERT_TRUE(refused.send(head("ts_bogus")));
  auto refusal = refused.read_reply(prompt_answer);
  ASSERT_TRUE(refusal);
  EXPECT_EQ(refusal->status, 401) << refusal->body;

  raw_http_connection connection{port_};
  ASSERT_TRUE(connection.send(head(token_)));
  auto go_on = connection.read_reply(prompt_answer);
  ASSERT_TRUE(go_on) << "no 100 Continue for an accepted token";
  EXPECT_EQ(go_on->status, 100);
  ASSERT_TRUE(connection.send(body));
  auto reply = connection.read_reply(prompt_answer);
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->status, 200) << reply->body;
}

TEST_F(ApiAuthFirst, ARefusedRequestWithoutABodyKeepsItsConnection) {
  raw_http_connection connection{port_};
  auto path = database_path("acme", database_id_) + "/tables";
  ASSERT_TRUE(connection.send(request_head("GET", path, {{"Authorization", "Bearer nonsense"}})));
  auto refused = connection.read_reply(prompt_answer);
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 401);
  ASSERT_TRUE(connection.send(request_head("GET", path, {{"Authorization", "Bearer " + token_}})));
  auto served = connection.read_reply(prompt_answer);
  ASSERT_TRUE(served);
  EXPECT_EQ(served->status, 200) << served->body;
}

TEST_F(ApiAuthFirstLargeBodies, ARevokedTokenIsRefusedBeforeItsBodyWithinFiveSeconds) {
  auto token = admin_->create_token("acme", std::nullopt);
  auto path = database_path("acme", database_id_) + "/tables";
  ASSERT_EQ(client().call("GET", path, token.secret).status, 200); // now cached as valid
  ASSERT_TRUE(admin_->revoke_token(token.token_id));
  auto revoked_at = std::chrono::steady_clock::now();
  std::optional<raw_reply> refusal;
  while (!refusal && std::chrono::steady_clock::now() - revoked_at < 6s) {
    raw_http_connection connection{port_};
    ASSERT_TRUE(connection.send(upload_head(table_path("orders"), token.secret)));
    refusal = connection.read_reply(250ms); // a still-trusted token waits for its body
  }
  auto took = std::chrono::steady_clock::now() - revoked_at;
  ASSERT_TRUE(refusal) << "the revoked token was never refused before its body";
  EXPECT_EQ(refusal->status, 401) << refusal->body;
  EXPECT_LT(took, 5s);
}

std::string random_token(std::mt19937_64& random) {
  return "ts_bogus_" + std::to_string(random()) + std::to_string(random());
}

TEST_F(ApiAuthFirst, AFloodOfBogusTokensLeavesAValidTenantServed) {
  auto path = database_path("acme", database_id_) + "/tables";
  ASSERT_EQ(client().call("GET", path, token_).status, 200);
  std::atomic<bool> stop{false};
  std::atomic<int> flood_replies{0};
  std::atomic<int> unexpected{0};
  std::vector<std::future<void>> flood;
  for (int i = 0; i < 8; ++i)
    flood.push_back(std::async(std::launch::async, [&, i] {
      std::mt19937_64 random(static_cast<std::uint64_t>(i) + 1);
      test_http_client own{port_};
      while (!stop) {
        auto status = own.call("GET", path, random_token(random)).status;
        ++flood_replies;
        if (status != 401 && status != 503)
          ++unexpected;
      }
    }));
  // Longer than token_gate::known_ttl, so the tenant's token is looked up
  // again mid-flood, and until 21 requests were answered: a loaded machine
  // answers fewer in the same time, but the tenant must never fail.
  const auto start = std::chrono::steady_clock::now();
  const auto deadline = start + scaled(30s);
  int served = 0;
  std::vector<int> failures;
  while ((std::chrono::steady_clock::now() < start + 3500ms ||
          served + static_cast<int>(failures.size()) <= 20) &&
         std::chrono::steady_clock::now() < deadline) {
    auto reply = client().call("GET", path, token_);
    if (reply.status == 200)
      ++served;
    else
      failures.push_back(reply.status);
    std::this_thread::sleep_for(50ms);
  }
  stop = true;
  for (auto& f : flood)
    f.get();
  EXPECT_TRUE(failures.empty()) << failures.size() << " requests of the tenant failed, first "
                                << failures.front();
  EXPECT_GT(served, 20);
  EXPECT_GT(flood_replies.load(), 100);
  EXPECT_EQ(unexpected.load(), 0);
}

} // namespace

} // namespace tidesync::testing
