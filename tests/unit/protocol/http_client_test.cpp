#include "protocol/http_client.hpp"

#include "protocol/gzip.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <thread>

using namespace tidesync::protocol;
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

/// What the test server saw of one request.
struct seen_request {
  std::string method;
  std::string target;
  std::string body; // un-gzipped
  std::string content_encoding;
  std::string authorization;
  std::string custom;
};

/// A blocking loopback HTTP server, one connection at a time. Targets choose
/// the behaviour: /slow answers late, /close and /drop end the connection
/// after answering (/drop without saying so), /gzip answers gzip-encoded,
/// /busy answers 503 with Retry-After, anything else echoes the body.
class test_server {
public:
  test_server() : acceptor_(io_, {asio::ip::make_address("127.0.0.1"), 0}) {
    port_ = acceptor_.local_endpoint().port();
    thread_ = std::thread([this] { serve(); });
  }

  ~test_server() {
    stopping_ = true;
    beast::error_code ignored;
    tcp::socket wake(io_);
    wake.connect({asio::ip::make_address("127.0.0.1"), port_}, ignored);
    thread_.join();
  }

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  int connections() const { return connections_; }

  seen_request last() {
    std::lock_guard lock(mutex_);
    return last_;
  }

private:
  void serve() {
    while (!stopping_) {
      tcp::socket socket(io_);
      beast::error_code ec;
      acceptor_.accept(socket, ec);
      if (ec || stopping_)
        return;
      ++connections_;
      serve_connection(socket);
    }
  }

  void serve_connection(tcp::socket& socket) {
    beast::flat_buffer buffer;
    while (true) {
      http::request<http::string_body> request;
      beast::error_code ec;
      http::read(socket, buffer, request, ec);
      if (ec)
        return;
      record(request);
      auto target = std::string(request.target());
      if (target == "/slow")
        std::this_thread::sleep_for(std::chrono::milliseconds(400));
      auto response = answer(request, target);
      http::write(socket, response, ec);
      if (ec || target == "/close" || target == "/drop")
        return;
    }
  }

  void record(const http::request<http::string_body>& request) {
    seen_request seen{std::string(request.method_string()),
                      std::string(request.target()),
                      request.body(),
                      std::string(request[http::field::content_encoding]),
                      std::string(request[http::field::authorization]),
                      std::string(request["X-Custom"])};
    if (seen.content_encoding == "gzip")
      seen.body = gzip_decompress(request.body(), 1 << 24).data;
    std::lock_guard lock(mutex_);
    last_ = std::move(seen);
  }

  http::response<http::string_body> answer(const http::request<http::string_body>& request,
                                           const std::string& target) {
    http::response<http::string_body> response(http::status::ok, request.version());
    response.set(http::field::content_type, "application/json");
    response.body() = "echo:" + last().body;
    if (target == "/gzip") {
      response.body() = gzip_compress("{\"zipped\":true}");
      response.set(http::field::content_encoding, "gzip");
    } else if (target == "/busy") {
      response.result(http::status::service_unavailable);
      response.set(http::field::retry_after, "7");
    }
    response.keep_alive(target != "/close");
    response.prepare_payload();
    return response;
  }

  asio::io_context io_;
  tcp::acceptor acceptor_;
  unsigned short port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<int> connections_{0};
  std::mutex mutex_;
  seen_request last_;
  std::thread thread_;
};

// A port nothing listens on: bound once, then released.
unsigned short closed_port() {
  asio::io_context io;
  tcp::acceptor acceptor(io, {asio::ip::make_address("127.0.0.1"), 0});
  return acceptor.local_endpoint().port();
}

} // namespace

TEST(HttpClient, SendsARequestAndReadsTheResponse) {
  test_server server;
  http_client client(server.url(), {.default_headers = {{"Authorization", "Bearer t0k"}}});
  auto response = client.post("/v1/things", "{\"a\":1}", {{"X-Custom", "yes"}});
  ASSERT_FALSE(response.transport_error) << *response.transport_error;
  EXPECT_TRUE(response.ok());
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.body, "echo:{\"a\":1}");
  EXPECT_EQ(response.content_type, "application/json");
  auto seen = server.last();
  EXPECT_EQ(seen.method, "POST");
  EXPECT_EQ(seen.target, "/v1/things");
  EXPECT_EQ(seen.authorization, "Bearer t0k");
  EXPECT_EQ(seen.custom, "yes");
  EXPECT_EQ(seen.content_encoding, "");
}

TEST(HttpClient, ReusesOneConnectionForManyRequests) {
  test_server server;
  http_client client(server.url());
  for (int i = 0; i < 20; ++i)
    ASSERT_TRUE(client.get("/ping").ok());
  EXPECT_EQ(server.connections(), 1);
  EXPECT_EQ(client.connections_opened(), 1u);
}

TEST(HttpClient, ReconnectsWhenTheServerClosedTheIdleConnection) {
  test_server server;
  http_client client(server.url());
  ASSERT_TRUE(client.get("/drop").ok()); // the server closes without telling
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  auto response = client.post("/after", "x");
  ASSERT_FALSE(response.transport_error) << *response.transport_error;
  EXPECT_EQ(response.body, "echo:x");
  EXPECT_EQ(server.connections(), 2);
}

TEST(HttpClient, ReconnectsAfterConnectionClose) {
  test_server server;
  http_client client(server.url());
  ASSERT_TRUE(client.get("/close").ok());
  ASSERT_TRUE(client.get("/next").ok());
  EXPECT_EQ(server.connections(), 2);
}

TEST(HttpClient, GzipsLargeBodiesOnly) {
  test_server server;
  http_client client(server.url(), {.gzip_min_bytes = 100});
  std::string large(5000, 'r');
  ASSERT_TRUE(client.post("/large", large).ok());
  EXPECT_EQ(server.last().content_encoding, "gzip");
  EXPECT_EQ(server.last().body, large);
  ASSERT_TRUE(client.post("/small", "tiny").ok());
  EXPECT_EQ(server.last().content_encoding, "");
}

TEST(HttpClient, GzipCanBeTurnedOff) {
  test_server server;
  http_client client(server.url(), {.gzip_requests = false, .gzip_min_bytes = 1});
  ASSERT_TRUE(client.post("/large", std::string(5000, 'r')).ok());
  EXPECT_EQ(server.last().content_encoding, "");
}

TEST(HttpClient, ABodyItsCallerNamedIdentityIsSentAsItIs) {
  // What the agent's uncompressed uploads rely on: a server that reads no
  // coding must get the plain body even with the client's gzip on.
  test_server server;
  http_client client(server.url(), {.gzip_min_bytes = 100});
  std::string large(5000, 'r');
  ASSERT_TRUE(client.post("/plain", large, {{"Content-Encoding", "identity"}}).ok());
  EXPECT_EQ(server.last().content_encoding, "identity");
  EXPECT_EQ(server.last().body, large);
}

TEST(HttpClient, DecodesGzipResponses) {
  test_server server;
  http_client client(server.url());
  auto response = client.get("/gzip");
  ASSERT_TRUE(response.ok());
  EXPECT_EQ(response.content_encoding, "gzip");
  EXPECT_EQ(response.body, "{\"zipped\":true}");
}

TEST(HttpClient, ReportsRetryAfter) {
  test_server server;
  http_client client(server.url());
  auto response = client.get("/busy");
  EXPECT_FALSE(response.transport_error);
  EXPECT_FALSE(response.ok());
  EXPECT_EQ(response.status, 503);
  EXPECT_EQ(response.retry_after, "7");
  EXPECT_EQ(response.retry_after_seconds(), std::chrono::seconds(7));
}

TEST(HttpClient, PutsThePathPrefixInFrontOfTargets) {
  test_server server;
  http_client client(server.url() + "/api/", {});
  ASSERT_TRUE(client.del("/v1/x", "{\"all\":true}").ok());
  EXPECT_EQ(server.last().target, "/api/v1/x");
  EXPECT_EQ(server.last().method, "DELETE");
}

TEST(HttpClient, ReportsATimeoutAsATransportError) {
  test_server server;
  http_client client(server.url(), {.request_timeout = std::chrono::milliseconds(100)});
  auto response = client.get("/slow");
  ASSERT_TRUE(response.transport_error);
  EXPECT_TRUE(response.timed_out);
  EXPECT_EQ(response.status, 0);
  EXPECT_EQ(*response.transport_error, "read response: timed out");
  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  EXPECT_TRUE(client.get("/after-timeout").ok()); // the client recovers
}

TEST(HttpClient, ReportsARefusedConnectionAsATransportError) {
  http_client client("http://127.0.0.1:" + std::to_string(closed_port()));
  auto response = client.get("/healthz");
  ASSERT_TRUE(response.transport_error);
  EXPECT_FALSE(response.timed_out);
  EXPECT_NE(response.transport_error->find("connect to 127.0.0.1:"), std::string::npos)
      << *response.transport_error;
  EXPECT_NE(response.transport_error->find("refused"), std::string::npos)
      << *response.transport_error;
}

TEST(HttpClient, ReportsAnUnresolvableHostAsATransportError) {
  http_client client("http://no-such-host.invalid:80");
  auto response = client.get("/healthz");
  ASSERT_TRUE(response.transport_error);
  EXPECT_EQ(response.transport_error->rfind("resolve no-such-host.invalid", 0), 0u);
}

TEST(HttpClient, RefusesUnusableUrlsAndTargets) {
  EXPECT_THROW(http_client("ftp://host:1"), std::invalid_argument);
  EXPECT_THROW(http_client("http://:80"), std::invalid_argument);
  EXPECT_THROW(http_client("http://host:"), std::invalid_argument);
  EXPECT_THROW(http_client("http://[::1"), std::invalid_argument);
  EXPECT_NO_THROW(http_client("https://[::1]:8443/prefix"));
  EXPECT_NO_THROW(http_client("https://example.com"));
  http_client client("http://127.0.0.1:1");
  EXPECT_THROW(client.get("no-slash"), std::invalid_argument);
  EXPECT_THROW(client.request("FETCH", "/x"), std::invalid_argument);
}

TEST(HttpClient, HttpsToAPlainServerFailsAsATransportError) {
  test_server server;
  http_client client("https://127.0.0.1:" + server.url().substr(server.url().rfind(':') + 1),
                     {.connect_timeout = std::chrono::milliseconds(2000)});
  auto response = client.get("/x");
  ASSERT_TRUE(response.transport_error);
  EXPECT_EQ(response.transport_error->rfind("connect to 127.0.0.1:", 0), 0u)
      << *response.transport_error;
}
