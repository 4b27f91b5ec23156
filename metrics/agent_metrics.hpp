#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace prometheus {
class Registry;
class Counter;
class Gauge;
class Histogram;
class Exposer;
class Collectable;
template <typename T> class Family;
} // namespace prometheus

namespace tidesync::metrics {

/// Where a table stands, as its state gauges say (one series per state, the
/// current one 1, the others 0).
enum class table_phase {
  pending,      // not compared yet since the agent started
  equal,        // local and cloud summaries match
  ahead,        // the site has rows the cloud lacks: uploading
  behind,       // the cloud has versions the site lost: deleting
  scanning,     // comparing manifests or content digests, repairing
  quarantined,  // caught up except for rows the server rejected
  error,        // the last cycle failed, or the table actor waits to restart
};
inline constexpr std::size_t table_phase_count = 7;

/// Lower-case name, the `state` label's value.
std::string_view to_string(table_phase phase);

/// What went wrong, the `kind` label of the errors counter.
enum class error_kind {
  network,   // the server could not be reached, or the connection broke
  server,    // the server answered 5xx (or 503, 429: overload)
  rejected,  // the server refused rows as bad data (4xx on an upload)
  source,    // the local database failed a read
};
inline constexpr std::size_t error_kind_count = 4;

std::string_view to_string(error_kind kind);

/// Agent-wide tallies that every table's metrics feed.
struct agent_tallies;

/// One configured table's series, looked up once when the agent starts and
/// bumped without label lookups. Thread-safe.
class table_metrics {
public:
  void add_rows_uploaded(std::int64_t rows) const;
  void add_rows_deleted(std::int64_t rows) const;
  /// One finished upload batch; `outcome` is "success", "rejected" or "transient".
  void add_batch(std::string_view outcome) const;
  /// A request that failed transiently and will be retried after a backoff.
  void add_retry() const;
  /// Rows the server rejected that the agent holds, to retry later.
  void set_quarantined_rows(std::int64_t rows) const;
  /// The size the table's next upload batch will have.
  void set_batch_size(std::size_t rows) const;
  /// Unix time of the table's last cycle that ended without an error.
  void set_last_success(double unix_seconds) const;
  /// The table's state now; `equal` also restarts the lag clock.
  void set_phase(table_phase phase);
  /// Versions the cloud copy lacks (local max_version - remote, at least 0);
  /// also brings the seconds of lag up to date.
  void set_lag_versions(std::int64_t versions);
  /// Brings the seconds of lag up to date (a cycle ended still behind).
  void refresh_lag();
  /// One upload body: its JSON size and the bytes sent (after compression).
  void add_body_bytes(std::size_t json_bytes, std::size_t sent_bytes) const;
  void add_error(error_kind kind) const;
  /// The table's actor failed and is started again.
  void add_restart() const;
  /// Rows and ranges (manifest pages, digest ranges) compared with the cloud.
  void add_compared(std::int64_t rows, std::int64_t ranges) const;
  /// How far the differencing or verify pass under way is, 0 to 1.
  void set_compare_progress(double fraction) const;
  /// How long one upload request took, into its database's histogram.
  void observe_upload_seconds(double seconds) const;

private:
  friend class agent_metrics;
  table_metrics() = default;
  void update_lag_seconds(std::chrono::steady_clock::time_point now);

  prometheus::Counter* rows_uploaded_ = nullptr;
  prometheus::Counter* rows_deleted_ = nullptr;
  std::array<prometheus::Counter*, 3> batches_{};  // success, rejected, transient
  prometheus::Counter* retries_ = nullptr;
  prometheus::Gauge* quarantined_ = nullptr;
  prometheus::Gauge* batch_size_ = nullptr;
  prometheus::Gauge* last_success_ = nullptr;
  std::array<prometheus::Gauge*, table_phase_count> phases_{};
  prometheus::Gauge* lag_versions_ = nullptr;
  prometheus::Gauge* lag_seconds_ = nullptr;
  prometheus::Counter* json_bytes_ = nullptr;
  prometheus::Counter* sent_bytes_ = nullptr;
  std::array<prometheus::Counter*, error_kind_count> errors_{};
  prometheus::Counter* restarts_ = nullptr;
  prometheus::Counter* compared_rows_ = nullptr;
  prometheus::Counter* compared_ranges_ = nullptr;
  prometheus::Gauge* compare_progress_ = nullptr;
  prometheus::Histogram* upload_seconds_ = nullptr;  // the database's
  agent_tallies* tallies_ = nullptr;

  std::mutex mutex_;  // phase_ and the lag clock
  table_phase phase_ = table_phase::pending;
  /// When the table was last known equal (or its metrics were made, before).
  std::chrono::steady_clock::time_point equal_at_ = std::chrono::steady_clock::now();
};

/// One configured database's series. Thread-safe.
class database_metrics {
public:
  /// One of the database's cycles, from its listing request to its last table's answer.
  void observe_cycle_seconds(double seconds) const;
  /// The database actor failed and is started again.
  void add_restart() const;
  /// Source connections lent to cycles now.
  void set_source_connections_busy(std::size_t busy) const;

private:
  friend class agent_metrics;
  database_metrics() = default;
  prometheus::Histogram* cycle_seconds_ = nullptr;
  prometheus::Histogram* upload_seconds_ = nullptr;
  prometheus::Counter* restarts_ = nullptr;
  prometheus::Gauge* connections_busy_ = nullptr;
};

/// A worker pool's load at one moment, for the pool gauges.
struct pool_load {
  std::size_t busy = 0;     // jobs running
  std::size_t queued = 0;   // jobs waiting for a worker
};

/// The site agent's metrics. Every configured table's and database's series
/// exist from `add_table` on, at 0, so a dashboard and an alert see a table
/// before anything happened to it; the labels are `database` and `table`
/// only, so the series stay bounded. Every method is thread-safe.
class agent_metrics {
public:
  explicit agent_metrics(prometheus::Registry& registry);
  ~agent_metrics();
  agent_metrics(const agent_metrics&) = delete;
  agent_metrics& operator=(const agent_metrics&) = delete;

  /// Creates the series of a configured database (idempotent).
  database_metrics& add_database(const std::string& database);
  /// Creates the series of a configured table, and its database's (idempotent).
  table_metrics& add_table(const std::string& database, const std::string& table);
  /// The table's metrics; null when it was never added.
  table_metrics* table(const std::string& database, const std::string& table);
  database_metrics* database(const std::string& database);

  /// A cycle started; `reason` is "interval" (one database's own cycle,
  /// every table of it) or "change" (the tables a committed change woke).
  void add_cycle(std::string_view reason);

  /// A database's change notification became (un)available: its PostgreSQL
  /// listening connection was (re)established or lost.
  void set_listening(const std::string& database, bool listening);

  /// Saving tables' progress in the state store failed (it is kept and tried again).
  void add_state_store_error();

  /// Reads a pool's load at every scrape (`pool` names it in the label).
  void watch_pool(std::string pool, std::function<pool_load()> read);
  /// What serves the watched pools' gauges: give it to the exposer with the
  /// registry (they are read when scraped, not kept in the registry).
  std::shared_ptr<prometheus::Collectable> pool_gauges() const;

  /// The table-level calls of earlier releases, by name: they look the
  /// table up (adding it when unknown). Prefer the table_metrics handle.
  void add_rows_uploaded(const std::string& database, const std::string& table, std::int64_t rows);
  void set_last_success(const std::string& database, const std::string& table,
                        double unix_seconds);

private:
  struct families;
  class pool_collectable;
  std::unique_ptr<families> families_;
  std::shared_ptr<pool_collectable> pools_;
  prometheus::Registry& registry_;
  std::unique_ptr<agent_tallies> tallies_;
  std::mutex mutex_;  // the maps below
  std::map<std::pair<std::string, std::string>, std::unique_ptr<table_metrics>> tables_;
  std::map<std::string, std::unique_ptr<database_metrics>> databases_;
};

/// Serves a registry at `/metrics` on `listen` ("host:port") for Prometheus
/// to scrape, until destroyed.
class metrics_exposer {
public:
  /// Throws std::exception when the address can't be bound.
  metrics_exposer(std::shared_ptr<prometheus::Registry> registry, const std::string& listen);
  /// Also serves `extra` (e.g. agent_metrics::pool_gauges()) when not null.
  metrics_exposer(std::shared_ptr<prometheus::Registry> registry, const std::string& listen,
                  std::shared_ptr<prometheus::Collectable> extra);
  ~metrics_exposer();
  metrics_exposer(const metrics_exposer&) = delete;
  metrics_exposer& operator=(const metrics_exposer&) = delete;

  /// The bound port (useful when `listen` asked for port 0).
  std::uint16_t port() const;

private:
  std::unique_ptr<prometheus::Exposer> exposer_;
  std::string host_;  // where a connection reaches it (see the destructor)
  std::shared_ptr<prometheus::Collectable> extra_;  // the exposer holds it weakly
};

} // namespace tidesync::metrics
