#pragma once

#include <boost/asio/ip/tcp.hpp>

#include <cstddef>
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

/// What a new connection may do.
enum class connection_admission {
  serve,    // counted against max_connections
  refuse,   // over the limit: answer 503 and close
  drop,     // stopping, or too many refusals in progress: close without a word
};

/// The live connections, so a stopping server can close them, and the cap
/// on how many are served at once.
class connection_set {
public:
  /// Connections that may still be refused with an answer when over the limit.
  static constexpr std::size_t max_refusing = 64;

  explicit connection_set(std::size_t max_connections);

  /// Records `session` and says what it may do.
  connection_admission add(const std::shared_ptr<session_base>& session);
  void remove(session_base* session);
  /// Marks the set as stopping and asks every connection to close.
  void close_all();

private:
  struct entry {
    std::weak_ptr<session_base> session;
    bool served;
  };

  const std::size_t max_connections_;
  std::mutex mutex_;
  bool stopping_ = false;
  std::size_t served_ = 0;
  std::unordered_map<session_base*, entry> live_;
};

/// What every session shares.
struct session_settings {
  request_dispatcher* dispatcher = nullptr;
  std::shared_ptr<connection_set> connections;
  boost::asio::ssl::context* tls = nullptr; // non-null: TLS on every connection
  std::uint64_t max_body_bytes = 0;
};

/// Largest request line plus header fields; more is answered 431.
inline constexpr std::uint32_t max_header_bytes = 16 * 1024;

/// Serves one accepted connection (on the socket's strand) until it closes.
void start_session(boost::asio::ip::tcp::socket socket, const session_settings& settings);

} // namespace tidesync::server
