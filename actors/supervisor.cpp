#include "actors/supervisor.hpp"

#include "actors/database_actor.hpp"
#include "actors/messages.hpp"

#include <caf/all.hpp>

#include <optional>

namespace tidesync::actors {

namespace {

struct supervisor_state {
  std::vector<caf::actor> databases;  // in config order
  static inline const char* name = "supervisor";
};

using supervisor_self = caf::stateful_actor<supervisor_state>;

// Runs the cycle of the selected tables (every table without a selection);
// a database with none selected is not asked and not reported.
caf::result<agent_report> run_cycle(supervisor_self* self, bool full_pass,
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
    auto request = only ? self->request(self->state.databases[asked[i]], caf::infinite,
                                        cycle_atom::value, full_pass, *only)
                        : self->request(self->state.databases[asked[i]], caf::infinite,
                                        cycle_atom::value, full_pass);
    std::move(request).then([=](const database_report& result) mutable { finish(result); },
            [=](const caf::error& error) mutable {
              finish(database_report{"", {}, "database actor: " + caf::to_string(error)});
            });
  }
  return promise;
}

caf::behavior supervisor(supervisor_self* self, std::shared_ptr<const agent_context> context) {
  for (std::size_t i = 0; i < context->config.databases.size(); ++i)
    self->state.databases.push_back(spawn_database_actor(*self, context, i));
  return {
    [=](cycle_atom, bool full_pass) { return run_cycle(self, full_pass, std::nullopt); },
    [=](cycle_atom, bool full_pass, const table_selection& only) {
      return run_cycle(self, full_pass, only);
    },
  };
}

} // namespace

caf::actor spawn_supervisor(caf::actor_system& system,
                            std::shared_ptr<const agent_context> context) {
  return system.spawn(supervisor, std::move(context));
}

} // namespace tidesync::actors
