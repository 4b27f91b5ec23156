#include "actors/database_actor.hpp"

#include "actors/batch_size_actor.hpp"
#include "actors/blocking_pool.hpp"
#include "actors/messages.hpp"
#include "actors/restart_backoff.hpp"
#include "actors/table_actor.hpp"
#include "metrics/agent_metrics.hpp"
#include "protocol/site_report.hpp"
#include "storage/state_store.hpp"
#include "sync/cycle_schedule.hpp"
#include "sync/idle_check.hpp"

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <deque>
#include <map>
#include <random>

namespace tidesync::actors {

namespace {


// Attempts at a database-level call within one cycle; the next cycle tries again.
constexpr unsigned database_call_attempts = 4;

// How long an idle table goes unread at most: what no change counter shows
// (a renamed column, a counter someone reset) is found within this, and a
// content-digest pass that falls due starts within it.
constexpr std::chrono::minutes idle_recheck{5};

/// A database's report as its actor built it, rendered again for every
/// attempt of the listing request: the in-sync age grows by the time since,
/// so a retried or queued request never claims a later moment than the
/// checks it stands for.
struct timed_report {
  std::optional<protocol::site_report> report;  // none without metrics
  double built_at = 0;                          // metrics::boot_seconds()

  std::string header() const {
    if (!report)
      return {};
    auto aged = *report;
    if (aged.in_sync_age)
      *aged.in_sync_age += std::max(0.0, metrics::boot_seconds() - built_at);
    return protocol::to_header_value(aged);
  }
};

/// The database's side of the server: registration and the summaries. Used
/// by one blocking job at a time (cycles of a database never overlap).
struct database_link {
  std::shared_ptr<const agent_context> context;
  const config::database_config* config = nullptr;
  pooled_remote remote;
  std::mt19937_64 random{std::random_device{}()};
  /// The id as last read or registered: an idle cycle reads no state.
  std::optional<std::string> known_id{};
  /// Why the last registration or listing failed, for the tables' error counters.
  call_status failure{};

  /// The database's id on the server, registering it on first contact.
  std::optional<std::string> database_id(database_report& report);
  /// Every table's remote summary in one request, carrying `site_report`
  /// (how the tables stand here); re-registers once when the server no
  /// longer knows the saved id.
  table_listing summaries(std::string& id, const timed_report& site_report,
                          database_report& report);

  /// Calls `call` again after a backoff while it fails transiently, a few times.
  template <class Call>
  auto with_retry(const char* what, Call call);
};

template <class Call>
auto database_link::with_retry(const char* what, Call call) {
  for (unsigned attempt = 1;; ++attempt) {
    auto answer = call();
    if (answer.status.result != call_result::transient || attempt >= database_call_attempts)
      return answer;
    std::uniform_real_distribution<double> draw{0.0, 1.0};
    auto delay = sync::retry_delay(attempt, answer.status.retry_after, draw(random),
                                   context->retry);
    spdlog::log(attempt == 1 ? spdlog::level::warn : spdlog::level::debug,
                "{}: {} failed ({}), retrying in {} ms", config->name, what,
                answer.status.message, delay.count());
    if (context->stop->wait_for(delay))
      return answer;
  }
}

std::optional<std::string> database_link::database_id(database_report& report) {
  const auto& name = config->name;
  if (known_id)
    return known_id;
  // An empty id is how state files written before clear_database_id forgot one.
  if (auto id = context->state->database_id(name); id && !id->empty())
    return known_id = id;
  auto answer = with_retry("register", [&] { return remote.register_database(name); });
  if (!answer.status.ok()) {
    failure = answer.status;
    report.error = "register database: " + answer.status.message;
    spdlog::warn("{}: registering the database failed: {}", name, answer.status.message);
    return std::nullopt;
  }
  context->state->set_database_id(name, answer.value);
  spdlog::info("{}: registered on the server as {}", name, answer.value);
  return known_id = answer.value;
}

table_listing database_link::summaries(std::string& id, const timed_report& site_report,
                                       database_report& report) {
  auto answer =
    with_retry("list tables", [&] { return remote.list_tables(id, site_report.header()); });
  if (answer.status.http_status == 404 || answer.status.http_status == 403) {
    // The server lost or never had this id (e.g. a new store): register again.
    context->state->clear_database_id(config->name);
    known_id.reset();
    auto fresh = database_id(report);
    if (!fresh)
      return nullptr;
    id = *fresh;
    answer =
      with_retry("list tables", [&] { return remote.list_tables(id, site_report.header()); });
  }
  if (!answer.status.ok()) {
    failure = answer.status;
    report.error = "list tables: " + answer.status.message;
    spdlog::warn("{}: reading the table summaries failed: {}", config->name,
                 answer.status.message);
    return nullptr;
  }
  return answer.value;
}

// Without the database's id or summaries no table can run its cycle; each is
// reported failed with the database's error, so --once still has a line per table.
database_report with_every_table_failed(database_report report,
                                        const config::database_config& config) {
  for (const auto& table : config.tables)
    report.tables.push_back(
      table_report{report.database, table.name, table_state::error, 0, 0, 0, false, report.error,
                   {}});
  return report;
}

} // namespace

/// What the blocking part of a cycle found: the id and every summary, or
/// the error in `report`; and the tables' change counters when they could be
/// read (not for a full pass, which reads every table anyway).
struct database_listing {
  database_report report;
  std::string id;
  table_listing summaries;  // null when they could not be read
  call_status failure;      // why, when they could not
  std::optional<storage::change_marks> marks;
  sync::idle_clock::time_point listed_at;
};

namespace {

// The one local query of an idle cycle. Unreadable counters only cost that
// cycle its shortcut: every table is read, and says what is wrong.
std::optional<storage::change_marks> read_marks(source_pool& sources,
                                                const config::database_config& config) {
  std::vector<storage::table_ref> tables;
  for (const auto& table : config.tables)
    tables.push_back({table.name, table.key, table.version_column, table.modified_column, {}});
  std::optional<source_pool::loan> source;
  try {
    source.emplace(sources.borrow());
    return (*source)->read_change_marks(tables);
  } catch (const storage::storage_error& e) {
    if (source && e.code() == storage::storage_errc::unavailable)
      source->discard();
    spdlog::debug("{}: change counters unreadable, reading every table: {}", config.name,
                  e.what());
  }
  return std::nullopt;
}

} // namespace
} // namespace tidesync::actors

// Passed from a pool job to its database actor, within this process only.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::shared_ptr<tidesync::actors::database_listing>)

namespace tidesync::actors {
namespace {
/// One table's actor and its batch-size actor; both null while it waits to
/// be started again after a failure.
struct table_child {
  table_actor_hdl table;
  batch_size_actor_hdl sizer;
  restart_backoff backoff;
  /// Set while the table's last check found it quiet: what that check saw.
  std::optional<sync::quiet_table> quiet;
  metrics::table_metrics* metrics = nullptr;  // the table's series; null without metrics
};

/// The cycle under way: which tables are still to start, the report so far.
struct database_cycle {
  /// Who asked for the cycle; none for one of the database's own.
  std::optional<caf::response_promise> promise;
  bool full_pass = false;
  std::optional<table_selection> only;
  database_report report;
  std::string id;
  table_listing summaries;
  std::optional<storage::change_marks> marks;
  sync::idle_clock::time_point listed_at;
  std::chrono::steady_clock::time_point began = std::chrono::steady_clock::now();
  double listed_unix_seconds = 0;  // the same moment, for the last-success gauges
  std::deque<std::size_t> waiting;  // tables (config index) not yet started
  std::size_t running = 0;
  std::size_t remaining = 0;
};

struct database_actor_state {
  std::shared_ptr<const agent_context> context;
  const config::database_config* config = nullptr;
  std::size_t index = 0;  // in the agent's config
  std::shared_ptr<database_link> link;
  std::shared_ptr<source_pool> sources;
  std::vector<table_child> tables;  // in config order
  std::optional<database_cycle> cycle;
  metrics::database_metrics* metrics = nullptr;  // the database's series; null without metrics
  bool told_missing_counters = false;
  /// Set once the database runs its own cycles: they start at this time
  /// plus whole intervals.
  std::optional<sync::idle_clock::time_point> anchor;
  static inline const char* name = "database_actor";
};

using database_self = database_actor_hdl::stateful_pointer<database_actor_state>;
using database_behavior = database_actor_hdl::behavior_type;

database_behavior idle(database_self self);
database_behavior listing(database_self self);

void start_table(database_self self, std::size_t i) {
  auto& state = self->state;
  const auto& bounds = state.context->config.batch;
  sync::batch_size_bounds sizes{static_cast<std::size_t>(bounds.min),
                                static_cast<std::size_t>(bounds.initial),
                                static_cast<std::size_t>(bounds.max)};
  const auto& table = state.config->tables[i];
  auto& child = state.tables[i];
  child.sizer = spawn_batch_size_actor(*self, sizes, state.context->state, state.config->name,
                                       table.name, state.context->pool);
  child.table = spawn_table_actor(*self, state.context, *state.config, table, state.sources,
                                  child.sizer);
}

// A child ended: unless the database is shutting down, its table is started
// again after a backoff, and the rest keeps syncing.
void child_ended(database_self self, const caf::exit_msg& msg) {
  auto& state = self->state;
  for (std::size_t i = 0; i < state.tables.size(); ++i) {
    auto& child = state.tables[i];
    if (msg.source != child.table.address() && msg.source != child.sizer.address())
      continue;
    // The survivor of the pair goes too: the table actor holds its sizer.
    auto end_survivor = [&](const auto& other) {
      if (other && other.address() != msg.source) {
        self->unlink_from(other);
        self->send_exit(other, caf::exit_reason::kill);
      }
    };
    end_survivor(child.table);
    end_survivor(child.sizer);
    child.table = nullptr;
    child.sizer = nullptr;
    child.quiet.reset();
    if (child.metrics) {
      child.metrics->add_restart();
      child.metrics->set_phase(metrics::table_phase::error);
    }
    auto delay = child.backoff.next(state.context->restart_first, state.context->restart_max);
    spdlog::error("{}.{}: table actor failed ({}); starting it again in {} ms",
                  state.config->name, state.config->tables[i].name, caf::to_string(msg.reason),
                  delay.count());
    self->delayed_send(self, delay, restart_atom::value, i);
    return;
  }
  // Not a child: the parent ends this actor.
  self->quit(msg.reason);
}

void finish_table(database_self self, std::size_t slot, table_report report);

// The next of the database's own cycles (sync/cycle_schedule).
void schedule_tick(database_self self) {
  auto& state = self->state;
  const auto now = sync::idle_clock::now();
  const auto next = sync::next_start(
    *state.anchor, now,
    std::chrono::duration_cast<sync::idle_clock::duration>(state.context->config.interval));
  self->delayed_send(self, next - now, tick_atom::value);
}

// A cycle's report goes to whoever asked for it; after one of the
// database's own, its changes are logged and the next one is scheduled.
void end_cycle(database_self self, database_report report) {
  auto& state = self->state;
  if (state.metrics) {
    state.metrics->observe_cycle_seconds(
      std::chrono::duration<double>(std::chrono::steady_clock::now() - state.cycle->began).count());
    state.metrics->set_source_connections_busy(state.sources->lent());
  }
  auto promise = std::move(state.cycle->promise);
  state.cycle.reset();
  self->become(idle(self));
  if (promise) {
    promise->deliver(std::move(report));
    return;
  }
  log_work(report);
  schedule_tick(self);
}

const std::vector<std::string>& writers_of(const storage::change_marks& marks,
                                           const std::string& table) {
  static const std::vector<std::string> none;
  auto found = marks.writers.find(table);
  return found == marks.writers.end() ? none : found->second;
}

// A check that found its table quiet is what the next cycles compare with;
// any other outcome has the table read again next cycle.
void remember_quiet(database_self self, std::size_t i, const table_report& result) {
  auto& state = self->state;
  auto& cycle = *state.cycle;
  auto& child = state.tables[i];
  const auto& name = state.config->tables[i].name;
  child.quiet.reset();
  if (!result.quiet || !cycle.marks)
    return;
  auto token = cycle.marks->tokens.find(name);
  auto remote = cycle.summaries->find(state.config->tables[i].remote());
  if (token == cycle.marks->tokens.end() || remote == cycle.summaries->end())
    return;
  child.quiet = sync::quiet_table{token->second, writers_of(*cycle.marks, name), remote->second,
                                  cycle.listed_at};
}

// A quiet table whose counter, writers and server summary say nothing can
// have changed is reported in sync without a read: an idle cycle costs the
// database's one request and one local query.
bool skip_unchanged(database_self self, std::size_t i) {
  auto& state = self->state;
  auto& cycle = *state.cycle;
  auto& child = state.tables[i];
  if (cycle.full_pass || !cycle.marks || !child.table || !child.quiet)
    return false;
  const auto& name = state.config->tables[i].name;
  sync::idle_view view;
  if (auto token = cycle.marks->tokens.find(name); token != cycle.marks->tokens.end())
    view.token = token->second;
  view.writers = writers_of(*cycle.marks, name);
  if (auto remote = cycle.summaries->find(state.config->tables[i].remote());
      remote != cycle.summaries->end())
    view.remote = remote->second;
  view.now = cycle.listed_at;
  auto recheck = std::min<sync::idle_clock::duration>(idle_recheck,
                                                      state.context->config.verify_interval);
  if (!sync::may_skip(*child.quiet, view, recheck))
    return false;
  // Only someone who asked for the cycle reads its report; the database's
  // own cycles log what was sent and drop the rest.
  if (cycle.promise) {
    table_report report;
    report.database = cycle.report.database;
    report.table = name;
    report.state = table_state::in_sync;
    report.quiet = true;
    report.unread = true;
    cycle.report.tables.push_back(std::move(report));
  }
  if (child.metrics) {
    child.metrics->set_last_success(cycle.listed_unix_seconds);
    child.metrics->set_equal(cycle.listed_at);  // the marks were read after listed_at
  }
  return true;
}

// Once per process: which tables can't take the idle shortcut, and why.
void tell_missing_counters(database_self self) {
  auto& state = self->state;
  const auto& marks = state.cycle->marks;
  if (state.told_missing_counters || !marks)
    return;
  std::vector<std::string> missing;
  for (const auto& table : state.config->tables)
    if (!marks->tokens.contains(table.name))
      missing.push_back(table.name);
  if (missing.empty())
    return;
  state.told_missing_counters = true;
  std::string names;
  for (std::size_t k = 0; k < missing.size() && k < 5; ++k)
    names += (k ? ", " : "") + missing[k];
  if (missing.size() > 5)
    names += ", …";
  spdlog::info("{}: {} of {} tables have no change counter ({}), so every cycle reads them: "
               "`tidesync prepare` installs it on tables it prepared before (a partitioned "
               "table has none; the agent needs SELECT on the counters)",
               state.config->name, missing.size(), state.config->tables.size(), names);
}

// Starts waiting tables while fewer than max_connections run (a database's
// tables share that many source connections), and answers the cycle once
// every table has.
void start_waiting_tables(database_self self) {
  auto& state = self->state;
  auto& cycle = *state.cycle;
  const auto limit = static_cast<std::size_t>(state.context->config.engine.max_connections);
  while (!cycle.waiting.empty() && cycle.running < limit) {
    const auto i = cycle.waiting.front();
    cycle.waiting.pop_front();
    const auto& table = state.config->tables[i];
    const auto& child = state.tables[i];
    if (!child.table) {
      cycle.report.tables.push_back(
        table_report{cycle.report.database, table.name, table_state::error, 0, 0, 0, false,
                     "table actor: restarting after a failure", {}});
      --cycle.remaining;
      continue;
    }
    const auto slot = cycle.report.tables.size();
    cycle.report.tables.emplace_back();
    ++cycle.running;
    table_cycle request{cycle.id, std::nullopt, cycle.full_pass};
    if (auto found = cycle.summaries->find(table.remote()); found != cycle.summaries->end())
      request.remote = found->second;
    self->request(child.table, caf::infinite, cycle_atom::value, request)
      .then(
        [=](table_report& result) {
          self->state.tables[i].backoff.reset();
          remember_quiet(self, i, result);
          finish_table(self, slot, std::move(result));
        },
        [=, name = table.name](const caf::error& error) {
          finish_table(self, slot,
                       table_report{self->state.cycle->report.database, name, table_state::error,
                                    0, 0, 0, false, "table actor: " + caf::to_string(error), {}});
        });
  }
  if (cycle.remaining == 0)
    end_cycle(self, std::move(cycle.report));
}

void finish_table(database_self self, std::size_t slot, table_report report) {
  auto& cycle = *self->state.cycle;
  cycle.report.tables[slot] = std::move(report);
  --cycle.running;
  --cycle.remaining;
  start_waiting_tables(self);
  if (self->state.metrics && self->state.cycle)
    self->state.metrics->set_source_connections_busy(self->state.sources->lent());
}

// How the database's tables stand, for the server's fleet view (the
// Tidesync-Report header of the listing request): counts, the largest lag
// and the worst lagging tables. Tables not compared yet (pending) count in
// `tables` only. Also how long ago the oldest check of an equal table began
// (the store's "in sync as of"), unless a table is still pending: nothing
// then says it is in sync. Empty without metrics.
timed_report site_report_of(const database_actor_state& state) {
  protocol::site_report report;
  std::vector<protocol::table_lag> lagging;
  const auto now = metrics::boot_seconds();
  bool pending = false;
  for (std::size_t i = 0; i < state.tables.size(); ++i) {
    auto* table = state.tables[i].metrics;
    if (table == nullptr)
      return {std::nullopt, now};
    ++report.tables;
    const auto phase = table->phase();
    pending = pending || phase == metrics::table_phase::pending;
    if (phase == metrics::table_phase::equal)
      report.in_sync_age =
        std::max(report.in_sync_age.value_or(0), table->seconds_since_equal());
    if (phase == metrics::table_phase::equal || phase == metrics::table_phase::pending)
      continue;
    ++report.not_equal;
    report.lag_seconds = std::max(report.lag_seconds, table->lag_seconds());
    report.lag_versions += table->lag_versions();
    lagging.push_back({state.config->tables[i].remote(), std::string{metrics::to_string(phase)},
                       table->lag_seconds(), table->lag_versions()});
  }
  const auto shown = std::min(lagging.size(), protocol::site_report_max_tables);
  std::partial_sort(lagging.begin(), lagging.begin() + static_cast<std::ptrdiff_t>(shown),
                    lagging.end(), [](const auto& a, const auto& b) {
                      return a.lag_seconds > b.lag_seconds;
                    });
  lagging.resize(shown);
  report.lagging = std::move(lagging);
  if (pending)
    report.in_sync_age.reset();
  return {std::move(report), now};
}

// The blocking part of a cycle (register, one summaries request) runs on the
// pool; its answer comes back as `(done_atom, database_listing)`.
void begin_cycle(database_self self, bool full_pass, std::optional<table_selection> only,
                 std::optional<caf::response_promise> promise) {
  auto& state = self->state;
  state.cycle.emplace();
  auto& cycle = *state.cycle;
  cycle.promise = std::move(promise);
  cycle.full_pass = full_pass;
  cycle.only = std::move(only);
  state.context->pool->post([me = caf::actor_cast<database_actor_hdl>(self), link = state.link,
                             sources = state.sources, full_pass,
                             site_report = site_report_of(state)] {
    auto listing = std::make_shared<database_listing>();
    listing->report.database = link->config->name;
    try {
      if (auto id = link->database_id(listing->report)) {
        listing->id = *id;
        listing->summaries = link->summaries(listing->id, site_report, listing->report);
      }
      // Read before any table's check begins, so a check sees every write
      // its marks count (or the writer is among the marks' writers).
      listing->listed_at = sync::idle_clock::now();
      if (listing->summaries && !full_pass)
        listing->marks = read_marks(*sources, *link->config);
    } catch (const std::exception& e) {
      listing->report.error = e.what();
      link->failure = call_status{call_result::failed, 0, e.what(), std::nullopt};
      spdlog::warn("{}: {}", link->config->name, e.what());
    }
    if (!listing->summaries)
      listing->failure = link->failure;
    caf::anon_send(me, done_atom::value, std::move(listing));
  });
  self->become(listing(self));
}

caf::result<database_report> asked_cycle(database_self self, bool full_pass,
                                         std::optional<table_selection> only) {
  auto promise = self->make_response_promise<database_report>();
  begin_cycle(self, full_pass, std::move(only), promise);
  return promise;
}

database_behavior idle(database_self self) {
  return {
    [=](cycle_atom, bool full_pass) { return asked_cycle(self, full_pass, std::nullopt); },
    [=](cycle_atom, bool full_pass, const table_selection& only) {
      return asked_cycle(self, full_pass, only);
    },
    // Only a cycle's own pool job sends this, while the actor is `listing`.
    [](done_atom, const std::shared_ptr<database_listing>&) {},
    [=](schedule_atom) {
      auto& state = self->state;
      if (state.anchor)
        return;
      // The first cycle at once, the next ones at the database's phase.
      const auto interval = std::chrono::duration_cast<sync::idle_clock::duration>(
        state.context->config.interval);
      state.anchor = sync::phase_anchor(sync::idle_clock::now(), interval,
                                        sync::phase_of(state.config->name, interval));
      self->send(self, tick_atom::value);
    },
    [=](tick_atom) {
      auto& state = self->state;
      if (state.context->metrics)
        state.context->metrics->add_cycle("interval");
      if (state.context->on_interval_cycle)
        state.context->on_interval_cycle();
      begin_cycle(self, false, std::nullopt, std::nullopt);
    },
    [=](restart_atom, std::size_t i) { start_table(self, i); },
  };
}

// Waiting for the listing, then for the tables; further cycles wait in the mailbox.
database_behavior listing(database_self self) {
  return {
    [=](done_atom, const std::shared_ptr<database_listing>& listing) {
      auto& state = self->state;
      auto& cycle = *state.cycle;
      if (!listing->summaries) {
        // No table could be compared: each shows the error and counts it.
        const auto& failure = listing->failure;
        const auto kind = reached_no_server(failure) ? metrics::error_kind::network
                                                     : metrics::error_kind::server;
        for (auto& child : state.tables) {
          if (!child.metrics)
            continue;
          child.metrics->add_error(kind);
          child.metrics->set_phase(metrics::table_phase::error);
        }
        // For `tidesync status`, off the scheduler's threads (written only
        // when it changes, so a long outage writes once).
        state.context->pool->post([context = state.context, config = state.config,
                                   error = listing->report.error] {
          try {
            for (const auto& table : config->tables)
              context->state->set_table_error(config->name, table.name, error);
          } catch (const std::exception& e) {
            spdlog::warn("{}: saving the tables' error for status failed: {}", config->name,
                         e.what());
          }
        });
        end_cycle(self, with_every_table_failed(std::move(listing->report), *state.config));
        return;
      }
      cycle.report = std::move(listing->report);
      cycle.id = listing->id;
      cycle.summaries = std::move(listing->summaries);
      cycle.marks = std::move(listing->marks);
      cycle.listed_at = listing->listed_at;
      cycle.listed_unix_seconds = std::chrono::duration<double>(
        std::chrono::system_clock::now().time_since_epoch()).count();
      tell_missing_counters(self);
      for (std::size_t i = 0; i < state.config->tables.size(); ++i)
        if ((!cycle.only || cycle.only->includes(state.index, i)) && !skip_unchanged(self, i))
          cycle.waiting.push_back(i);
      cycle.remaining = cycle.waiting.size();
      start_waiting_tables(self);
    },
    [=](restart_atom, std::size_t i) { start_table(self, i); },
    // Cycles and ticks that come meanwhile wait in the mailbox for `idle`.
    [](cycle_atom, bool) -> caf::result<database_report> { return caf::skip; },
    [](cycle_atom, bool, const table_selection&) -> caf::result<database_report> {
      return caf::skip;
    },
    [](schedule_atom) -> caf::result<void> { return caf::skip; },
    [](tick_atom) -> caf::result<void> { return caf::skip; },
  };
}

database_behavior database_actor(database_self self,
                                 std::shared_ptr<const agent_context> context, std::size_t index) {
  auto& state = self->state;
  state.context = std::move(context);
  state.config = &state.context->config.databases.at(index);
  state.index = index;
  state.link = std::make_shared<database_link>(
    database_link{state.context, state.config, pooled_remote{state.context->remotes}});
  auto open = state.context->open_source;
  // One connection stays open between cycles (an idle cycle needs no more);
  // others open while tables run side by side and close after.
  state.sources = std::make_shared<source_pool>(
    [open, url = state.config->source] { return open(url); },
    static_cast<std::size_t>(state.context->config.engine.max_connections), 1);
  state.tables.resize(state.config->tables.size());
  if (auto* all = state.context->metrics) {
    state.metrics = &all->add_database(state.config->name);
    for (std::size_t i = 0; i < state.tables.size(); ++i)
      state.tables[i].metrics = &all->add_table(state.config->name, state.config->tables[i].name);
  }
  for (std::size_t i = 0; i < state.tables.size(); ++i)
    start_table(self, i);
  self->set_exit_handler([=](caf::exit_msg& msg) { child_ended(self, msg); });
  return idle(self);
}

} // namespace

database_actor_hdl spawn_database_actor(caf::local_actor& parent,
                                        std::shared_ptr<const agent_context> context,
                                        std::size_t index) {
  return parent.spawn<caf::linked>(database_actor, std::move(context), index);
}

} // namespace tidesync::actors
