#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>

namespace tidesync::testing {

/// A response head (and body, when Content-Length says) read off a raw socket.
struct raw_reply {
  int status = 0;
  /// Header fields by lower-case name.
  std::map<std::string, std::string> headers;
  std::string body;
};

/// A plain TCP connection to 127.0.0.1 that sends exactly the bytes a test
/// gives, so a test can send a request's head and hold its body back.
class raw_http_connection {
public:
  explicit raw_http_connection(std::uint16_t port);
  ~raw_http_connection();
  raw_http_connection(const raw_http_connection&) = delete;
  raw_http_connection& operator=(const raw_http_connection&) = delete;

  /// Sends all of `bytes`; false when the connection refused them.
  bool send(const std::string& bytes);

  /// The next response, or nothing when none came whole within `timeout`.
  std::optional<raw_reply> read_reply(std::chrono::milliseconds timeout);

  /// True when the server closes the connection within `timeout` (bytes it
  /// still sends are skipped).
  bool closed_within(std::chrono::milliseconds timeout);

private:
  /// Reads what is there within `deadline`; false on timeout, EOF or error.
  bool read_more(std::chrono::steady_clock::time_point deadline);

  int fd_ = -1;
  bool eof_ = false;
  std::string pending_;
};

/// The head of a request: `method target`, the fields, and nothing after.
std::string request_head(const std::string& method, const std::string& target,
                         const std::map<std::string, std::string>& fields);

} // namespace tidesync::testing
