#include "actors/agent.hpp"

#include "actors/agent_lock.hpp"
#include "actors/blocking_pool.hpp"
#include "actors/change_set.hpp"
#include "actors/change_watcher.hpp"
#include "actors/http_remote.hpp"
#include "protocol/http_proxy.hpp"
#include "actors/messages.hpp"
#include "actors/metrics_endpoint.hpp"
#include "actors/supervisor.hpp"
#include "metrics/agent_metrics.hpp"
#include "metrics/registry.hpp"
#include "storage/state_store.hpp"

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#ifdef __GLIBC__
#include <malloc.h>
#endif

namespace tidesync::actors {

namespace {

// CAF's scheduler threads: the actors only pass messages and post blocking
// work to the pool, so two are plenty whatever the machine.
constexpr std::size_t scheduler_threads = 2;

caf::actor_system_config& engine_config(caf::actor_system_config& config) {
  config.set("scheduler.max-threads", scheduler_threads);
  // An idle scheduler thread spins on its queue 100 times, then polls it 500
  // times 50 µs apart, then waits on a condition variable that a message for
  // it signals, waking every 10 ms to look for work to steal
  // (caf/policy/work_stealing.hpp). Each database's cycle comes at its own
  // moment, many a second from a large site, so the threads would poll all
  // the time: they wait right after spinning instead (a message for a
  // sleeping thread wakes it at once), and wake on their own every 250 ms
  // (only stealing waits that long). Measured at 100 databases x 50 tables
  // idle: the 50 µs naps were a fifth of the agent's CPU.
  config.set("work-stealing.moderate-poll-attempts", std::size_t{0});
  config.set("work-stealing.relaxed-sleep-duration",
             caf::timespan{std::chrono::milliseconds(250)});
  return config;
}

// How often the state store's writer commits the tables' progress: a crash
// loses at most this much of it (work the next run redoes).
constexpr std::chrono::milliseconds state_commit_interval{250};

// How often a running agent hands the heap's free pages back to the system.
constexpr std::chrono::minutes free_memory_interval{1};

// Every pool worker and scheduler thread allocates from an arena of its own,
// and glibc returns an arena's free memory only from its top: the pages a
// cycle's pages and answers leave free in the middle stay counted in RSS,
// and an agent idling for hours creeps up. malloc_trim gives them back
// (milliseconds, once a minute).
void release_free_memory() {
#ifdef __GLIBC__
  malloc_trim(0);
#endif
}

// Full-pass cycles run_once tries before it reports what is still open.
constexpr int once_max_cycles = 3;

bool has_open_work(const agent_report& report) {
  for (const auto& database : report.databases)
    for (const auto& table : database.tables)
      if (table.state == table_state::syncing)
        return true;
  return false;
}

std::vector<std::size_t> tables_per_database(const config::agent_config& config) {
  std::vector<std::size_t> counts;
  for (const auto& database : config.databases)
    counts.push_back(database.tables.size());
  return counts;
}

// The tables that look once more after a cycle: every table a notification
// woke, and every table whose cycle moved rows. A site writer may commit
// without announcing it when its session announced another commit moments
// before (see tidesync_notify in storage/pg_tracking_plan.cpp); the second
// look, look_again_delay later, finds such a commit. A look that moves nothing ends it.
table_selection tables_to_look_at_again(const table_selection& notified,
                                        const agent_report& report,
                                        const config::agent_config& config) {
  auto again = notified;
  for (const auto& database : report.databases)
    for (std::size_t d = 0; d < config.databases.size(); ++d) {
      if (config.databases[d].name != database.database)
        continue;
      const auto& tables = config.databases[d].tables;
      for (const auto& table : database.tables)
        for (std::size_t t = 0; t < tables.size(); ++t)
          if (tables[t].name == table.table && (table.rows_uploaded || table.rows_deleted))
            again.add(d, t);
    }
  return again;
}

std::shared_ptr<agent_context> make_context(config::agent_config config, agent_hooks hooks) {
  auto context = std::make_shared<agent_context>();
  context->config = std::move(config);
  context->make_remote = std::move(hooks.make_remote);
  if (!context->make_remote) {
    auto server = context->config.server;
    auto timeout = context->config.request_timeout;
    auto compress = context->config.compress;
    auto listings = std::make_shared<listing_cache>();
    context->make_remote = [server, timeout, compress, listings] {
      return std::make_unique<http_remote>(server, timeout, compress, listings);
    };
  }
  context->open_source = std::move(hooks.open_source);
  if (!context->open_source)
    context->open_source = [](const std::string& url) { return storage::open_source(url); };
  context->retry = hooks.retry.value_or(sync::retry_settings{});
  if (hooks.restart_first)
    context->restart_first = *hooks.restart_first;
  if (hooks.progress_every)
    context->progress_every = *hooks.progress_every;
  context->coding = std::make_shared<body_coding>(context->config.compress);
  context->remotes = std::make_shared<remote_pool>(
    context->make_remote, static_cast<std::size_t>(context->config.engine.max_in_flight));
  return context;
}

} // namespace

struct agent::impl {
  impl(config::agent_config config, agent_hooks hooks)
    : lock(config.state_dir),
      proxy(server_proxy(config.server)),
      state(config.state_dir),
      metrics(registry.get()),
      on_cycle(std::move(hooks.on_cycle)),
      context(make_context(std::move(config), std::move(hooks))),
      changes(tables_per_database(context->config)) {
    // Tables' progress is committed together by the state store's writer,
    // not a transaction per table per cycle.
    state.write_behind(state_commit_interval, [this](const std::exception& e) {
      metrics.add_state_store_error();
      spdlog::error("agent: saving table progress failed, keeping it to try again: {}", e.what());
    });
    context->state = &state;
    context->metrics = &metrics;
    context->stop = &stop;
    context->pool = pool.get();
    context->uploads = uploads.get();
    if (on_cycle)
      context->on_interval_cycle = [hook = on_cycle] { hook(cycle_reason::interval); };
    // Every configured table's series exist, at 0, before its first cycle.
    for (const auto& database : context->config.databases)
      for (const auto& table : database.tables)
        metrics.add_table(database.name, table.name);
    auto load_of = [](const blocking_pool& jobs) {
      return metrics::pool_load{jobs.busy(), jobs.queued()};
    };
    metrics.watch_pool("source", [this, load_of] { return load_of(*pool); });
    metrics.watch_pool("upload", [this, load_of] { return load_of(*uploads); });
    if (const auto& listen = context->config.metrics_listen)
      exposer = std::make_unique<metrics_endpoint>(listen->to_string(),
                                                   [this] { return metrics.render(); });
    supervisor = spawn_supervisor(system, context);
  }

  agent_report cycle(bool full_pass, const table_selection* only);
  /// Starts the change watcher when `notify` is on; null when off or it failed.
  std::unique_ptr<change_watcher> watch_changes();

  ~impl() {
    exposer.reset();  // a scrape reads the pools, which go below
    stop.request_stop();
    caf::anon_send_exit(supervisor, caf::exit_reason::user_shutdown);
    supervisor = nullptr;
    // Actors post to the pool until they are gone, and the pool's jobs send
    // to actors: the actors end first, then the pool finishes its running
    // jobs (their messages to ended actors are dropped), then the system.
    system.await_all_actors_done();
    pool.reset();
    uploads.reset();  // after the cycles that wait for them
    try {
      state.flush();
    } catch (const std::exception& e) {
      spdlog::error("agent: saving table progress failed as it stopped: {}", e.what());
    }
  }

  stop_signal stop;
  agent_lock lock;  // before the state store: a second agent must not even open it
  /// The proxy to the server, if any; checked before anything starts.
  std::optional<std::string> proxy;
  storage::state_store state;
  metrics::registry registry;
  metrics::agent_metrics metrics;
  std::unique_ptr<metrics_endpoint> exposer;
  std::function<void(cycle_reason)> on_cycle;
  std::shared_ptr<agent_context> context;
  change_set changes;
  caf::actor_system_config system_config;
  caf::actor_system system{engine_config(system_config)};  // after its config: it keeps a reference
  // Reset by ~impl between the actors' end and the system's (see there).
  std::unique_ptr<blocking_pool> uploads = std::make_unique<blocking_pool>(
    static_cast<std::size_t>(context->config.engine.max_in_flight), "ts-upload");
  std::unique_ptr<blocking_pool> pool =
    std::make_unique<blocking_pool>(static_cast<std::size_t>(context->config.engine.workers));
  supervisor_hdl supervisor;
};

agent::agent(config::agent_config config, agent_hooks hooks)
  : impl_(std::make_unique<impl>(std::move(config), std::move(hooks))) {}

agent::~agent() = default;

agent_report agent::impl::cycle(bool full_pass, const table_selection* only) {
  agent_report report;
  caf::scoped_actor self{system};
  auto request = only != nullptr
                   ? self->request(supervisor, caf::infinite, cycle_atom::value, full_pass, *only)
                   : self->request(supervisor, caf::infinite, cycle_atom::value, full_pass);
  std::move(request).receive([&](agent_report& answer) { report = std::move(answer); },
             [&](const caf::error& error) {
               report.databases.push_back({"", {}, "supervisor: " + caf::to_string(error)});
             });
  for (const auto& database : report.databases)
    log_work(database);
  return report;
}

std::unique_ptr<change_watcher> agent::impl::watch_changes() {
  if (!context->config.notify)
    return nullptr;
  try {
    return start_change_watcher(context->config, changes, &metrics);
  } catch (const std::exception& e) {
    spdlog::error("agent: change notification can't start ({}); cycles every interval only",
                  e.what());
    return nullptr;
  }
}

agent_report agent::run_cycle(bool full_pass) { return impl_->cycle(full_pass, nullptr); }

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
  using clock = change_set::clock;
  auto& d = *impl_;
  const auto& config = d.context->config;
  if (d.proxy)
    spdlog::info("agent: server {} through proxy {}", config.server.url,
                 protocol::parse_proxy_url(*d.proxy).shown);
  spdlog::info("agent: {} databases, a cycle every {} ms{}", config.databases.size(),
               config.interval.count(), config.notify ? " and on committed changes" : "");
  // Every database runs its own cycle every interval, at a phase of its
  // own: a slow or locked database delays only its own tables.
  caf::anon_send(d.supervisor, schedule_atom::value);
  auto watcher = d.watch_changes();
  const auto stopped = [&d] { return d.stop.stop_requested(); };
  const auto none = table_selection::none(tables_per_database(config));
  auto last_start = clock::time_point{};
  auto last_notified_start = clock::time_point{};
  auto look_again = none;
  auto next_release = clock::now() + free_memory_interval;
  for (;;) {
    // The gap runs from the last cycle a notification woke, so a look again
    // does not hold back the next change; a look again from the last cycle.
    const auto look_again_at = last_start + look_again_delay;
    d.changes.wait(last_notified_start + notify_cycle_gap,
                   look_again.any() ? std::min(look_again_at, next_release) : next_release,
                   stopped);
    if (stopped())
      break;
    if (clock::now() >= next_release) {
      release_free_memory();
      next_release = clock::now() + free_memory_interval;
    }
    const auto notified = d.changes.take();
    if (!notified.any() && (!look_again.any() || clock::now() < look_again_at))
      continue;
    last_start = clock::now();
    if (notified.any())
      last_notified_start = last_start;
    auto selected = look_again;
    selected.add_all(notified);
    d.metrics.add_cycle("change");
    if (d.on_cycle)
      d.on_cycle(cycle_reason::change);
    auto report = d.cycle(false, &selected);
    look_again = watcher ? tables_to_look_at_again(notified, report, config) : none;
  }
  watcher.reset();  // joins its thread, closes its connections
  spdlog::debug("agent: cycles stopped");
}

void agent::stop() {
  impl_->stop.request_stop();
  impl_->changes.interrupt();
}

metrics::agent_totals agent::progress() const { return impl_->metrics.totals(); }

std::optional<std::uint16_t> agent::metrics_port() const {
  if (!impl_->exposer)
    return std::nullopt;
  return impl_->exposer->port();
}

} // namespace tidesync::actors
