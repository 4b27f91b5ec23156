#include "actors/database_actor.hpp"

#include "actors/batch_size_actor.hpp"
#include "actors/messages.hpp"
#include "actors/table_actor.hpp"
#include "storage/state_store.hpp"

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include <map>
#include <random>

namespace tidesync::actors {

namespace {

using table_summaries = std::map<std::string, protocol::table_version>;

// Attempts at a database-level call within one cycle; the next cycle tries again.
constexpr unsigned database_call_attempts = 4;

struct database_actor_state {
  std::shared_ptr<const agent_context> context;
  const config::database_config* config = nullptr;
  std::size_t index = 0;  // in the agent's config
  std::unique_ptr<remote_api> remote;
  std::vector<caf::actor> tables;  // in config order
  static inline const char* name = "database_actor";

  /// The database's id on the server, registering it on first contact.
  std::optional<std::string> database_id(database_report& report);
  /// Every table's remote summary in one request; re-registers once when the
  /// server no longer knows the saved id.
  std::optional<table_summaries> summaries(std::string& id, database_report& report);
  void forget_id();

  /// Calls `call` again after a backoff while it fails transiently, a few times.
  template <class Call>
  auto with_retry(const char* what, Call call);

  std::mt19937_64 random{std::random_device{}()};
};

template <class Call>
auto database_actor_state::with_retry(const char* what, Call call) {
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

std::optional<std::string> database_actor_state::database_id(database_report& report) {
  const auto& name = config->name;
  // An empty id is how state files written before clear_database_id forgot one.
  if (auto id = context->state->database_id(name); id && !id->empty())
    return id;
  auto answer = with_retry("register", [&] { return remote->register_database(name); });
  if (!answer.status.ok()) {
    report.error = "register database: " + answer.status.message;
    spdlog::warn("{}: registering the database failed: {}", name, answer.status.message);
    return std::nullopt;
  }
  context->state->set_database_id(name, answer.value);
  spdlog::info("{}: registered on the server as {}", name, answer.value);
  return answer.value;
}

std::optional<table_summaries> database_actor_state::summaries(std::string& id,
                                                               database_report& report) {
  auto answer = with_retry("list tables", [&] { return remote->list_tables(id); });
  if (answer.status.http_status == 404 || answer.status.http_status == 403) {
    // The server lost or never had this id (e.g. a new store): register again.
    forget_id();
    auto fresh = database_id(report);
    if (!fresh)
      return std::nullopt;
    id = *fresh;
    answer = with_retry("list tables", [&] { return remote->list_tables(id); });
  }
  if (!answer.status.ok()) {
    report.error = "list tables: " + answer.status.message;
    spdlog::warn("{}: reading the table summaries failed: {}", config->name,
                 answer.status.message);
    return std::nullopt;
  }
  return answer.value;
}

void database_actor_state::forget_id() {
  context->state->clear_database_id(config->name);
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

using database_self = caf::stateful_actor<database_actor_state>;

// Runs the cycle of the tables `only` selects (every table without it).
caf::result<database_report> run_cycle(database_self* self, bool full_pass,
                                       const table_selection* only) {
  auto& state = self->state;
  database_report report;
  report.database = state.config->name;
  auto id = state.database_id(report);
  if (!id)
    return with_every_table_failed(std::move(report), *state.config);
  auto remote = state.summaries(*id, report);
  if (!remote)
    return with_every_table_failed(std::move(report), *state.config);
  std::vector<std::size_t> asked;
  for (std::size_t i = 0; i < state.tables.size(); ++i)
    if (only == nullptr || only->includes(state.index, i))
      asked.push_back(i);
  if (asked.empty())
    return report;
  auto promise = self->make_response_promise<database_report>();
  auto collected = std::make_shared<database_report>(std::move(report));
  collected->tables.resize(asked.size());
  auto remaining = std::make_shared<std::size_t>(asked.size());
  for (std::size_t i = 0; i < asked.size(); ++i) {
    const auto& table = state.config->tables[asked[i]];
    table_cycle cycle{*id, std::nullopt, full_pass};
    if (auto found = remote->find(table.name); found != remote->end())
      cycle.remote = found->second;
    auto finish = [=](table_report result) mutable {
      collected->tables[i] = std::move(result);
      if (--*remaining == 0)
        promise.deliver(*collected);
    };
    self->request(state.tables[asked[i]], caf::infinite, cycle_atom::value, cycle)
      .then([=](const table_report& result) mutable { finish(result); },
            [=, name = table.name](const caf::error& error) mutable {
              finish(table_report{collected->database, name, table_state::error, 0, 0, 0, false,
                                  "table actor: " + caf::to_string(error), {}});
            });
  }
  return promise;
}

caf::behavior database_actor(database_self* self, std::shared_ptr<const agent_context> context,
                             std::size_t index) {
  auto& state = self->state;
  state.context = std::move(context);
  state.config = &state.context->config.databases.at(index);
  state.index = index;
  state.remote = state.context->make_remote();
  const auto& bounds = state.context->config.batch;
  sync::batch_size_bounds sizes{static_cast<std::size_t>(bounds.min),
                                static_cast<std::size_t>(bounds.initial),
                                static_cast<std::size_t>(bounds.max)};
  for (const auto& table : state.config->tables) {
    auto sizer = spawn_batch_size_actor(*self, sizes, state.context->state, state.config->name,
                                        table.name);
    state.tables.push_back(
      spawn_table_actor(*self, state.context, *state.config, table, std::move(sizer)));
  }
  return {
    [=](cycle_atom, bool full_pass) { return run_cycle(self, full_pass, nullptr); },
    [=](cycle_atom, bool full_pass, const table_selection& only) {
      return run_cycle(self, full_pass, &only);
    },
  };
}

} // namespace

caf::actor spawn_database_actor(caf::event_based_actor& parent,
                                std::shared_ptr<const agent_context> context, std::size_t index) {
  // Detached: registration and the summary request block on the server.
  return parent.spawn<caf::detached + caf::linked>(database_actor, std::move(context), index);
}

} // namespace tidesync::actors
