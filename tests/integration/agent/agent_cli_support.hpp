#pragma once

#include "tests/support/time_scale.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <thread>

namespace tidesync::testing {

/// How long a CLI test waits for a child process or a condition.
inline const auto cli_deadline = scaled(std::chrono::seconds(60));

/// Writes `<dir>/agent.yaml`: the server on loopback `port` as client "acme",
/// state in `<dir>/state`, and the `databases:` list given as YAML lines.
inline std::filesystem::path write_agent_yaml(const std::filesystem::path& dir,
                                              std::uint16_t port, const std::string& token,
                                              const std::string& databases) {
  auto path = dir / "agent.yaml";
  std::ofstream{path} << "server:\n"
                      << "  url: http://127.0.0.1:" << port << "\n"
                      << "  client_id: acme\n"
                      << "  token: \"" << token << "\"\n"
                      << "state_dir: " << (dir / "state").string() << "\n"
                      << "interval: 200ms\n"
                      << "request_timeout: " << scaled(std::chrono::seconds(5)).count() << "s\n"
                      << "batch: {min: 1, initial: 20, max: 50}\n"
                      << "databases:\n"
                      << databases;
  return path;
}

/// One `databases:` entry in agent.yaml.
inline std::string database_yaml(const std::string& name, const std::string& source,
                                 const std::string& tables) {
  return "  - name: " + name + "\n    source: " + source + "\n    tables: " + tables + "\n";
}

/// A loopback port nothing listens on now (bound, then released), for a
/// process under test to listen on.
inline std::uint16_t unused_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
  socklen_t size = sizeof address;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &size);
  ::close(fd);
  return ntohs(address.sin_port);
}

/// Polls `condition` until it holds or the deadline passes; true when it held.
inline bool eventually_true(const std::function<bool()>& condition) {
  auto deadline = std::chrono::steady_clock::now() + cli_deadline;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition())
      return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return condition();
}

} // namespace tidesync::testing
