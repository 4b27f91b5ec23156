#pragma once

#include "server/api_handlers.hpp"
#include "server/http_message.hpp"
#include "server/token_gate.hpp"

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>

namespace prometheus {
class Registry;
} // namespace prometheus

namespace tidesync::server {

class db_pool;

/// Turns a request into exactly one response, without any network type, so
/// it runs the same behind a socket and in a test. A request is admitted on
/// its head alone (route and bearer token) before its body is read, then
/// dispatched whole. Cheap answers (health, metrics, routing errors, an
/// unsupported encoding, a missing or cached-bad token) come back on the caller's
/// thread; everything that needs the database runs on the db_pool, queued
/// under the client of its path, or gets 503 at once when the pool's queue
/// is full or the client holds its share of the pool.
class request_dispatcher {
public:
  using completion = std::function<void(http_response)>;
  /// Called with nothing when the body may be read, or with the refusal.
  using admission = std::function<void(std::optional<http_response>)>;

  /// `max_token_lookups`: database workers that checks of not-yet-known
  /// tokens may hold at once (token_gate). `fleet`, when given, learns of
  /// every answered listing and upload.
  request_dispatcher(db_pool& pool, metrics::server_metrics& metrics,
                     const prometheus::Registry& registry, std::uint64_t max_body_bytes,
                     std::size_t max_token_lookups, fleet_reports* fleet = nullptr);

  /// Decides from `head` (a request whose body was not read) whether its body
  /// is worth reading: the route exists and the token is live and covers the
  /// path. Calls `done` once, on this thread or on a database worker; a
  /// refusal (404/405/400, 401, 403, 503) is logged and counted here.
  void admit(http_request head, admission done);

  /// Answers `request` by calling `done` once, on this thread or on a database
  /// worker. Logs the request and records its metrics.
  void dispatch(http_request request, completion done);

  /// A request the connection answered `status` before routing (it could
  /// not be read whole): counted, nothing else.
  void record_refusal(int status);

private:
  struct pending;

  void admit_token(const std::shared_ptr<pending>& state, const std::string& secret);
  void settle(pending& state, const token_check& check);
  void run_on_pool(std::shared_ptr<pending> state);
  http_response metrics_page();
  /// Refuses (415) a Content-Encoding other than zstd, gzip and identity.
  void check_encoding(const http_request& request) const;
  /// Decompresses a zstd or gzip body in place; 413 past max_body_bytes, 400
  /// when corrupt.
  void inflate_body(http_request& request) const;
  void finish(pending& state, http_response response) const;

  db_pool& pool_;
  metrics::server_metrics& metrics_;
  const prometheus::Registry& registry_;
  std::uint64_t max_body_bytes_;
  api_handlers handlers_;
  token_gate tokens_;
};

} // namespace tidesync::server
