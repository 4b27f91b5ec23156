#pragma once

#include "protocol/gzip.hpp"

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tidesync::protocol {

/// Header name/value pairs, in order.
using http_headers = std::vector<std::pair<std::string, std::string>>;

/// How an http_client connects and what it adds to every request.
struct http_client_options {
  /// Limit for connecting and the TLS handshake together (name lookup uses the
  /// system resolver's own timeouts).
  std::chrono::milliseconds connect_timeout{10'000};
  /// Limit for writing one request and reading its whole response.
  std::chrono::milliseconds request_timeout{60'000};
  /// PEM file of extra trusted CAs for https, on top of the system's.
  std::optional<std::string> ca_file{};
  /// `http://[user:password@]host:port` of an HTTP proxy to reach the server
  /// through (a CONNECT tunnel; TLS runs inside it, verified against the
  /// server's name). See proxy_for() for choosing it from the environment.
  std::optional<std::string> proxy{};
  /// Send bodies of at least gzip_min_bytes with `Content-Encoding: gzip`.
  bool gzip_requests = true;
  std::size_t gzip_min_bytes = request_gzip_min_bytes;
  int gzip_level = request_gzip_level;
  /// Responses with a longer body are reported as a transport error.
  std::size_t max_response_bytes = 256 * 1024 * 1024;
  /// Sent with every request, e.g. {"Authorization", "Bearer …"}.
  http_headers default_headers{};
  std::string user_agent = "tidesync";
};

/// What came back: a response with any status, or a transport failure.
struct http_response {
  /// HTTP status, 0 when transport_error is set.
  int status = 0;
  /// The body, already un-gzipped when the server sent it gzip-encoded.
  std::string body;
  std::string content_type;
  /// `Retry-After` as sent (seconds or an HTTP date); empty when absent.
  std::string retry_after;
  /// `Content-Encoding` as sent by the server; empty when absent.
  std::string content_encoding;
  /// `ETag` as sent (quotes included); empty when absent.
  std::string etag;
  /// `Accept-Encoding` as sent: the request codings a 415 says the server reads.
  std::string accept_encoding;
  /// Set when no response arrived: DNS, connect, TLS, timeout, reset,
  /// malformed or oversized response. Says which step failed and why.
  std::optional<std::string> transport_error;
  /// True when the transport error was a connect or request timeout.
  bool timed_out = false;

  /// True for a response with a 2xx status.
  bool ok() const noexcept { return !transport_error && status >= 200 && status < 300; }

  /// Retry-After in seconds when it is given as a number of seconds.
  std::optional<std::chrono::seconds> retry_after_seconds() const;
};

/// A synchronous HTTP/1.1 client for one server (`http://host:port` or
/// `https://host:port`, optionally followed by a path prefix that is put in
/// front of every target). Keeps one connection alive between requests and,
/// when the server has closed an idle connection, reconnects once on its own.
/// Network failures are reported in the response, never thrown.
/// Not thread-safe: use one client per thread or actor.
class http_client {
public:
  /// Throws std::invalid_argument for a base URL or proxy URL it cannot use.
  explicit http_client(std::string_view base_url, http_client_options options = {});
  ~http_client();
  http_client(http_client&&) noexcept;
  http_client& operator=(http_client&&) noexcept;

  /// Sends `method` (GET, POST, PUT, DELETE, …) to base path + `target`
  /// (which starts with '/'), with `body` as JSON unless `headers` give a
  /// Content-Type. `headers` override the default headers of the same name.
  /// Throws std::invalid_argument for an unknown method or a bad target.
  http_response request(std::string_view method, std::string_view target,
                        std::string_view body = {}, const http_headers& headers = {});

  http_response get(std::string_view target, const http_headers& headers = {});
  http_response post(std::string_view target, std::string_view body,
                     const http_headers& headers = {});
  http_response put(std::string_view target, std::string_view body,
                    const http_headers& headers = {});
  http_response del(std::string_view target, std::string_view body = {},
                    const http_headers& headers = {});

  /// Closes the kept-alive connection, if any; the next request opens a new one.
  void close();

  /// Number of TCP connections opened so far (to see keep-alive at work).
  std::size_t connections_opened() const noexcept;

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace tidesync::protocol
