#pragma once

#include "server/api_handlers.hpp"
#include "server/http_message.hpp"

#include <cstdint>
#include <functional>
#include <memory>

namespace prometheus {
class Registry;
} // namespace prometheus

namespace tidesync::server {

class db_pool;

/// Turns a complete request into exactly one response, without any network
/// type, so it runs the same behind a socket and in a test. Cheap answers
/// (health, metrics, routing errors, body decoding errors, a missing token)
/// come back on the caller's thread; everything that needs the database runs
/// on the db_pool, or gets 503 at once when the pool's queue is full.
class request_dispatcher {
public:
  using completion = std::function<void(http_response)>;

  request_dispatcher(db_pool& pool, metrics::server_metrics& metrics,
                     const prometheus::Registry& registry, std::uint64_t max_body_bytes);

  /// Answers `request` by calling `done` once, on this thread or on a database
  /// worker. Logs the request and records its metrics.
  void dispatch(http_request request, completion done);

private:
  struct pending;

  void run_on_pool(std::shared_ptr<pending> state);
  http_response metrics_page();
  void decode_body(http_request& request) const;
  void finish(pending& state, http_response response) const;

  db_pool& pool_;
  metrics::server_metrics& metrics_;
  const prometheus::Registry& registry_;
  std::uint64_t max_body_bytes_;
  api_handlers handlers_;
};

} // namespace tidesync::server
