#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace tidesync::config {

/// host:port to listen on or connect to.
struct host_port {
  std::string host;
  std::uint16_t port = 0;

  /// "host:port", with an IPv6 host in brackets so the port stays unambiguous.
  std::string to_string() const {
    const bool v6 = host.find(':') != std::string::npos;
    return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
  }
};

/// Longest SQL identifier PostgreSQL keeps without truncating it.
inline constexpr std::size_t max_identifier_length = 63;

/// The accepted `log_level` values, most verbose first.
inline constexpr std::array<std::string_view, 6> log_levels{"trace", "debug", "info",
                                                            "warn",  "error", "off"};

/// The accepted `log_format` values: lines of text, or one JSON object per line.
inline constexpr std::array<std::string_view, 2> log_formats{"text", "json"};

/// Parses "host:port" (or "[v6]:port", stored without the brackets); false on
/// malformed input, an empty host or a port above 65535. Port 0 is accepted
/// (listen on any free port).
bool parse_host_port(std::string_view text, host_port& out);

/// Parses "250ms", "30s", "5m", "1h" (a bare number means seconds).
bool parse_duration(std::string_view text, std::chrono::milliseconds& out);

/// Parses "1048576", "512KiB", "64MiB", "1GiB" (also KB/MB/GB as powers of 1024).
bool parse_byte_size(std::string_view text, std::uint64_t& out);

/// True for a plain SQL identifier: letters, digits and `_`, 1–63 characters,
/// not starting with a digit, so it can be used unquoted and never truncates.
bool is_identifier(std::string_view text);

/// Replaces each `${NAME}` with the environment variable NAME. Returns false
/// and sets `missing` to NAME when a variable is not set. A `$` not followed by
/// a well-formed `${NAME}` is kept as written; substituted text is not expanded again.
bool expand_environment(std::string& text, std::string& missing);

} // namespace tidesync::config
