#include "server/api_server.hpp"

#include "metrics/registry.hpp"
#include "metrics/server_metrics.hpp"
#include "server/db_pool.hpp"
#include "server/fleet_view.hpp"
#include "server/http_server.hpp"
#include "server/request_dispatcher.hpp"
#include "storage/postgres_store.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <mutex>

namespace tidesync::server {

namespace {

// docs: max_waiting defaults to 4 × pool_size when the config leaves it out.
constexpr int waiting_per_worker = 4;
// Checks of tokens not yet known valid may hold a quarter of the workers, at
// least one, so a flood of bogus tokens leaves the rest to tenants.
constexpr std::size_t workers_per_token_lookup = 4;

storage::store_options store_options_of(const config::server_config& config) {
  const auto& tenants = config.tenants;
  return storage::store_options{
      config.database, config.data_schema,
      storage::declaration_limits{static_cast<std::size_t>(tenants.tables_per_database),
                                  static_cast<std::size_t>(tenants.columns_per_table),
                                  static_cast<std::size_t>(tenants.columns_per_shared_table)}};
}

// The config's limits, with what it leaves to the server filled in and each
// client's share kept within the pool it shares.
pool_limits pool_limits_of(const config::server_config& c) {
  pool_limits limits;
  limits.workers = static_cast<std::size_t>(std::max(c.pool_size, 1));
  limits.max_waiting = c.max_waiting >= 0 ? static_cast<std::size_t>(c.max_waiting)
                                          : limits.workers * waiting_per_worker;
  auto workers = static_cast<int>(limits.workers);
  auto max_waiting = static_cast<int>(limits.max_waiting);
  auto client_workers = c.max_workers_per_client == config::derived_from_pool
                            ? config::client_workers_for(workers)
                            : c.max_workers_per_client;
  auto client_waiting = c.max_waiting_per_client == config::derived_from_pool
                            ? config::client_waiting_for(max_waiting)
                            : c.max_waiting_per_client;
  limits.client_max_workers = static_cast<std::size_t>(std::clamp(client_workers, 1, workers));
  limits.client_max_waiting = static_cast<std::size_t>(std::clamp(client_waiting, 0, max_waiting));
  return limits;
}

} // namespace

struct api_server::impl {
  config::server_config config;
  metrics::registry registry;
  metrics::server_metrics metrics{registry.get()};
  fleet_reports fleet;
  std::unique_ptr<db_pool> pool;
  std::unique_ptr<fleet_recorder> recorder;
  std::unique_ptr<request_dispatcher> dispatcher;
  std::unique_ptr<http_server> http;
  std::mutex stop_mutex; // serialises start() and stop()
  bool running = false;

  explicit impl(config::server_config c) : config(std::move(c)) {}
};

api_server::api_server(config::server_config config)
    : impl_(std::make_unique<impl>(std::move(config))) {}

api_server::~api_server() {
  stop();
}

std::uint16_t api_server::start() {
  std::lock_guard lock{impl_->stop_mutex};
  auto& c = impl_->config;
  auto options = store_options_of(c);
  storage::postgres_store{options}.migrate();
  auto limits = pool_limits_of(c);
  impl_->pool = std::make_unique<db_pool>(limits, [options] {
    return std::make_unique<storage::postgres_store>(options);
  });
  auto max_token_lookups = std::max<std::size_t>(limits.workers / workers_per_token_lookup, 1);
  impl_->recorder = std::make_unique<fleet_recorder>(impl_->fleet, impl_->metrics, options,
                                                     c.report_interval);
  impl_->dispatcher = std::make_unique<request_dispatcher>(
      *impl_->pool, impl_->metrics, impl_->registry.get(), c.max_body_bytes, max_token_lookups,
      &impl_->fleet);
  impl_->http = std::make_unique<http_server>(
      *impl_->dispatcher, http_server::settings{c.listen, c.io_threads, c.max_body_bytes,
                                                static_cast<std::size_t>(c.max_connections),
                                                c.tls});
  auto port = impl_->http->start();
  impl_->running = true;
  spdlog::info("server: listening on {}:{}{} (pool {} workers, {} may wait; per client {} "
               "workers, {} waiting)",
               c.listen.host, port, c.tls ? " (TLS)" : "", limits.workers, limits.max_waiting,
               limits.client_max_workers, limits.client_max_waiting);
  return port;
}

void api_server::stop() {
  std::lock_guard lock{impl_->stop_mutex};
  if (!impl_->running)
    return;
  impl_->running = false;
  // Reverse order of start: no new connections, then the work in flight
  // finishes (its responses still go out), then the I/O threads end.
  impl_->http->begin_shutdown();
  impl_->pool->stop();
  impl_->http->join();
  impl_->recorder.reset();  // saves what the last requests reported
  spdlog::info("server: stopped");
}

std::size_t api_server::busy_workers() const {
  return impl_->pool ? impl_->pool->busy() : 0;
}

std::size_t api_server::waiting_requests() const {
  return impl_->pool ? impl_->pool->waiting() : 0;
}

} // namespace tidesync::server
