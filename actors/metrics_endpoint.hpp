#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace tidesync::actors {

/// The agent's `/metrics`: a small HTTP server on its own thread that
/// answers `GET /metrics` with what `render` returns (the Prometheus text
/// format), gzipped when the scraper accepts gzip, as Prometheus does. At
/// 5,000 tables the text is about 10 MiB and gzip makes it about 0.6 MiB.
/// Anything else is 404 (405 for another method); a request that does not
/// arrive within 10 s is dropped; at most 32 scrapers are served at once
/// (a connection beyond them is closed), and a failed accept (no descriptor
/// left) is retried after 100 ms, not at once.
class metrics_endpoint {
public:
  /// Listens on `listen` ("host:port", "[v6]:port"; port 0 takes a free one).
  /// Throws std::runtime_error naming the address when it can't be bound.
  metrics_endpoint(const std::string& listen, std::function<std::string()> render);
  ~metrics_endpoint();
  metrics_endpoint(const metrics_endpoint&) = delete;
  metrics_endpoint& operator=(const metrics_endpoint&) = delete;

  /// The bound port.
  std::uint16_t port() const;

private:
  class impl;
  std::unique_ptr<impl> impl_;
};

/// True when an Accept-Encoding header value accepts gzip (not with q=0).
bool accepts_gzip(const std::string& accept_encoding);

} // namespace tidesync::actors
