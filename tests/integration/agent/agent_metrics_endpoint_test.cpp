// The agent's /metrics endpoint on loopback: what it serves, gzip for a
// scraper that asks for it, refusals, and a stop that waits for nothing.
#include "actors/metrics_endpoint.hpp"
#include "protocol/gzip.hpp"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace tidesync::actors {
namespace {

// The raw response to `request` sent on a fresh loopback connection.
std::string exchange(std::uint16_t port, const std::string& request) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string reply;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0 &&
      ::write(fd, request.data(), request.size()) == static_cast<ssize_t>(request.size())) {
    char buffer[65536];
    for (ssize_t n; (n = ::read(fd, buffer, sizeof buffer)) > 0;)
      reply.append(buffer, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return reply;
}

std::string body_of(const std::string& reply) {
  auto end = reply.find("\r\n\r\n");
  return end == std::string::npos ? std::string{} : reply.substr(end + 4);
}

// Text large and repetitive like 5,000 tables' series, with a marker at the end.
std::string page() {
  std::string text;
  for (int i = 0; i < 20000; ++i)
    text += "tidesync_agent_rows_uploaded_total{database=\"db\",table=\"t" + std::to_string(i) +
            "\"} " + std::to_string(i * 7) + "\n";
  return text + "end 1\n";
}

TEST(MetricsEndpoint, ServesTheTextPlainOrGzippedAsAskedAndRefusesOtherRequests) {
  const auto text = page();
  int renders = 0;
  metrics_endpoint endpoint{"127.0.0.1:0", [&] {
                              ++renders;
                              return text;
                            }};
  ASSERT_GT(endpoint.port(), 0);

  auto plain = exchange(endpoint.port(), "GET /metrics HTTP/1.0\r\nHost: x\r\n\r\n");
  EXPECT_EQ(plain.rfind("HTTP/1.0 200", 0), 0u) << plain.substr(0, 200);
  EXPECT_NE(plain.find("text/plain; version=0.0.4"), std::string::npos);
  EXPECT_EQ(plain.find("Content-Encoding"), std::string::npos);
  EXPECT_EQ(body_of(plain), text);

  auto zipped = exchange(endpoint.port(), "GET /metrics HTTP/1.0\r\nHost: x\r\n"
                                          "Accept-Encoding: gzip\r\n\r\n");
  EXPECT_NE(zipped.find("Content-Encoding: gzip"), std::string::npos) << zipped.substr(0, 300);
  auto body = body_of(zipped);
  EXPECT_LT(body.size() * 5, text.size()) << "gzip makes such text far smaller";
  auto unzipped = protocol::gzip_decompress(body, 64 << 20);
  ASSERT_TRUE(unzipped.ok()) << unzipped.error;
  EXPECT_EQ(unzipped.data, text);

  // A query string is ignored; another path or method is refused.
  EXPECT_EQ(exchange(endpoint.port(), "GET /metrics?x=1 HTTP/1.0\r\n\r\n").rfind("HTTP/1.0 200", 0),
            0u);
  EXPECT_EQ(exchange(endpoint.port(), "GET / HTTP/1.0\r\n\r\n").rfind("HTTP/1.0 404", 0), 0u);
  EXPECT_EQ(exchange(endpoint.port(), "POST /metrics HTTP/1.0\r\nContent-Length: 0\r\n\r\n")
              .rfind("HTTP/1.0 405", 0),
            0u);
  EXPECT_EQ(exchange(endpoint.port(), "garbage\r\n\r\n"), "");
  EXPECT_EQ(renders, 3) << "only a GET of /metrics renders";
}

TEST(MetricsEndpoint, AnsweredRequestsOnOneKeptAliveConnection) {
  metrics_endpoint endpoint{"127.0.0.1:0", [] { return std::string{"up 1\n"}; }};
  auto reply = exchange(endpoint.port(), "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"
                                         "GET /metrics HTTP/1.1\r\nHost: x\r\n"
                                         "Connection: close\r\n\r\n");
  EXPECT_EQ(reply.find("HTTP/1.1 200"), 0u);
  EXPECT_NE(reply.find("HTTP/1.1 200", 10), std::string::npos) << reply;
}

TEST(MetricsEndpoint, StopsAtOnceWithAConnectionOpenAndNamesAnAddressItCannotBind) {
  auto endpoint = std::make_unique<metrics_endpoint>("127.0.0.1:0", [] { return std::string{}; });
  // A scraper that connected and sent nothing does not hold the stop.
  int idle = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(endpoint->port());
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::connect(idle, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  auto began = std::chrono::steady_clock::now();
  const auto port = endpoint->port();
  endpoint.reset();
  EXPECT_LT(std::chrono::steady_clock::now() - began, std::chrono::milliseconds{500});
  ::close(idle);

  // The port is free again, and a taken or malformed address is named.
  metrics_endpoint again{"127.0.0.1:" + std::to_string(port), [] { return std::string{}; }};
  try {
    metrics_endpoint clash{"127.0.0.1:" + std::to_string(port), [] { return std::string{}; }};
    ADD_FAILURE() << "a second endpoint bound the same port";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string{e.what()}.find(std::to_string(port)), std::string::npos) << e.what();
  }
  EXPECT_THROW(metrics_endpoint("no-port", [] { return std::string{}; }), std::runtime_error);
  EXPECT_THROW(metrics_endpoint("not-an-ip:9464", [] { return std::string{}; }),
               std::runtime_error);
}

// Idle connections beyond the cap are closed at once, so a flood cannot take
// the agent's descriptors; once they go, a scrape is served again.
TEST(MetricsEndpoint, ConnectionsBeyondTheCapAreClosedAtOnce) {
  metrics_endpoint endpoint{"127.0.0.1:0", [] { return std::string{"up 1\n"}; }};
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(endpoint.port());
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::vector<int> idle;
  for (int i = 0; i < 40; ++i) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
    idle.push_back(fd);
  }
  // The endpoint closes what it will not serve: those reads end (0 bytes)
  // instead of waiting for the 10 s request timeout.
  int closed = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (closed < 8 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    closed = 0;
    for (int fd : idle) {
      char byte;
      if (::recv(fd, &byte, 1, MSG_DONTWAIT | MSG_PEEK) == 0)
        ++closed;
    }
  }
  EXPECT_EQ(closed, 8) << "40 connections, 32 served";
  for (int fd : idle)
    ::close(fd);
  bool served = false;
  for (int attempt = 0; attempt < 50 && !served; ++attempt) {
    served = exchange(endpoint.port(), "GET /metrics HTTP/1.0\r\n\r\n").find("up 1") !=
             std::string::npos;
    if (!served)
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_TRUE(served);
}

TEST(MetricsEndpoint, AcceptsGzipUnlessItsWeightIsZero) {
  EXPECT_TRUE(accepts_gzip("gzip"));
  EXPECT_TRUE(accepts_gzip("identity, GZip;q=0.5"));
  EXPECT_TRUE(accepts_gzip("*"));
  EXPECT_TRUE(accepts_gzip("br, gzip , deflate"));
  EXPECT_FALSE(accepts_gzip(""));
  EXPECT_FALSE(accepts_gzip("identity"));
  EXPECT_FALSE(accepts_gzip("gzip;q=0"));
  EXPECT_FALSE(accepts_gzip("gzip; q=0.000"));
  EXPECT_FALSE(accepts_gzip("x-gzip2"));
}

} // namespace
} // namespace tidesync::actors
