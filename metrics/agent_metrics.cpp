#include "metrics/agent_metrics.hpp"

#include <prometheus/counter.h>
#include <prometheus/exposer.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/metric_family.h>
#include <prometheus/registry.h>

#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <thread>

namespace tidesync::metrics {

namespace {

prometheus::Labels table_labels(const std::string& database, const std::string& table) {
  return {{"database", database}, {"table", table}};
}

prometheus::Family<prometheus::Counter>& counter_family(prometheus::Registry& registry,
                                                        const std::string& name,
                                                        const std::string& help) {
  return prometheus::BuildCounter().Name(name).Help(help).Register(registry);
}

prometheus::Family<prometheus::Gauge>& gauge_family(prometheus::Registry& registry,
                                                    const std::string& name,
                                                    const std::string& help) {
  return prometheus::BuildGauge().Name(name).Help(help).Register(registry);
}

prometheus::Family<prometheus::Histogram>& histogram_family(prometheus::Registry& registry,
                                                            const std::string& name,
                                                            const std::string& help) {
  return prometheus::BuildHistogram().Name(name).Help(help).Register(registry);
}

// Seconds, from an idle cycle's few milliseconds to a long load's minutes.
const prometheus::Histogram::BucketBoundaries& duration_buckets() {
  static const prometheus::Histogram::BucketBoundaries bounds{
    0.005, 0.025, 0.1, 0.25, 1, 2.5, 10, 30, 120, 600};
  return bounds;
}

constexpr std::array<std::string_view, 3> batch_outcomes{"success", "rejected", "transient"};

constexpr std::array<table_phase, table_phase_count> every_phase{
  table_phase::pending,  table_phase::equal,       table_phase::ahead, table_phase::behind,
  table_phase::scanning, table_phase::quarantined, table_phase::error};

constexpr std::array<error_kind, error_kind_count> every_error_kind{
  error_kind::network, error_kind::server, error_kind::rejected, error_kind::source};

} // namespace

std::string_view to_string(table_phase phase) {
  switch (phase) {
    case table_phase::pending: return "pending";
    case table_phase::equal: return "equal";
    case table_phase::ahead: return "ahead";
    case table_phase::behind: return "behind";
    case table_phase::scanning: return "scanning";
    case table_phase::quarantined: return "quarantined";
    case table_phase::error: return "error";
  }
  return "pending";
}

std::string_view to_string(error_kind kind) {
  switch (kind) {
    case error_kind::network: return "network";
    case error_kind::server: return "server";
    case error_kind::rejected: return "rejected";
    case error_kind::source: return "source";
  }
  return "network";
}

/// Tables by state, across the agent.
struct agent_tallies {
  std::array<prometheus::Gauge*, table_phase_count> tables{};
};

struct agent_metrics::families {
  explicit families(prometheus::Registry& r)
    : rows_uploaded(counter_family(r, "tidesync_agent_rows_uploaded_total",
                                   "Rows the server accepted in upload batches")),
      rows_deleted(counter_family(r, "tidesync_agent_rows_deleted_total",
                                  "Remote rows removed by the agent's delete requests")),
      batches(counter_family(r, "tidesync_agent_batches_total",
                             "Upload batches by outcome (success, rejected, transient)")),
      retries(counter_family(r, "tidesync_agent_retries_total",
                             "Requests that failed transiently and were retried after a backoff")),
      quarantined(gauge_family(r, "tidesync_agent_quarantined_rows",
                               "Rows the server rejected as bad data, held and retried each cycle")),
      batch_size(gauge_family(r, "tidesync_agent_batch_size_rows",
                              "Rows the table's next upload batch will hold")),
      last_success(gauge_family(r, "tidesync_agent_last_success_timestamp_seconds",
                                "Unix time of the table's last cycle that ended without an error")),
      state(gauge_family(r, "tidesync_agent_table_state",
                         "1 for the table's current state, 0 for the others (pending: not "
                         "compared yet; equal; ahead: uploading; behind: deleting; scanning: "
                         "comparing and repairing; quarantined: in sync but for rejected rows; "
                         "error)")),
      lag_versions(gauge_family(r, "tidesync_agent_lag_versions",
                                "Versions the cloud copy lacks: local max_version minus the "
                                "cloud's, as of the table's last comparison")),
      lag_seconds(gauge_family(r, "tidesync_agent_lag_seconds",
                               "Seconds since the table was last known equal to its cloud copy "
                               "(0 while equal), as of its last cycle")),
      json_bytes(counter_family(r, "tidesync_agent_upload_json_bytes_total",
                                "Upload bodies' size before compression")),
      sent_bytes(counter_family(r, "tidesync_agent_upload_sent_bytes_total",
                                "Upload bodies' size as sent (after compression)")),
      errors(counter_family(r, "tidesync_agent_errors_total",
                            "Failures by kind: network (server unreachable, connection broken), "
                            "server (5xx, overload), rejected (rows refused as bad data), "
                            "source (the local database)")),
      table_restarts(counter_family(r, "tidesync_agent_table_restarts_total",
                                    "Times the table's actor failed and was started again")),
      compared_rows(counter_family(r, "tidesync_agent_compared_rows_total",
                                   "Rows compared with the cloud copy by differencing and verify "
                                   "passes")),
      compared_ranges(counter_family(r, "tidesync_agent_compared_ranges_total",
                                     "Manifest pages and digest ranges compared with the cloud "
                                     "copy")),
      compare_progress(gauge_family(r, "tidesync_agent_compare_progress_ratio",
                                    "How far the table's differencing or verify pass under way "
                                    "is, 0 to 1 (0 when none runs)")),
      cycle_seconds(histogram_family(r, "tidesync_agent_cycle_duration_seconds",
                                     "One database cycle, from its listing request to its last "
                                     "table's answer")),
      upload_seconds(histogram_family(r, "tidesync_agent_upload_duration_seconds",
                                      "One upload request, body sent to answer read")),
      database_restarts(counter_family(r, "tidesync_agent_database_restarts_total",
                                       "Times the database's actor failed and was started "
                                       "again")),
      connections_busy(gauge_family(r, "tidesync_agent_source_connections_busy",
                                    "Source connections lent to cycles now")),
      cycles(counter_family(r, "tidesync_agent_cycles_total",
                            "Cycles started, by reason: interval (one per database per interval) "
                            "or change (woken by a committed change)")),
      listening(gauge_family(r, "tidesync_agent_change_listener_up",
                             "1 while a PostgreSQL source's change notification connection is "
                             "listening, 0 while it reconnects")),
      tables(gauge_family(r, "tidesync_agent_tables", "Configured tables by state")),
      state_store_errors(counter_family(r, "tidesync_agent_state_store_errors_total",
                                        "Failed commits of tables' progress to the state store "
                                        "(kept and tried again)")),
      build_info(gauge_family(r, "tidesync_agent_build_info",
                              "Always 1; the agent's version in the label")),
      interval_cycles(cycles.Add({{"reason", "interval"}})),
      change_cycles(cycles.Add({{"reason", "change"}})),
      state_store_error_count(state_store_errors.Add({})) {}

  prometheus::Family<prometheus::Counter>& rows_uploaded;
  prometheus::Family<prometheus::Counter>& rows_deleted;
  prometheus::Family<prometheus::Counter>& batches;
  prometheus::Family<prometheus::Counter>& retries;
  prometheus::Family<prometheus::Gauge>& quarantined;
  prometheus::Family<prometheus::Gauge>& batch_size;
  prometheus::Family<prometheus::Gauge>& last_success;
  prometheus::Family<prometheus::Gauge>& state;
  prometheus::Family<prometheus::Gauge>& lag_versions;
  prometheus::Family<prometheus::Gauge>& lag_seconds;
  prometheus::Family<prometheus::Counter>& json_bytes;
  prometheus::Family<prometheus::Counter>& sent_bytes;
  prometheus::Family<prometheus::Counter>& errors;
  prometheus::Family<prometheus::Counter>& table_restarts;
  prometheus::Family<prometheus::Counter>& compared_rows;
  prometheus::Family<prometheus::Counter>& compared_ranges;
  prometheus::Family<prometheus::Gauge>& compare_progress;
  prometheus::Family<prometheus::Histogram>& cycle_seconds;
  prometheus::Family<prometheus::Histogram>& upload_seconds;
  prometheus::Family<prometheus::Counter>& database_restarts;
  prometheus::Family<prometheus::Gauge>& connections_busy;
  prometheus::Family<prometheus::Counter>& cycles;
  prometheus::Family<prometheus::Gauge>& listening;
  prometheus::Family<prometheus::Gauge>& tables;
  prometheus::Family<prometheus::Counter>& state_store_errors;
  prometheus::Family<prometheus::Gauge>& build_info;
  prometheus::Counter& interval_cycles;
  prometheus::Counter& change_cycles;
  prometheus::Counter& state_store_error_count;
};

/// The watched pools' gauges, read when scraped.
class agent_metrics::pool_collectable : public prometheus::Collectable {
public:
  void watch(std::string pool, std::function<pool_load()> read) {
    std::lock_guard lock{mutex_};
    pools_.emplace_back(std::move(pool), std::move(read));
  }

  std::vector<prometheus::MetricFamily> Collect() const override {
    prometheus::MetricFamily busy{"tidesync_agent_pool_busy",
                                  "Jobs running on the agent's worker pools (source: reads and "
                                  "cycles; upload: requests in flight)",
                                  prometheus::MetricType::Gauge,
                                  {}};
    prometheus::MetricFamily queued{"tidesync_agent_pool_queue_length",
                                    "Jobs waiting for a worker of the agent's pools",
                                    prometheus::MetricType::Gauge,
                                    {}};
    std::lock_guard lock{mutex_};
    for (const auto& [name, read] : pools_) {
      auto load = read();
      prometheus::ClientMetric metric;
      metric.label = {{"pool", name}};
      metric.gauge.value = static_cast<double>(load.busy);
      busy.metric.push_back(metric);
      metric.gauge.value = static_cast<double>(load.queued);
      queued.metric.push_back(std::move(metric));
    }
    return {std::move(busy), std::move(queued)};
  }

private:
  mutable std::mutex mutex_;
  std::vector<std::pair<std::string, std::function<pool_load()>>> pools_;
};

agent_metrics::agent_metrics(prometheus::Registry& registry)
  : families_(std::make_unique<families>(registry)),
    pools_(std::make_shared<pool_collectable>()),
    registry_(registry),
    tallies_(std::make_unique<agent_tallies>()) {
  for (auto phase : every_phase)
    tallies_->tables[static_cast<std::size_t>(phase)] =
      &families_->tables.Add({{"state", std::string{to_string(phase)}}});
  families_->build_info.Add({{"version", TIDESYNC_VERSION}}).Set(1);
}

agent_metrics::~agent_metrics() = default;

database_metrics& agent_metrics::add_database(const std::string& database) {
  std::lock_guard lock{mutex_};
  auto& slot = databases_[database];
  if (!slot) {
    slot.reset(new database_metrics);
    prometheus::Labels labels{{"database", database}};
    auto& f = *families_;
    slot->cycle_seconds_ = &f.cycle_seconds.Add(labels, duration_buckets());
    slot->upload_seconds_ = &f.upload_seconds.Add(labels, duration_buckets());
    slot->restarts_ = &f.database_restarts.Add(labels);
    slot->connections_busy_ = &f.connections_busy.Add(labels);
  }
  return *slot;
}

table_metrics& agent_metrics::add_table(const std::string& database, const std::string& table) {
  auto& owner = add_database(database);
  std::lock_guard lock{mutex_};
  auto& slot = tables_[{database, table}];
  if (slot)
    return *slot;
  slot.reset(new table_metrics);
  auto& t = *slot;
  auto& f = *families_;
  const auto labels = table_labels(database, table);
  auto with = [&](const char* name, std::string_view value) {
    auto more = labels;
    more.emplace(name, std::string{value});
    return more;
  };
  t.rows_uploaded_ = &f.rows_uploaded.Add(labels);
  t.rows_deleted_ = &f.rows_deleted.Add(labels);
  for (std::size_t i = 0; i < batch_outcomes.size(); ++i)
    t.batches_[i] = &f.batches.Add(with("outcome", batch_outcomes[i]));
  t.retries_ = &f.retries.Add(labels);
  t.quarantined_ = &f.quarantined.Add(labels);
  t.batch_size_ = &f.batch_size.Add(labels);
  t.last_success_ = &f.last_success.Add(labels);
  for (auto phase : every_phase)
    t.phases_[static_cast<std::size_t>(phase)] = &f.state.Add(with("state", to_string(phase)));
  t.phases_[static_cast<std::size_t>(table_phase::pending)]->Set(1);
  t.lag_versions_ = &f.lag_versions.Add(labels);
  t.lag_seconds_ = &f.lag_seconds.Add(labels);
  t.json_bytes_ = &f.json_bytes.Add(labels);
  t.sent_bytes_ = &f.sent_bytes.Add(labels);
  for (auto kind : every_error_kind)
    t.errors_[static_cast<std::size_t>(kind)] = &f.errors.Add(with("kind", to_string(kind)));
  t.restarts_ = &f.table_restarts.Add(labels);
  t.compared_rows_ = &f.compared_rows.Add(labels);
  t.compared_ranges_ = &f.compared_ranges.Add(labels);
  t.compare_progress_ = &f.compare_progress.Add(labels);
  t.upload_seconds_ = owner.upload_seconds_;
  t.tallies_ = tallies_.get();
  tallies_->tables[static_cast<std::size_t>(table_phase::pending)]->Increment();
  return t;
}

table_metrics* agent_metrics::table(const std::string& database, const std::string& table) {
  std::lock_guard lock{mutex_};
  auto found = tables_.find({database, table});
  return found == tables_.end() ? nullptr : found->second.get();
}

database_metrics* agent_metrics::database(const std::string& database) {
  std::lock_guard lock{mutex_};
  auto found = databases_.find(database);
  return found == databases_.end() ? nullptr : found->second.get();
}

void agent_metrics::add_cycle(std::string_view reason) {
  // The two reasons every cycle has are looked up once: a large site starts
  // dozens of cycles a second.
  if (reason == "interval")
    families_->interval_cycles.Increment();
  else if (reason == "change")
    families_->change_cycles.Increment();
  else
    families_->cycles.Add({{"reason", std::string{reason}}}).Increment();
}

void agent_metrics::set_listening(const std::string& database, bool listening) {
  families_->listening.Add({{"database", database}}).Set(listening ? 1.0 : 0.0);
}

void agent_metrics::add_state_store_error() { families_->state_store_error_count.Increment(); }

void agent_metrics::watch_pool(std::string pool, std::function<pool_load()> read) {
  pools_->watch(std::move(pool), std::move(read));
}

std::shared_ptr<prometheus::Collectable> agent_metrics::pool_gauges() const { return pools_; }

void agent_metrics::add_rows_uploaded(const std::string& database, const std::string& table,
                                      std::int64_t rows) {
  add_table(database, table).add_rows_uploaded(rows);
}

void agent_metrics::set_last_success(const std::string& database, const std::string& table,
                                     double unix_seconds) {
  add_table(database, table).set_last_success(unix_seconds);
}

void table_metrics::add_rows_uploaded(std::int64_t rows) const {
  rows_uploaded_->Increment(static_cast<double>(rows));
}

void table_metrics::add_rows_deleted(std::int64_t rows) const {
  rows_deleted_->Increment(static_cast<double>(rows));
}

void table_metrics::add_batch(std::string_view outcome) const {
  for (std::size_t i = 0; i < batch_outcomes.size(); ++i)
    if (batch_outcomes[i] == outcome)
      batches_[i]->Increment();
}

void table_metrics::add_retry() const { retries_->Increment(); }

void table_metrics::set_quarantined_rows(std::int64_t rows) const {
  quarantined_->Set(static_cast<double>(rows));
}

void table_metrics::set_batch_size(std::size_t rows) const {
  batch_size_->Set(static_cast<double>(rows));
}

void table_metrics::set_last_success(double unix_seconds) const {
  last_success_->Set(unix_seconds);
}

void table_metrics::set_phase(table_phase phase) {
  const auto now = std::chrono::steady_clock::now();
  std::lock_guard lock{mutex_};
  if (phase == table_phase::equal) {
    equal_at_ = now;
    lag_versions_->Set(0);
  }
  if (phase != phase_) {
    phases_[static_cast<std::size_t>(phase_)]->Set(0);
    phases_[static_cast<std::size_t>(phase)]->Set(1);
    tallies_->tables[static_cast<std::size_t>(phase_)]->Decrement();
    tallies_->tables[static_cast<std::size_t>(phase)]->Increment();
    phase_ = phase;
  }
  update_lag_seconds(now);
}

void table_metrics::set_lag_versions(std::int64_t versions) {
  const auto now = std::chrono::steady_clock::now();
  std::lock_guard lock{mutex_};
  lag_versions_->Set(static_cast<double>(versions < 0 ? 0 : versions));
  update_lag_seconds(now);
}

void table_metrics::refresh_lag() {
  const auto now = std::chrono::steady_clock::now();
  std::lock_guard lock{mutex_};
  update_lag_seconds(now);
}

void table_metrics::update_lag_seconds(std::chrono::steady_clock::time_point now) {
  lag_seconds_->Set(phase_ == table_phase::equal
                      ? 0.0
                      : std::chrono::duration<double>(now - equal_at_).count());
}

void table_metrics::add_body_bytes(std::size_t json_bytes, std::size_t sent_bytes) const {
  json_bytes_->Increment(static_cast<double>(json_bytes));
  sent_bytes_->Increment(static_cast<double>(sent_bytes));
}

void table_metrics::add_error(error_kind kind) const {
  errors_[static_cast<std::size_t>(kind)]->Increment();
}

void table_metrics::add_restart() const { restarts_->Increment(); }

void table_metrics::add_compared(std::int64_t rows, std::int64_t ranges) const {
  compared_rows_->Increment(static_cast<double>(rows));
  compared_ranges_->Increment(static_cast<double>(ranges));
}

void table_metrics::set_compare_progress(double fraction) const {
  compare_progress_->Set(fraction < 0 ? 0 : fraction > 1 ? 1 : fraction);
}

void table_metrics::observe_upload_seconds(double seconds) const {
  upload_seconds_->Observe(seconds);
}

void database_metrics::observe_cycle_seconds(double seconds) const {
  cycle_seconds_->Observe(seconds);
}

void database_metrics::add_restart() const { restarts_->Increment(); }

void database_metrics::set_source_connections_busy(std::size_t busy) const {
  connections_busy_->Set(static_cast<double>(busy));
}

namespace {

// Where a connection reaches a server listening on `listen` (host:port or
// [v6]:port): its own host, or the loopback address for a wildcard one.
std::string reachable_host(const std::string& listen) {
  if (!listen.empty() && listen.front() == '[') {
    auto host = listen.substr(1, listen.find(']') - 1);
    return host.empty() || host == "::" ? "::1" : host;
  }
  auto colon = listen.rfind(':');
  auto host = colon == std::string::npos ? std::string{} : listen.substr(0, colon);
  return host.empty() || host == "0.0.0.0" || host == "*" ? "127.0.0.1" : host;
}

// Opens and closes one connection to host:port, waiting for nothing.
void poke(const std::string& host, std::uint16_t port) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* found = nullptr;
  if (getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found) != 0)
    return;
  for (auto* at = found; at != nullptr; at = at->ai_next) {
    int fd = socket(at->ai_family, at->ai_socktype | SOCK_NONBLOCK, at->ai_protocol);
    if (fd < 0)
      continue;
    connect(fd, at->ai_addr, at->ai_addrlen);  // in progress is enough: the listener wakes
    close(fd);
    break;
  }
  freeaddrinfo(found);
}

} // namespace

metrics_exposer::metrics_exposer(std::shared_ptr<prometheus::Registry> registry,
                                 const std::string& listen)
  : metrics_exposer(std::move(registry), listen, nullptr) {}

metrics_exposer::metrics_exposer(std::shared_ptr<prometheus::Registry> registry,
                                 const std::string& listen,
                                 std::shared_ptr<prometheus::Collectable> extra)
  : exposer_(std::make_unique<prometheus::Exposer>(listen)), host_(reachable_host(listen)),
    extra_(std::move(extra)) {
  exposer_->RegisterCollectable(registry);
  if (extra_)
    exposer_->RegisterCollectable(extra_);
}

metrics_exposer::~metrics_exposer() {
  // The HTTP server's listening thread waits up to 2 s for a connection
  // before it looks whether it must stop, and stopping waits for that
  // thread: an agent would take up to 2 s more to exit. Connections made
  // while it stops end the wait at once.
  const auto listening = port();
  std::atomic<bool> stopped{false};
  std::thread waker{[&] {
    while (!stopped.load()) {
      poke(host_, listening);
      std::this_thread::sleep_for(std::chrono::milliseconds{20});
    }
  }};
  exposer_.reset();
  stopped = true;
  waker.join();
}

std::uint16_t metrics_exposer::port() const {
  auto ports = exposer_->GetListeningPorts();
  return ports.empty() ? 0 : static_cast<std::uint16_t>(ports.front());
}

} // namespace tidesync::metrics
