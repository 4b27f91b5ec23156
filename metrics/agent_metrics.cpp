#include "metrics/agent_metrics.hpp"

#include <prometheus/counter.h>
#include <prometheus/exposer.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
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

} // namespace

agent_metrics::agent_metrics(prometheus::Registry& registry)
  : rows_uploaded_(counter_family(registry, "tidesync_agent_rows_uploaded_total",
                                  "Rows the server accepted in upload batches")),
    rows_deleted_(counter_family(registry, "tidesync_agent_rows_deleted_total",
                                 "Remote rows removed by the agent's delete requests")),
    batches_(counter_family(registry, "tidesync_agent_batches_total",
                            "Upload batches by outcome (success, rejected, transient)")),
    retries_(counter_family(registry, "tidesync_agent_retries_total",
                            "Requests that failed transiently and were retried after a backoff")),
    skipped_rows_(gauge_family(registry, "tidesync_agent_skipped_rows",
                               "Rows the server rejected, held for a later retry")),
    batch_size_(gauge_family(registry, "tidesync_agent_batch_size",
                             "Rows the next upload batch will hold")),
    last_success_(gauge_family(registry, "tidesync_agent_last_success_timestamp_seconds",
                               "Unix time of the last cycle that ended without an error")),
    cycles_(counter_family(registry, "tidesync_agent_cycles_total",
                           "Cycles started, by reason: interval (one per database per interval) or "
                           "change (woken by a committed change)")),
    listening_(gauge_family(registry, "tidesync_agent_change_listener_up",
                            "1 while a PostgreSQL source's change notification connection "
                            "is listening, 0 while it reconnects")),
    interval_cycles_(cycles_.Add({{"reason", "interval"}})),
    change_cycles_(cycles_.Add({{"reason", "change"}})) {}

void agent_metrics::add_cycle(std::string_view reason) {
  // The two reasons every cycle has are looked up once: a large site starts
  // dozens of cycles a second.
  if (reason == "interval")
    interval_cycles_.Increment();
  else if (reason == "change")
    change_cycles_.Increment();
  else
    cycles_.Add({{"reason", std::string{reason}}}).Increment();
}

void agent_metrics::set_listening(const std::string& database, bool listening) {
  listening_.Add({{"database", database}}).Set(listening ? 1.0 : 0.0);
}

void agent_metrics::add_rows_uploaded(const std::string& database, const std::string& table,
                                      std::int64_t rows) {
  rows_uploaded_.Add(table_labels(database, table)).Increment(static_cast<double>(rows));
}

void agent_metrics::add_rows_deleted(const std::string& database, const std::string& table,
                                     std::int64_t rows) {
  rows_deleted_.Add(table_labels(database, table)).Increment(static_cast<double>(rows));
}

void agent_metrics::add_batch(const std::string& database, const std::string& table,
                              std::string_view outcome) {
  auto labels = table_labels(database, table);
  labels.emplace("outcome", std::string{outcome});
  batches_.Add(labels).Increment();
}

void agent_metrics::add_retry(const std::string& database, const std::string& table) {
  retries_.Add(table_labels(database, table)).Increment();
}

void agent_metrics::set_skipped_rows(const std::string& database, const std::string& table,
                                     std::int64_t rows) {
  skipped_rows_.Add(table_labels(database, table)).Set(static_cast<double>(rows));
}

void agent_metrics::set_batch_size(const std::string& database, const std::string& table,
                                   std::size_t rows) {
  batch_size_.Add(table_labels(database, table)).Set(static_cast<double>(rows));
}

void agent_metrics::set_last_success(const std::string& database, const std::string& table,
                                     double unix_seconds) {
  last_success_.Add(table_labels(database, table)).Set(unix_seconds);
}

gauge_handle agent_metrics::last_success(const std::string& database, const std::string& table) {
  return gauge_handle{&last_success_.Add(table_labels(database, table))};
}

void gauge_handle::set(double value) const { gauge_->Set(value); }

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
  : exposer_(std::make_unique<prometheus::Exposer>(listen)), host_(reachable_host(listen)) {
  exposer_->RegisterCollectable(registry);
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
