#pragma once

#include "config/server_config.hpp"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

namespace tidesync::server {

class request_dispatcher;

/// The network side of the API server (Boost.Beast): a listener that accepts,
/// one session per connection on its own strand, and the I/O threads. Every
/// complete request goes to the dispatcher; nothing here touches the database.
class http_server {
public:
  struct settings {
    config::host_port listen;
    int io_threads = 1;
    std::uint64_t max_body_bytes = 0;
    /// Connections served at once; more are answered 503 and closed.
    std::size_t max_connections = 1;
    std::optional<config::tls_files> tls; // set: every connection is TLS
  };

  http_server(request_dispatcher& dispatcher, settings options);
  ~http_server();
  http_server(const http_server&) = delete;
  http_server& operator=(const http_server&) = delete;

  /// Binds, starts accepting and starts the I/O threads; returns the bound
  /// port (useful with port 0). Throws std::runtime_error when it can't bind
  /// or load the TLS files.
  std::uint16_t start();

  /// Stops accepting and closes idle connections; a connection waiting for
  /// its response closes once it is written. Returns at once.
  void begin_shutdown();

  /// Waits until every connection is closed and joins the I/O threads.
  /// Call after begin_shutdown() and after in-flight requests were answered.
  void join();

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace tidesync::server
