#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace tidesync::testing {

/// What the proxy does to one upload request (a POST to `…/tables/{table}`).
enum class upload_fault {
  /// Resets both sides after part of the request body: the server never gets
  /// the whole batch, the client sees its request fail while sending.
  cut_body,
  /// Forwards the whole request, then resets both sides once the response has
  /// started: the server committed the batch, the client never learns it.
  lose_response,
};

/// A TCP proxy on loopback in front of a server on `127.0.0.1:upstream_port`:
/// forwards bytes both ways, one thread per connection, and applies queued
/// faults to upload requests, one fault per request, in the order queued.
/// Other requests, and uploads once the queue is empty, pass untouched.
class cutting_proxy {
public:
  /// Body bytes forwarded before cut_body resets (half the body when smaller).
  static constexpr std::size_t default_cut_after = 64 * 1024;

  /// Listens on an ephemeral loopback port. Throws std::system_error.
  explicit cutting_proxy(std::uint16_t upstream_port, std::size_t cut_after = default_cut_after);
  /// Stops accepting, ends every connection and joins their threads.
  ~cutting_proxy();
  cutting_proxy(const cutting_proxy&) = delete;
  cutting_proxy& operator=(const cutting_proxy&) = delete;

  std::uint16_t port() const noexcept { return port_; }

  /// Queues `count` faults of kind `fault` for the next upload requests.
  void add_faults(upload_fault fault, std::size_t count);

  /// Faults carried out so far (a connection was reset).
  std::size_t faults_applied() const;

  /// Faults queued and not yet taken by an upload request.
  std::size_t faults_pending() const;

  /// The start of every response a lose_response fault withheld (what the
  /// client got, e.g. "HTTP/1.1 200 OK"), to show the server had accepted it.
  std::vector<std::string> lost_responses() const;

  /// Every byte the clients sent through the proxy so far, all connections
  /// appended as they came: what left the site.
  std::string sent() const;

private:
  friend class proxied_connection;

  void accept_loop();
  void serve(int client_fd);
  /// The fault for an upload request that just arrived, if any is queued.
  bool take_fault(upload_fault& fault);
  void count_applied();
  void record_lost_response(std::string_view start);
  void record_sent(std::string_view bytes);

  std::uint16_t upstream_port_;
  std::size_t cut_after_;
  int listen_fd_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  mutable std::mutex mutex_;
  std::deque<upload_fault> faults_;
  std::size_t applied_ = 0;
  std::vector<std::string> lost_responses_;
  std::string sent_;
  std::vector<std::thread> connections_;
  std::thread acceptor_;
};

} // namespace tidesync::testing
