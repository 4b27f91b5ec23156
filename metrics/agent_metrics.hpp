#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace prometheus {
class Registry;
class Counter;
class Gauge;
class Exposer;
template <typename T> class Family;
} // namespace prometheus

namespace tidesync::metrics {

/// One table's gauge, looked up once and set many times: an idle cycle
/// reports thousands of tables in sync without reading them.
class gauge_handle {
public:
  gauge_handle() = default;
  void set(double value) const;
  explicit operator bool() const { return gauge_ != nullptr; }

private:
  friend class agent_metrics;
  explicit gauge_handle(prometheus::Gauge* gauge) : gauge_(gauge) {}
  prometheus::Gauge* gauge_ = nullptr;
};

/// The site agent's metrics, labelled by database and table. Table actors
/// only bump them; every method is thread-safe.
class agent_metrics {
public:
  explicit agent_metrics(prometheus::Registry& registry);

  void add_rows_uploaded(const std::string& database, const std::string& table, std::int64_t rows);
  void add_rows_deleted(const std::string& database, const std::string& table, std::int64_t rows);

  /// One finished upload batch; `outcome` is "success", "rejected" or "transient".
  void add_batch(const std::string& database, const std::string& table, std::string_view outcome);

  /// A request that failed transiently (timeout, refused, 5xx) and will be retried.
  void add_retry(const std::string& database, const std::string& table);

  /// Rows the server rejected that the agent currently holds as skipped.
  void set_skipped_rows(const std::string& database, const std::string& table, std::int64_t rows);

  /// The size the table's next upload batch will have.
  void set_batch_size(const std::string& database, const std::string& table, std::size_t rows);

  /// Unix time of the table's last cycle that ended without an error.
  void set_last_success(const std::string& database, const std::string& table,
                        double unix_seconds);
  /// The same gauge, to set through the handle.
  gauge_handle last_success(const std::string& database, const std::string& table);

  /// A cycle started; `reason` is "interval" (one database's own cycle,
  /// every table of it) or "change" (the tables a committed change woke).
  void add_cycle(std::string_view reason);

  /// A database's change notification became (un)available: its PostgreSQL
  /// listening connection was (re)established or lost.
  void set_listening(const std::string& database, bool listening);

private:
  prometheus::Family<prometheus::Counter>& rows_uploaded_;
  prometheus::Family<prometheus::Counter>& rows_deleted_;
  prometheus::Family<prometheus::Counter>& batches_;
  prometheus::Family<prometheus::Counter>& retries_;
  prometheus::Family<prometheus::Gauge>& skipped_rows_;
  prometheus::Family<prometheus::Gauge>& batch_size_;
  prometheus::Family<prometheus::Gauge>& last_success_;
  prometheus::Family<prometheus::Counter>& cycles_;
  prometheus::Family<prometheus::Gauge>& listening_;
  prometheus::Counter& interval_cycles_;
  prometheus::Counter& change_cycles_;
};

/// Serves a registry at `/metrics` on `listen` ("host:port") for Prometheus
/// to scrape, until destroyed.
class metrics_exposer {
public:
  /// Throws std::exception when the address can't be bound.
  metrics_exposer(std::shared_ptr<prometheus::Registry> registry, const std::string& listen);
  ~metrics_exposer();
  metrics_exposer(const metrics_exposer&) = delete;
  metrics_exposer& operator=(const metrics_exposer&) = delete;

  /// The bound port (useful when `listen` asked for port 0).
  std::uint16_t port() const;

private:
  std::unique_ptr<prometheus::Exposer> exposer_;
  std::string host_;  // where a connection reaches it (see the destructor)
};

} // namespace tidesync::metrics
