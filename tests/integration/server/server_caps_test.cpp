// Limits on connections and header size, over real sockets on loopback.
#include "server/api_server.hpp"

#include "tests/integration/server/raw_http_connection.hpp"
#include "tests/integration/server/server_fixture.hpp"
#include "tests/support/time_scale.hpp"

#include <memory>
#include <vector>

namespace tidesync::testing {

namespace {

using ServerCaps = server_test;
using namespace std::chrono_literals;

const auto prompt_answer = scaled(3s);

std::string healthz_head() {
  return request_head("GET", "/healthz", {});
}

TEST_F(ServerCaps, AConnectionOverMaxConnectionsIsAnswered503WithRetryAfterAndClosed) {
  auto config = test_config();
  config.max_connections = 2;
  restart_server(config);
  std::vector<std::unique_ptr<raw_http_connection>> held;
  for (int i = 0; i < 2; ++i) {
    held.push_back(std::make_unique<raw_http_connection>(port_));
    ASSERT_TRUE(held.back()->send(healthz_head()));
    auto reply = held.back()->read_reply(prompt_answer);
    ASSERT_TRUE(reply);
    EXPECT_EQ(reply->status, 200); // served, and kept open
  }
  raw_http_connection third{port_};
  third.send(healthz_head());
  auto refused = third.read_reply(prompt_answer);
  ASSERT_TRUE(refused) << "the connection over the limit got no answer";
  EXPECT_EQ(refused->status, 503) << refused->body;
  EXPECT_EQ(refused->headers["retry-after"], "1");
  EXPECT_NE(refused->body.find("max_connections"), std::string::npos);
  EXPECT_TRUE(third.closed_within(prompt_answer));

  // A held connection still works, and once one closes a new one is served.
  ASSERT_TRUE(held[0]->send(healthz_head()));
  auto still = held[0]->read_reply(prompt_answer);
  ASSERT_TRUE(still);
  EXPECT_EQ(still->status, 200);
  held.pop_back();
  EXPECT_TRUE(eventually([&] {
    raw_http_connection next{port_};
    next.send(healthz_head());
    auto reply = next.read_reply(prompt_answer);
    return reply && reply->status == 200;
  }));
}

TEST_F(ServerCaps, ManyConnectionsOverTheLimitAreRefusedWithoutHarmingTheServer) {
  auto config = test_config();
  config.max_connections = 4;
  restart_server(config);
  std::vector<std::unique_ptr<raw_http_connection>> crowd;
  for (int i = 0; i < 200; ++i)
    crowd.push_back(std::make_unique<raw_http_connection>(port_));
  crowd.clear();
  EXPECT_TRUE(eventually([&] { return client().send("GET", "/healthz").status == 200; }));
}

TEST_F(ServerCaps, AHeaderOverTheLimitIsAnswered431AndTheServerKeepsServing) {
  for (std::size_t size : {20u * 1024, 200u * 1024}) {
    raw_http_connection connection{port_};
    connection.send(request_head("GET", "/healthz", {{"X-Filler", std::string(size, 'a')}}));
    auto reply = connection.read_reply(prompt_answer);
    ASSERT_TRUE(reply) << "no answer to a " << size << "-byte header";
    EXPECT_EQ(reply->status, 431) << reply->body;
    EXPECT_NE(reply->body.find("header_too_large"), std::string::npos);
    EXPECT_TRUE(connection.closed_within(prompt_answer));
  }
  raw_http_connection long_target{port_};
  long_target.send(request_head("GET", "/" + std::string(20 * 1024, 'x'), {}));
  auto reply = long_target.read_reply(prompt_answer);
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->status, 431);
  EXPECT_EQ(client().send("GET", "/healthz").status, 200);
}

TEST_F(ServerCaps, AHeaderJustUnderTheLimitIsServed) {
  auto reply = client().send("GET", "/healthz", "", {{"X-Filler", std::string(8 * 1024, 'a')}});
  EXPECT_EQ(reply.status, 200);
}

} // namespace

} // namespace tidesync::testing
