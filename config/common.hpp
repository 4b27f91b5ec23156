#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace tidesync::config {

/// host:port to listen on or connect to.
struct host_port {
  std::string host;
  std::uint16_t port = 0;

  std::string to_string() const { return host + ":" + std::to_string(port); }
};

/// Parses "host:port" (or "[v6]:port"); false on malformed input.
bool parse_host_port(std::string_view text, host_port& out);

/// Parses "250ms", "30s", "5m", "1h" (a bare number means seconds).
bool parse_duration(std::string_view text, std::chrono::milliseconds& out);

/// Parses "1048576", "512KiB", "64MiB", "1GiB" (also KB/MB/GB as powers of 1024).
bool parse_byte_size(std::string_view text, std::uint64_t& out);

/// Replaces each `${NAME}` with the environment variable NAME. Returns false
/// and sets `missing` to NAME when a variable is not set.
bool expand_environment(std::string& text, std::string& missing);

} // namespace tidesync::config
