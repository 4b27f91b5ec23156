#include "actors/supervisor.hpp"

#include "actors/database_actor.hpp"
#include "actors/messages.hpp"
#include "actors/restart_backoff.hpp"
#include "metrics/agent_metrics.hpp"

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include <optional>

namespace tidesync::actors {

namespace {

struct supervisor_state {
  std::shared_ptr<const agent_context> context;
  std::vector<database_actor_hdl> databases;  // in config order; null while waiting to restart
  std::vector<restart_backoff> backoffs;
  bool scheduled = false;  // the databases run their own cycles
  static inline const char* name = "supervisor";
};

using supervisor_self = supervisor_hdl::stateful_pointer<supervisor_state>;

// Runs the cycle of the selected tables (every table without a selection);
// a database with none selected is not asked and not reported.
caf::result<agent_report> run_cycle(supervisor_self self, bool full_pass,
                                    std::optional<table_selection> only) {
  std::vector<std::size_t> asked;
  for (std::size_t i = 0; i < self->state.databases.size(); ++i)
    if (!only || only->any_in(i))
      asked.push_back(i);
  if (asked.empty())
    return agent_report{};
  auto promise = self->make_response_promise<agent_report>();
  auto collected = std::make_shared<agent_report>();
  collected->databases.resize(asked.size());
  auto remaining = std::make_shared<std::size_t>(asked.size());
  for (std::size_t i = 0; i < asked.size(); ++i) {
    auto finish = [=](database_report result) mutable {
      collected->databases[i] = std::move(result);
      if (--*remaining == 0)
        promise.deliver(*collected);
    };
    const auto& name = self->state.context->config.databases[asked[i]].name;
    if (!self->state.databases[asked[i]]) {
      finish(database_report{name, {}, "database actor: restarting after a failure"});
      continue;
    }
    auto request = only ? self->request(self->state.databases[asked[i]], caf::infinite,
                                        cycle_atom::value, full_pass, *only)
                        : self->request(self->state.databases[asked[i]], caf::infinite,
                                        cycle_atom::value, full_pass);
    std::move(request).then(
      [=, d = asked[i]](const database_report& result) mutable {
        self->state.backoffs[d].reset();
        finish(result);
      },
      [=](const caf::error& error) mutable {
        finish(database_report{name, {}, "database actor: " + caf::to_string(error)});
      });
  }
  return promise;
}

// A database actor ended: unless the agent is shutting down, it is started
// again after a backoff; the other databases keep syncing meanwhile.
void child_ended(supervisor_self self, const caf::exit_msg& msg) {
  auto& state = self->state;
  for (std::size_t i = 0; i < state.databases.size(); ++i) {
    if (!state.databases[i] || msg.source != state.databases[i].address())
      continue;
    state.databases[i] = nullptr;
    if (state.context->metrics)
      state.context->metrics->add_database(state.context->config.databases[i].name).add_restart();
    auto delay = state.backoffs[i].next(state.context->restart_first, state.context->restart_max);
    spdlog::error("{}: database actor failed ({}); starting it again in {} ms",
                  state.context->config.databases[i].name, caf::to_string(msg.reason),
                  delay.count());
    self->delayed_send(self, delay, restart_atom::value, i);
    return;
  }
  self->quit(msg.reason);
}

supervisor_hdl::behavior_type supervisor(supervisor_self self,
                                         std::shared_ptr<const agent_context> context) {
  self->state.context = context;
  for (std::size_t i = 0; i < context->config.databases.size(); ++i)
    self->state.databases.push_back(spawn_database_actor(*self, context, i));
  self->state.backoffs.resize(self->state.databases.size());
  self->set_exit_handler([=](caf::exit_msg& msg) { child_ended(self, msg); });
  return {
    [=](restart_atom, std::size_t i) {
      self->state.databases[i] = spawn_database_actor(*self, self->state.context, i);
      if (self->state.scheduled)
        self->send(self->state.databases[i], schedule_atom::value);
    },
    [=](schedule_atom) {
      self->state.scheduled = true;
      for (const auto& database : self->state.databases)
        if (database)
          self->send(database, schedule_atom::value);
    },
    [=](cycle_atom, bool full_pass) { return run_cycle(self, full_pass, std::nullopt); },
    [=](cycle_atom, bool full_pass, const table_selection& only) {
      return run_cycle(self, full_pass, only);
    },
  };
}

} // namespace

supervisor_hdl spawn_supervisor(caf::actor_system& system,
                                std::shared_ptr<const agent_context> context) {
  return system.spawn(supervisor, std::move(context));
}

} // namespace tidesync::actors
