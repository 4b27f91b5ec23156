#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace tidesync::testing {

/// A small HTTP CONNECT proxy on loopback, as a store's outbound proxy would
/// be: it reads `CONNECT host:port`, connects there itself and relays bytes
/// both ways, seeing only what the tunnel carries (TLS, when the client
/// speaks it). With `required_authorization` set, a CONNECT without that
/// `Proxy-Authorization` value is answered 407. Plain requests get 405.
class connect_proxy {
public:
  explicit connect_proxy(std::optional<std::string> required_authorization = std::nullopt);
  ~connect_proxy();
  connect_proxy(const connect_proxy&) = delete;
  connect_proxy& operator=(const connect_proxy&) = delete;

  std::uint16_t port() const noexcept;
  /// `host:port` of every CONNECT it was asked for, in order.
  std::vector<std::string> targets() const;
  /// Every byte relayed from clients to servers (after the CONNECT heads).
  std::string relayed() const;

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace tidesync::testing
