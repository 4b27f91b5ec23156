#pragma once

#include <boost/asio/ip/tcp.hpp>

#include <cstdint>
#include <memory>
#include <mutex>
#include <unordered_map>

namespace boost::asio::ssl {
class context;
} // namespace boost::asio::ssl

namespace tidesync::server {

class request_dispatcher;

/// What the server may ask of any connection, plain or TLS.
class session_base {
public:
  virtual ~session_base() = default;
  /// Closes the connection now if it is idle, or after the response it is
  /// working on. Thread-safe.
  virtual void begin_close() = 0;
};

/// The live connections, so a stopping server can close them.
class connection_set {
public:
  /// Records `session`; false once the server is stopping (close it then).
  bool add(const std::shared_ptr<session_base>& session);
  void remove(session_base* session);
  /// Marks the set as stopping and asks every connection to close.
  void close_all();

private:
  std::mutex mutex_;
  bool stopping_ = false;
  std::unordered_map<session_base*, std::weak_ptr<session_base>> live_;
};

/// What every session shares.
struct session_settings {
  request_dispatcher* dispatcher = nullptr;
  std::shared_ptr<connection_set> connections;
  boost::asio::ssl::context* tls = nullptr; // non-null: TLS on every connection
  std::uint64_t max_body_bytes = 0;
};

/// Serves one accepted connection (on the socket's strand) until it closes.
void start_session(boost::asio::ip::tcp::socket socket, const session_settings& settings);

} // namespace tidesync::server
