// The agent's /metrics endpoint: it answers, and stopping it does not keep
// an agent (a --once run, a restart) waiting.
#include "metrics/agent_metrics.hpp"

#include <gtest/gtest.h>
#include <prometheus/counter.h>
#include <prometheus/registry.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>

namespace tidesync::metrics {
namespace {

// The response to a GET /metrics on loopback, or "" when none came.
std::string get_metrics(std::uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string reply;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0) {
    const std::string request = "GET /metrics HTTP/1.0\r\nHost: localhost\r\n\r\n";
    if (::write(fd, request.data(), request.size()) == static_cast<ssize_t>(request.size())) {
      char buffer[4096];
      for (ssize_t n; (n = ::read(fd, buffer, sizeof buffer)) > 0;)
        reply.append(buffer, static_cast<std::size_t>(n));
    }
  }
  ::close(fd);
  return reply;
}

TEST(MetricsExposer, ServesTheRegistryAndStopsWithoutWaitingForItsListenerToWake) {
  auto registry = std::make_shared<prometheus::Registry>();
  prometheus::BuildCounter().Name("tidesync_test_total").Help("a test counter").Register(*registry).Add({});
  for (const auto* listen : {"127.0.0.1:0", "0.0.0.0:0"}) {
    auto exposer = std::make_unique<metrics_exposer>(registry, listen);
    ASSERT_GT(exposer->port(), 0) << listen;
    EXPECT_NE(get_metrics(exposer->port()).find("tidesync_test_total"), std::string::npos)
      << listen;
    // The listener waits up to 2 s for a connection between looks at
    // whether to stop; stopping must not wait for the rest of that wait.
    std::this_thread::sleep_for(std::chrono::milliseconds{100});
    auto began = std::chrono::steady_clock::now();
    exposer.reset();
    EXPECT_LT(std::chrono::steady_clock::now() - began, std::chrono::milliseconds{1000}) << listen;
  }
}

} // namespace
} // namespace tidesync::metrics
