#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace tidesync::protocol {

/// An HTTP proxy the client reaches its server through: a CONNECT tunnel,
/// inside which TLS runs end to end with the server (the proxy sees only
/// the host and port it connects to).
struct proxy_endpoint {
  std::string host;  // without brackets for IPv6 literals
  std::string port;
  /// `Basic …` for a URL with user:password, else empty.
  std::string authorization;
  /// `http://host:port`, without the credentials: for logs and errors.
  std::string shown;
};

/// Reads `http://[user[:password]@]host[:port][/]` (port 80 when left out;
/// user and password percent-decoded). Throws std::invalid_argument saying
/// what is wrong; an https:// proxy is refused (the tunnel is what's secure).
proxy_endpoint parse_proxy_url(std::string_view url);

/// True when `no_proxy` (NO_PROXY's comma-separated list) names `host`: `*`,
/// the host itself, or a domain it is in (`example.com` and `.example.com`
/// both cover `api.example.com`). Case is ignored, a `:port` is ignored, and
/// IP addresses match only exactly.
bool bypasses_proxy(std::string_view host, std::string_view no_proxy);

/// Reads an environment variable; std::getenv in the agent, a map in tests.
using env_lookup = std::function<const char*(const char*)>;

/// The proxy a client of `server_url` goes through, if any: `configured`
/// when set (`none` or "" meaning none, whatever the environment says),
/// else HTTPS_PROXY (https servers) or HTTP_PROXY (http servers), each also
/// in lower case, unless NO_PROXY names the server's host.
std::optional<std::string> proxy_for(std::string_view server_url,
                                     const std::optional<std::string>& configured,
                                     const env_lookup& env);

} // namespace tidesync::protocol
