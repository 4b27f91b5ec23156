#include "actors/agent.hpp"

#include "actors/agent_lock.hpp"
#include "actors/http_remote.hpp"
#include "actors/messages.hpp"
#include "actors/supervisor.hpp"
#include "metrics/agent_metrics.hpp"
#include "metrics/registry.hpp"
#include "storage/state_store.hpp"

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

namespace tidesync::actors {

namespace {

// Full-pass cycles run_once tries before it reports what is still open.
constexpr int once_max_cycles = 3;

bool has_open_work(const agent_report& report) {
  for (const auto& database : report.databases)
    for (const auto& table : database.tables)
      if (table.state == table_state::syncing)
        return true;
  return false;
}

std::shared_ptr<agent_context> make_context(config::agent_config config, agent_hooks hooks) {
  auto context = std::make_shared<agent_context>();
  context->config = std::move(config);
  context->make_remote = std::move(hooks.make_remote);
  if (!context->make_remote) {
    auto server = context->config.server;
    auto timeout = context->config.request_timeout;
    context->make_remote = [server, timeout] {
      return std::make_unique<http_remote>(server, timeout);
    };
  }
  context->open_source = std::move(hooks.open_source);
  if (!context->open_source)
    context->open_source = [](const std::string& url) { return storage::open_source(url); };
  context->retry = hooks.retry.value_or(sync::retry_settings{});
  return context;
}

} // namespace

struct agent::impl {
  impl(config::agent_config config, agent_hooks hooks)
    : lock(config.state_dir),
      state(config.state_dir),
      metrics(registry.get()),
      context(make_context(std::move(config), std::move(hooks))) {
    context->state = &state;
    context->metrics = &metrics;
    context->stop = &stop;
    if (const auto& listen = context->config.metrics_listen)
      exposer = std::make_unique<metrics::metrics_exposer>(registry.shared(), listen->to_string());
    supervisor = spawn_supervisor(system, context);
  }

  ~impl() {
    stop.request_stop();
    caf::anon_send_exit(supervisor, caf::exit_reason::user_shutdown);
    supervisor = nullptr;
  }

  stop_signal stop;
  agent_lock lock;  // before the state store: a second agent must not even open it
  storage::state_store state;
  metrics::registry registry;
  metrics::agent_metrics metrics;
  std::unique_ptr<metrics::metrics_exposer> exposer;
  std::shared_ptr<agent_context> context;
  caf::actor_system_config system_config;
  caf::actor_system system{system_config};  // after its config: it keeps a reference
  caf::actor supervisor;
};

agent::agent(config::agent_config config, agent_hooks hooks)
  : impl_(std::make_unique<impl>(std::move(config), std::move(hooks))) {}

agent::~agent() = default;

agent_report agent::run_cycle(bool full_pass) {
  agent_report report;
  caf::scoped_actor self{impl_->system};
  self->request(impl_->supervisor, caf::infinite, cycle_atom::value, full_pass)
    .receive([&](agent_report& answer) { report = std::move(answer); },
             [&](const caf::error& error) {
               report.databases.push_back({"", {}, "supervisor: " + caf::to_string(error)});
             });
  for (const auto& database : report.databases)
    for (const auto& table : database.tables)
      if (table.rows_uploaded || table.rows_deleted)
        spdlog::info("{}.{}: {} uploaded={} deleted={} skipped={}", table.database, table.table,
                     to_string(table.state), table.rows_uploaded, table.rows_deleted,
                     table.skipped_rows);
  return report;
}

agent_report agent::run_once() {
  agent_report report = run_cycle(true);
  for (int cycle = 1; cycle < once_max_cycles && has_open_work(report); ++cycle) {
    if (impl_->stop.stop_requested())
      break;
    report = run_cycle(true);
  }
  return report;
}

void agent::run() {
  const auto& config = impl_->context->config;
  spdlog::info("agent: {} databases, a cycle every {} ms", config.databases.size(),
               config.interval.count());
  while (!impl_->stop.stop_requested()) {
    run_cycle(false);
    if (impl_->stop.wait_for(config.interval))
      break;
  }
  spdlog::info("agent: stopped");
}

void agent::stop() { impl_->stop.request_stop(); }

std::optional<std::uint16_t> agent::metrics_port() const {
  if (!impl_->exposer)
    return std::nullopt;
  return impl_->exposer->port();
}

} // namespace tidesync::actors
