#include "metrics/agent_metrics.hpp"

#include "metrics/registry.hpp"

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <ctime>
#include <chrono>

namespace tidesync::metrics {

namespace {

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

// A label value as the text format wants it: backslash, quote and newline escaped.
std::string escaped(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\' || c == '"')
      out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

void append_number(std::string& out, std::int64_t value) {
  char buffer[24];
  auto end = std::to_chars(buffer, buffer + sizeof buffer, value).ptr;
  out.append(buffer, end);
}

void append_number(std::string& out, double value) {
  char buffer[32];
  auto end = std::to_chars(buffer, buffer + sizeof buffer, value).ptr;
  out.append(buffer, end);
}

void append_header(std::string& out, std::string_view name, std::string_view type,
                   std::string_view help) {
  out.append("# HELP ").append(name).append(" ").append(help).append("\n# TYPE ");
  out.append(name).append(" ").append(type).append("\n");
}

// `name{labels[,key="value"]} number`
template <class Number>
void append_sample(std::string& out, std::string_view name, std::string_view labels,
                   Number value, std::string_view key = {}, std::string_view key_value = {}) {
  out.append(name).append("{").append(labels);
  if (!key.empty()) {
    if (!labels.empty())
      out += ',';
    out.append(key).append("=\"").append(key_value).append("\"");
  }
  out.append("} ");
  append_number(out, value);
  out += '\n';
}

/// A per-table family: its name, type, help and how to write one table's samples.
struct table_family {
  std::string_view name;
  std::string_view type;
  std::string_view help;
  void (*samples)(std::string& out, std::string_view name, const table_metrics& table);
};

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

struct agent_metrics::families {
  explicit families(prometheus::Registry& r)
    : cycle_seconds(histogram_family(r, "tidesync_agent_cycle_duration_seconds",
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
      state_store_errors(counter_family(r, "tidesync_agent_state_store_errors_total",
                                        "Failed commits of tables' progress to the state store "
                                        "(kept and tried again)")),
      build_info(gauge_family(r, "tidesync_agent_build_info",
                              "Always 1; the agent's version in the label")),
      interval_cycles(cycles.Add({{"reason", "interval"}})),
      change_cycles(cycles.Add({{"reason", "change"}})),
      state_store_error_count(state_store_errors.Add({})) {
    build_info.Add({{"version", TIDESYNC_VERSION}}).Set(1);
  }

  prometheus::Family<prometheus::Histogram>& cycle_seconds;
  prometheus::Family<prometheus::Histogram>& upload_seconds;
  prometheus::Family<prometheus::Counter>& database_restarts;
  prometheus::Family<prometheus::Gauge>& connections_busy;
  prometheus::Family<prometheus::Counter>& cycles;
  prometheus::Family<prometheus::Gauge>& listening;
  prometheus::Family<prometheus::Counter>& state_store_errors;
  prometheus::Family<prometheus::Gauge>& build_info;
  prometheus::Counter& interval_cycles;
  prometheus::Counter& change_cycles;
  prometheus::Counter& state_store_error_count;
};

namespace {

// The per-table families, in the order they are written.
const std::array<table_family, 17>& table_families() {
  using out_t = std::string;
  static const std::array<table_family, 17> all{{
    {"tidesync_agent_table_state", "gauge",
     "1 for the table's current state, 0 for the others (pending: not compared yet; equal; "
     "ahead: uploading; behind: deleting; scanning: comparing and repairing; quarantined: in "
     "sync but for rejected rows; error)",
     [](out_t& out, std::string_view name, const table_metrics& t) {
       const auto now = t.phase();
       for (auto phase : every_phase)
         append_sample(out, name, t.labels(), std::int64_t{phase == now ? 1 : 0}, "state",
                       to_string(phase));
     }},
    {"tidesync_agent_lag_versions", "gauge",
     "Versions the cloud copy lacks: local max_version minus the cloud's, as of the table's "
     "last comparison",
     [](out_t& out, std::string_view name, const table_metrics& t) {
       append_sample(out, name, t.labels(), t.lag_versions());
     }},
    {"tidesync_agent_lag_seconds", "gauge",
     "Seconds since the table was last known equal to its cloud copy (0 while equal), as of "
     "its last cycle",
     [](out_t& out, std::string_view name, const table_metrics& t) {
       append_sample(out, name, t.labels(), t.lag_seconds());
     }},
    {"tidesync_agent_rows_uploaded_total", "counter", "Rows the server accepted in upload batches",
     [](out_t& out, std::string_view name, const table_metrics& t) {
       append_sample(out, name, t.labels(), t.rows_uploaded());
     }},
    {"tidesync_agent_rows_deleted_total", "counter",
     "Remote rows removed by the agent's delete requests",
     [](out_t& out, std::string_view name, const table_metrics& t) {
       append_sample(out, name, t.labels(), t.rows_deleted());
     }},
    {"tidesync_agent_quarantined_rows", "gauge",
     "Rows the server rejected as bad data, held and retried each cycle",
     [](out_t& out, std::string_view name, const table_metrics& t) {
       append_sample(out, name, t.labels(), t.quarantined());
     }},
    {"tidesync_agent_batches_total", "counter",
     "Upload batches by outcome (success, rejected, transient)",
     [](out_t& out, std::string_view name, const table_metrics& t) {
       for (std::size_t i = 0; i < batch_outcomes.size(); ++i)
         append_sample(out, name, t.labels(), t.batches(i), "outcome", batch_outcomes[i]);
     }},
    {"tidesync_agent_retries_total", "counter",
     "Requests that failed transiently and were retried after a backoff",
     [](out_t& out, std::string_view name, const table_metrics& t) {
       append_sample(out, name, t.labels(), t.retries());
     }},
    {"tidesync_agent_errors_total", "counter",
     "Failures by kind: network (server unreachable, connection broken), server (5xx, "
     "overload, an answer that needs an operator), rejected (rows refused as bad data), source "
     "(the local database)",
     [](out_t& out, std::string_view name, const table_metrics& t) {
       for (auto kind : every_error_kind)
         append_sample(out, name, t.labels(), t.errors(kind), "kind", to_string(kind));
     }},
    {"tidesync_agent_batch_size_rows", "gauge", "Rows the table's next upload batch will hold",
     [](out_t& out, std::string_view name, const table_metrics& t) {
       append_sample(out, name, t.labels(), t.batch_size());
     }},
    {"tidesync_agent_upload_json_bytes_total", "counter",
     "Upload bodies' size before compression",
     [](out_t& out, std::string_view name, const table_metrics& t) {
       append_sample(out, name, t.labels(), t.json_bytes());
     }},
    {"tidesync_agent_upload_sent_bytes_total", "counter",
     "Upload bodies' size as sent (after compression)",
     [](out_t& out, std::string_view name, const table_metrics& t) {
       append_sample(out, name, t.labels(), t.sent_bytes());
     }},
    {"tidesync_agent_compared_rows_total", "counter",
     "Rows compared with the cloud copy by differencing and verify passes",
     [](out_t& out, std::string_view name, const table_metrics& t) {
       append_sample(out, name, t.labels(), t.compared_rows());
     }},
    {"tidesync_agent_compared_ranges_total", "counter",
     "Manifest pages and digest ranges compared with the cloud copy",
     [](out_t& out, std::string_view name, const table_metrics& t) {
       append_sample(out, name, t.labels(), t.compared_ranges());
     }},
    {"tidesync_agent_compare_progress_ratio", "gauge",
     "How far the table's differencing or verify pass under way is, 0 to 1 (0 when none runs)",
     [](out_t& out, std::string_view name, const table_metrics& t) {
       append_sample(out, name, t.labels(), t.compare_progress());
     }},
    {"tidesync_agent_table_restarts_total", "counter",
     "Times the table's actor failed and was started again",
     [](out_t& out, std::string_view name, const table_metrics& t) {
       append_sample(out, name, t.labels(), t.restarts());
     }},
    {"tidesync_agent_last_success_timestamp_seconds", "gauge",
     "Unix time of the table's last cycle that ended without an error (0: none yet)",
     [](out_t& out, std::string_view name, const table_metrics& t) {
       append_sample(out, name, t.labels(), t.last_success());
     }},
  }};
  return all;
}

} // namespace

agent_metrics::agent_metrics(prometheus::Registry& registry)
  : families_(std::make_unique<families>(registry)), registry_(registry) {}

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
  if (!slot) {
    slot.reset(new table_metrics);
    slot->labels_ = "database=\"" + escaped(database) + "\",table=\"" + escaped(table) + "\"";
    slot->upload_seconds_ = owner.upload_seconds_;
  }
  return *slot;
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
  std::lock_guard lock{mutex_};
  pools_.emplace_back(std::move(pool), std::move(read));
}

agent_totals agent_metrics::totals() const {
  agent_totals out;
  std::lock_guard lock{mutex_};
  for (const auto& [key, table] : tables_) {
    out.rows_uploaded += table->rows_uploaded();
    out.rows_expected += table->expected_rows();
    ++out.tables;
    const auto phase = table->phase();
    if (phase == table_phase::equal || phase == table_phase::quarantined)
      ++out.tables_settled;
    else if (phase == table_phase::error)
      ++out.tables_failing;
  }
  return out;
}

std::string agent_metrics::render() const {
  auto out = render_text(registry_);
  std::lock_guard lock{mutex_};
  // About 2 KiB per table: sized once, not grown line by line.
  out.reserve(out.size() + 2200 * tables_.size() + 4096);
  for (const auto& family : table_families()) {
    append_header(out, family.name, family.type, family.help);
    for (const auto& [key, table] : tables_)
      family.samples(out, family.name, *table);
  }
  std::array<std::int64_t, table_phase_count> by_state{};
  for (const auto& [key, table] : tables_)
    ++by_state[static_cast<std::size_t>(table->phase())];
  append_header(out, "tidesync_agent_tables", "gauge", "Configured tables by state");
  for (auto phase : every_phase)
    append_sample(out, "tidesync_agent_tables", "", by_state[static_cast<std::size_t>(phase)],
                  "state", to_string(phase));
  append_header(out, "tidesync_agent_pool_busy", "gauge",
                "Jobs running on the agent's worker pools (source: reads and cycles; upload: "
                "requests in flight)");
  std::vector<pool_load> loads;
  for (const auto& [name, read] : pools_)
    loads.push_back(read());
  for (std::size_t i = 0; i < pools_.size(); ++i)
    append_sample(out, "tidesync_agent_pool_busy", "",
                  static_cast<std::int64_t>(loads[i].busy), "pool", pools_[i].first);
  append_header(out, "tidesync_agent_pool_queue_length", "gauge",
                "Jobs waiting for a worker of the agent's pools");
  for (std::size_t i = 0; i < pools_.size(); ++i)
    append_sample(out, "tidesync_agent_pool_queue_length", "",
                  static_cast<std::int64_t>(loads[i].queued), "pool", pools_[i].first);
  return out;
}

void table_metrics::add_batch(std::string_view outcome) {
  for (std::size_t i = 0; i < batch_outcomes.size(); ++i)
    if (batch_outcomes[i] == outcome)
      ++batches_[i];
}

void table_metrics::set_phase(table_phase phase) {
  const auto now = std::chrono::steady_clock::now();
  std::lock_guard lock{mutex_};
  if (phase == table_phase::equal) {
    equal_at_ = now;
    equal_boot_at_ = boot_seconds();
    lag_versions_ = 0;
  }
  phase_ = phase;
  update_lag_seconds(now);
}

void table_metrics::set_equal(std::chrono::steady_clock::time_point checked_at) {
  const auto steady_now = std::chrono::steady_clock::now();
  const auto boot_at =
    boot_seconds() - std::chrono::duration<double>(steady_now - checked_at).count();
  std::lock_guard lock{mutex_};
  equal_at_ = std::max(equal_at_, checked_at);
  equal_boot_at_ = std::max(equal_boot_at_, boot_at);
  lag_versions_ = 0;
  phase_ = table_phase::equal;
  update_lag_seconds(std::chrono::steady_clock::now());
}

double table_metrics::seconds_since_equal() {
  const auto now = boot_seconds();
  std::lock_guard lock{mutex_};
  return std::max(0.0, now - equal_boot_at_);
}

double boot_seconds() {
  timespec now{};
  ::clock_gettime(CLOCK_BOOTTIME, &now);
  return static_cast<double>(now.tv_sec) + static_cast<double>(now.tv_nsec) / 1e9;
}

void table_metrics::set_lag_versions(std::int64_t versions) {
  const auto now = std::chrono::steady_clock::now();
  std::lock_guard lock{mutex_};
  lag_versions_ = versions < 0 ? 0 : versions;
  update_lag_seconds(now);
}

void table_metrics::refresh_lag() {
  const auto now = std::chrono::steady_clock::now();
  std::lock_guard lock{mutex_};
  update_lag_seconds(now);
}

void table_metrics::update_lag_seconds(std::chrono::steady_clock::time_point now) {
  lag_seconds_ = phase_ == table_phase::equal
                   ? 0.0
                   : std::chrono::duration<double>(now - equal_at_).count();
}

void table_metrics::add_body_bytes(std::size_t json_bytes, std::size_t sent_bytes) {
  json_bytes_ += static_cast<std::int64_t>(json_bytes);
  sent_bytes_ += static_cast<std::int64_t>(sent_bytes);
}

void table_metrics::add_compared(std::int64_t rows, std::int64_t ranges) {
  compared_rows_ += rows;
  compared_ranges_ += ranges;
}

void table_metrics::set_compare_progress(double fraction) {
  compare_progress_ = fraction < 0 ? 0.0 : fraction > 1 ? 1.0 : fraction;
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

} // namespace tidesync::metrics
