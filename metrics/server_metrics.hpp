#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>

namespace prometheus {
class Registry;
class Counter;
class Gauge;
class Histogram;
template <typename T> class Family;
} // namespace prometheus

namespace tidesync::metrics {

/// The API server's metrics, registered once in the process registry. The
/// server's handlers only bump them; every method is thread-safe.
class server_metrics {
public:
  explicit server_metrics(prometheus::Registry& registry);

  /// One answered request: `route` is the route's name ("upload",
  /// "table_version", "unknown", …), never the raw path.
  void record_request(const std::string& route, int status, double seconds);

  void add_rows_uploaded(std::int64_t rows);
  void add_rows_deleted(std::int64_t rows);

  /// A request refused with 503 because every connection was busy and the
  /// wait queue was full.
  void add_rejection();

  /// Database workers running a request, and requests waiting for one.
  void set_pool(std::size_t busy, std::size_t waiting);

  /// A request answered `status` at the connection, before it was routed.
  void add_refusal(int status);

  /// A request refused for its token (401) or its token's scope (403).
  void add_auth_failure();

  /// One answered request's body as received (still compressed) and its response's.
  void add_body_bytes(std::size_t request, std::size_t response);

  /// A request that PostgreSQL failed (lost connection, server error).
  void add_database_error();

  /// The fleet gauges, as the store says: sites heard from lately, sites
  /// silent, their tables not in sync, sites by agent version (at most
  /// `max_versions` versions by name, the rest as "other").
  void set_fleet(std::int64_t sites_seen, std::int64_t sites_silent,
                 std::int64_t tables_not_in_sync,
                 const std::map<std::string, std::int64_t>& agents_by_version);
  static constexpr std::size_t max_versions = 20;

private:
  prometheus::Family<prometheus::Counter>& requests_;
  prometheus::Family<prometheus::Histogram>& durations_;
  prometheus::Counter& rows_uploaded_;
  prometheus::Counter& rows_deleted_;
  prometheus::Counter& rejections_;
  prometheus::Gauge& pool_busy_;
  prometheus::Gauge& pool_waiting_;
  prometheus::Family<prometheus::Counter>& refusals_;
  prometheus::Counter& auth_failures_;
  prometheus::Counter& request_bytes_;
  prometheus::Counter& response_bytes_;
  prometheus::Counter& database_errors_;
  prometheus::Gauge& sites_seen_;
  prometheus::Gauge& sites_silent_;
  prometheus::Gauge& tables_not_in_sync_;
  prometheus::Family<prometheus::Gauge>& agents_;
  std::mutex agents_mutex_;  // the versions shown
  std::map<std::string, prometheus::Gauge*> versions_;
};

} // namespace tidesync::metrics
