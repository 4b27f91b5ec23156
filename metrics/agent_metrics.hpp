#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
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

/// Seconds on a clock that, unlike steady_clock, keeps counting while the
/// host is suspended (CLOCK_BOOTTIME): for ages a reader relies on.
double boot_seconds();

/// What went wrong, the `kind` label of the errors counter.
enum class error_kind {
  network,   // the server could not be reached, or the connection broke
  server,    // the server answered 5xx (or 503, 429: overload), or needs an operator
  rejected,  // the server refused rows as bad data (4xx on an upload)
  source,    // the local database failed a read
};
inline constexpr std::size_t error_kind_count = 4;

std::string_view to_string(error_kind kind);

/// One configured table's series: plain atomics, bumped without locks or
/// label lookups, and written out by agent_metrics::render. Thread-safe.
class table_metrics {
public:
  void add_rows_uploaded(std::int64_t rows) { rows_uploaded_ += rows; }
  void add_rows_deleted(std::int64_t rows) { rows_deleted_ += rows; }
  /// One finished upload batch; `outcome` is "success", "rejected" or "transient".
  void add_batch(std::string_view outcome);
  /// A request that failed transiently and will be retried after a backoff.
  void add_retry() { ++retries_; }
  /// Rows the server rejected that the agent holds, to retry later.
  void set_quarantined_rows(std::int64_t rows) { quarantined_ = rows; }
  /// The size the table's next upload batch will have.
  void set_batch_size(std::size_t rows) { batch_size_ = static_cast<std::int64_t>(rows); }
  /// Unix time of the table's last cycle that ended without an error.
  void set_last_success(double unix_seconds) { last_success_ = unix_seconds; }
  /// The table's state now; `equal` also restarts the lag clock.
  void set_phase(table_phase phase);
  /// A check that began at `checked_at` found the table equal: the state is
  /// `equal` and the lag clock starts from that moment (never goes back).
  void set_equal(std::chrono::steady_clock::time_point checked_at);
  /// Seconds since the last check that found the table equal, counting any
  /// time the host was suspended (the site may have written meanwhile).
  double seconds_since_equal();
  /// Versions the cloud copy lacks (local max_version - remote, at least 0);
  /// also brings the seconds of lag up to date.
  void set_lag_versions(std::int64_t versions);
  /// Brings the seconds of lag up to date (a cycle ended still behind).
  void refresh_lag();
  /// One upload body: its JSON size and the bytes sent (after compression).
  void add_body_bytes(std::size_t json_bytes, std::size_t sent_bytes);
  void add_error(error_kind kind) { ++errors_[static_cast<std::size_t>(kind)]; }
  /// The table's actor failed and is started again.
  void add_restart() { ++restarts_; }
  /// Rows and ranges (manifest pages, digest ranges) compared with the cloud.
  void add_compared(std::int64_t rows, std::int64_t ranges);
  /// How far the differencing or verify pass under way is, 0 to 1.
  void set_compare_progress(double fraction);
  /// How long one upload request took, into its database's histogram.
  void observe_upload_seconds(double seconds) const;
  /// A load starts that should send about `rows` rows (for progress, not exported).
  void add_expected_rows(std::int64_t rows) { expected_rows_ += rows; }

  // What render() writes.
  const std::string& labels() const { return labels_; }
  table_phase phase() const { return phase_; }
  std::int64_t rows_uploaded() const { return rows_uploaded_; }
  std::int64_t rows_deleted() const { return rows_deleted_; }
  std::int64_t batches(std::size_t outcome) const { return batches_[outcome]; }
  std::int64_t retries() const { return retries_; }
  std::int64_t quarantined() const { return quarantined_; }
  std::int64_t batch_size() const { return batch_size_; }
  double last_success() const { return last_success_; }
  std::int64_t lag_versions() const { return lag_versions_; }
  double lag_seconds() const { return lag_seconds_; }
  std::int64_t json_bytes() const { return json_bytes_; }
  std::int64_t sent_bytes() const { return sent_bytes_; }
  std::int64_t errors(error_kind kind) const { return errors_[static_cast<std::size_t>(kind)]; }
  std::int64_t restarts() const { return restarts_; }
  std::int64_t compared_rows() const { return compared_rows_; }
  std::int64_t compared_ranges() const { return compared_ranges_; }
  double compare_progress() const { return compare_progress_; }
  std::int64_t expected_rows() const { return expected_rows_; }

private:
  friend class agent_metrics;
  table_metrics() = default;
  void update_lag_seconds(std::chrono::steady_clock::time_point now);

  std::string labels_;  // `database="…",table="…"`, escaped once
  std::atomic<std::int64_t> rows_uploaded_{0};
  std::atomic<std::int64_t> rows_deleted_{0};
  std::array<std::atomic<std::int64_t>, 3> batches_{};  // success, rejected, transient
  std::atomic<std::int64_t> retries_{0};
  std::atomic<std::int64_t> quarantined_{0};
  std::atomic<std::int64_t> batch_size_{0};
  std::atomic<double> last_success_{0};
  std::atomic<std::int64_t> lag_versions_{0};
  std::atomic<double> lag_seconds_{0};
  std::atomic<std::int64_t> json_bytes_{0};
  std::atomic<std::int64_t> sent_bytes_{0};
  std::array<std::atomic<std::int64_t>, error_kind_count> errors_{};
  std::atomic<std::int64_t> restarts_{0};
  std::atomic<std::int64_t> compared_rows_{0};
  std::atomic<std::int64_t> compared_ranges_{0};
  std::atomic<double> compare_progress_{0};
  std::atomic<std::int64_t> expected_rows_{0};
  prometheus::Histogram* upload_seconds_ = nullptr;  // the database's

  std::mutex mutex_;  // the phase and the lag clock, changed together
  std::atomic<table_phase> phase_{table_phase::pending};
  /// When the table was last known equal (or its metrics were made, before).
  std::chrono::steady_clock::time_point equal_at_ = std::chrono::steady_clock::now();
  /// The start of the last check that found the table equal, on
  /// boot_seconds(); none yet: -infinity.
  double equal_boot_at_ = -std::numeric_limits<double>::infinity();
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

/// The whole agent's work so far, for a progress line.
struct agent_totals {
  std::int64_t rows_uploaded = 0;
  std::int64_t rows_expected = 0;  // summed over the loads started
  std::int64_t tables = 0;
  std::int64_t tables_settled = 0;  // equal or quarantined
  std::int64_t tables_failing = 0;  // in error
};

/// A worker pool's load at one moment, for the pool gauges.
struct pool_load {
  std::size_t busy = 0;    // jobs running
  std::size_t queued = 0;  // jobs waiting for a worker
};

/// The site agent's metrics. Every configured table's and database's series
/// exist from `add_table` on, at 0, so a dashboard and an alert see a table
/// before anything happened to it; the labels are `database` and `table`
/// (plus one of a fixed few: state, kind, outcome), so the series stay
/// bounded. The per-table series are written by `render` straight from
/// their atomics: at 5,000 tables prometheus-cpp's own objects took half a
/// second of CPU per scrape. Every method is thread-safe.
class agent_metrics {
public:
  /// Database-level and agent-wide families go into `registry`.
  explicit agent_metrics(prometheus::Registry& registry);
  ~agent_metrics();
  agent_metrics(const agent_metrics&) = delete;
  agent_metrics& operator=(const agent_metrics&) = delete;

  /// Creates the series of a configured database (idempotent).
  database_metrics& add_database(const std::string& database);
  /// Creates the series of a configured table, and its database's (idempotent).
  table_metrics& add_table(const std::string& database, const std::string& table);

  /// A cycle started; `reason` is "interval" (one database's own cycle,
  /// every table of it) or "change" (the tables a committed change woke).
  void add_cycle(std::string_view reason);

  /// A database's change notification became (un)available: its PostgreSQL
  /// listening connection was (re)established or lost.
  void set_listening(const std::string& database, bool listening);

  /// Saving tables' progress in the state store failed (it is kept and tried again).
  void add_state_store_error();

  /// Reads a pool's load at every render (`pool` names it in the label).
  void watch_pool(std::string pool, std::function<pool_load()> read);

  /// Sums over every table, for `--once`'s progress line.
  agent_totals totals() const;

  /// Every metric in the Prometheus text exposition format: the registry's,
  /// then the per-table, pool and tables-by-state families.
  std::string render() const;

private:
  struct families;
  std::unique_ptr<families> families_;
  prometheus::Registry& registry_;
  mutable std::mutex mutex_;  // the maps and the pools below
  std::map<std::pair<std::string, std::string>, std::unique_ptr<table_metrics>> tables_;
  std::map<std::string, std::unique_ptr<database_metrics>> databases_;
  std::vector<std::pair<std::string, std::function<pool_load()>>> pools_;
};

} // namespace tidesync::metrics
