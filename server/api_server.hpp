#pragma once

#include "config/server_config.hpp"

#include <cstddef>
#include <cstdint>
#include <memory>

namespace tidesync::server {

/// The tidesync API server: HTTP(S) listener, router, handlers and the pool
/// of database workers, wired from one server_config.
///
///   api_server server{config};
///   auto port = server.start();   // migrations applied, listening
///   …
///   server.stop();                // graceful
class api_server {
public:
  /// Builds the server; nothing is opened until start(). A `max_waiting` of
  /// 0 means no request may wait for a database worker.
  explicit api_server(config::server_config config);
  /// Calls stop().
  ~api_server();
  api_server(const api_server&) = delete;
  api_server& operator=(const api_server&) = delete;

  /// Applies the store's migrations, starts the database workers, binds the
  /// listen address and starts serving. Returns the bound port (so a config
  /// with port 0 works). Throws protocol::api_error when the database is
  /// unreachable, std::runtime_error when it can't listen or load TLS files.
  std::uint16_t start();

  /// Stops accepting, lets requests in flight finish and answer, closes idle
  /// keep-alive connections and joins every thread. Idempotent. Call it from
  /// any thread but the server's own (e.g. an asio::signal_set handler).
  void stop();

  /// Database workers running a request right now.
  std::size_t busy_workers() const;
  /// Requests waiting for a database worker.
  std::size_t waiting_requests() const;

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace tidesync::server
