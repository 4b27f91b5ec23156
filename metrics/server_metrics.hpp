#pragma once

#include <cstddef>
#include <cstdint>
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

private:
  prometheus::Family<prometheus::Counter>& requests_;
  prometheus::Family<prometheus::Histogram>& durations_;
  prometheus::Counter& rows_uploaded_;
  prometheus::Counter& rows_deleted_;
  prometheus::Counter& rejections_;
  prometheus::Gauge& pool_busy_;
  prometheus::Gauge& pool_waiting_;
};

} // namespace tidesync::metrics
