#pragma once

#include <memory>
#include <string>
#include <vector>

namespace tidesync::storage {

/// One non-blocking PostgreSQL connection that LISTENs on a channel, driven
/// by the caller's poll() loop, so one thread can serve many databases and
/// never blocks on a connect or a read:
///
///   pg_change_listener listener{url, version_notify_channel};
///   listener.start();
///   // poll listener.socket() for listener.wants_write() ? POLLOUT : POLLIN
///   auto step = listener.on_ready();   // when poll says so
///   for (auto& table : step.payloads) …
///
/// A payload is whatever the notifier sent: text to match, never to trust.
class pg_change_listener {
public:
  pg_change_listener(std::string url, std::string channel);
  ~pg_change_listener();
  pg_change_listener(const pg_change_listener&) = delete;
  pg_change_listener& operator=(const pg_change_listener&) = delete;

  /// Starts a connection attempt, closing any previous connection. False
  /// (with error()) when it failed at once, e.g. a malformed URL.
  bool start();
  /// Closes the connection; socket() is -1 until the next start().
  void close();

  /// The socket to poll, or -1 when there is no connection.
  int socket() const;
  /// Poll for writing (the connect handshake asks so) rather than reading.
  bool wants_write() const;
  /// LISTEN has been confirmed: from now on every committed notification arrives.
  bool listening() const;
  /// The last failure, naming what failed.
  const std::string& error() const { return error_; }

  struct step {
    /// LISTEN was confirmed in this step: the changes before it were not announced.
    bool started_listening = false;
    /// The connection failed or was lost (see error()); start() again later.
    bool failed = false;
    /// The payloads of the notifications received, in order.
    std::vector<std::string> payloads;
  };

  /// Advances the connection after poll() reported its socket ready (or hung up).
  step on_ready();

private:
  enum class phase { closed, connecting, confirming, listening };
  step fail(std::string what);
  void advance_connect(step& out);
  void read_results(step& out);
  void read_notifications(step& out);

  struct connection;
  std::string url_;
  std::string channel_;
  std::unique_ptr<connection> conn_;
  phase phase_ = phase::closed;
  bool wants_write_ = false;
  std::string error_;
};

} // namespace tidesync::storage
