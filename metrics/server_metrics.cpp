#include "metrics/server_metrics.hpp"

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <algorithm>
#include <vector>

namespace tidesync::metrics {

namespace {

// Seconds; from a cached version GET (~1 ms) to a large upload (tens of seconds).
const prometheus::Histogram::BucketBoundaries duration_buckets{
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};

prometheus::Counter& single_counter(prometheus::Registry& registry, const std::string& name,
                                    const std::string& help) {
  return prometheus::BuildCounter().Name(name).Help(help).Register(registry).Add({});
}

prometheus::Gauge& single_gauge(prometheus::Registry& registry, const std::string& name,
                                const std::string& help) {
  return prometheus::BuildGauge().Name(name).Help(help).Register(registry).Add({});
}

} // namespace

server_metrics::server_metrics(prometheus::Registry& registry)
    : requests_(prometheus::BuildCounter()
                    .Name("tidesync_server_requests_total")
                    .Help("HTTP requests answered, by route and status")
                    .Register(registry)),
      durations_(prometheus::BuildHistogram()
                     .Name("tidesync_server_request_duration_seconds")
                     .Help("Time from a complete request to its response, by route")
                     .Register(registry)),
      rows_uploaded_(single_counter(registry, "tidesync_server_rows_uploaded_total",
                                    "Rows received in accepted upload batches")),
      rows_deleted_(single_counter(registry, "tidesync_server_rows_deleted_total",
                                   "Rows removed by delete requests")),
      rejections_(single_counter(registry, "tidesync_server_rejected_requests_total",
                                 "Requests refused with 503 because the wait queue was full")),
      pool_busy_(single_gauge(registry, "tidesync_server_pool_busy",
                              "Database workers running a request")),
      pool_waiting_(single_gauge(registry, "tidesync_server_pool_waiting",
                                 "Requests waiting for a database worker")),
      refusals_(prometheus::BuildCounter()
                    .Name("tidesync_server_refusals_total")
                    .Help("Requests refused at the connection before routing, by status (400 "
                          "unreadable, 413 body too large, 431 headers too large, 503 too many "
                          "connections)")
                    .Register(registry)),
      auth_failures_(single_counter(registry, "tidesync_server_auth_failures_total",
                                    "Requests refused with 401 or 403 (no, unknown or revoked "
                                    "token; path outside the token's scope)")),
      request_bytes_(single_counter(registry, "tidesync_server_request_body_bytes_total",
                                    "Request bodies received, as sent (before decompression)")),
      response_bytes_(single_counter(registry, "tidesync_server_response_body_bytes_total",
                                     "Response bodies sent")),
      database_errors_(single_counter(registry, "tidesync_server_database_errors_total",
                                      "Requests that failed in PostgreSQL (connection lost, "
                                      "server error): answered 500 or 503")),
      sites_seen_(single_gauge(registry, "tidesync_server_fleet_sites_seen",
                               "Sites (clients) whose agents made a request in the last 5 "
                               "minutes, across every server of the store")),
      sites_silent_(single_gauge(registry, "tidesync_server_fleet_sites_silent",
                                 "Sites not heard from for more than 15 minutes")),
      tables_not_in_sync_(single_gauge(registry, "tidesync_server_fleet_tables_not_in_sync",
                                       "Tables the agents of sites not silent last reported "
                                       "not equal to their cloud copy")),
      agents_(prometheus::BuildGauge()
                .Name("tidesync_server_fleet_agents")
                .Help("Sites heard from in the last 15 minutes, by agent version (\"\": a "
                      "request that named none)")
                .Register(registry)) {
  // The statuses a connection refuses with exist at 0 from the start, for
  // rate() and alerts to see.
  for (int status : {400, 413, 431, 503})
    refusals_.Add({{"status", std::to_string(status)}});
  prometheus::BuildGauge()
    .Name("tidesync_server_build_info")
    .Help("Always 1; the server's version in the label")
    .Register(registry)
    .Add({{"version", TIDESYNC_VERSION}})
    .Set(1);
}

void server_metrics::add_refusal(int status) {
  refusals_.Add({{"status", std::to_string(status)}}).Increment();
}

void server_metrics::add_auth_failure() { auth_failures_.Increment(); }

void server_metrics::add_body_bytes(std::size_t request, std::size_t response) {
  request_bytes_.Increment(static_cast<double>(request));
  response_bytes_.Increment(static_cast<double>(response));
}

void server_metrics::add_database_error() { database_errors_.Increment(); }

void server_metrics::set_fleet(std::int64_t sites_seen, std::int64_t sites_silent,
                               std::int64_t tables_not_in_sync,
                               const std::map<std::string, std::int64_t>& agents_by_version) {
  sites_seen_.Set(static_cast<double>(sites_seen));
  sites_silent_.Set(static_cast<double>(sites_silent));
  tables_not_in_sync_.Set(static_cast<double>(tables_not_in_sync));
  // The most common versions by name; a version no site runs any more goes.
  std::vector<std::pair<std::int64_t, std::string>> ranked;
  for (const auto& [version, sites] : agents_by_version)
    ranked.emplace_back(sites, version);
  std::sort(ranked.rbegin(), ranked.rend());
  std::map<std::string, std::int64_t> shown;
  for (std::size_t i = 0; i < ranked.size(); ++i)
    shown[i < max_versions ? ranked[i].second : "other"] += ranked[i].first;
  std::lock_guard lock{agents_mutex_};
  for (auto it = versions_.begin(); it != versions_.end();) {
    if (shown.contains(it->first)) {
      ++it;
      continue;
    }
    agents_.Remove(it->second);
    it = versions_.erase(it);
  }
  for (const auto& [version, sites] : shown) {
    auto& gauge = versions_[version];
    if (gauge == nullptr)
      gauge = &agents_.Add({{"version", version}});
    gauge->Set(static_cast<double>(sites));
  }
}

void server_metrics::record_request(const std::string& route, int status, double seconds) {
  // Family::Add returns the existing child for known labels; it locks internally.
  requests_.Add({{"route", route}, {"status", std::to_string(status)}}).Increment();
  durations_.Add({{"route", route}}, duration_buckets).Observe(seconds);
}

void server_metrics::add_rows_uploaded(std::int64_t rows) {
  rows_uploaded_.Increment(static_cast<double>(rows));
}

void server_metrics::add_rows_deleted(std::int64_t rows) {
  rows_deleted_.Increment(static_cast<double>(rows));
}

void server_metrics::add_rejection() {
  rejections_.Increment();
}

void server_metrics::set_pool(std::size_t busy, std::size_t waiting) {
  pool_busy_.Set(static_cast<double>(busy));
  pool_waiting_.Set(static_cast<double>(waiting));
}

} // namespace tidesync::metrics
