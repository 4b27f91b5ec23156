#include "actors/supervisor.hpp"

#include "actors/database_actor.hpp"
#include "actors/messages.hpp"

#include <caf/all.hpp>

namespace tidesync::actors {

namespace {

struct supervisor_state {
  std::vector<caf::actor> databases;  // in config order
  static inline const char* name = "supervisor";
};

using supervisor_self = caf::stateful_actor<supervisor_state>;

caf::result<agent_report> run_cycle(supervisor_self* self, bool full_pass) {
  const auto& databases = self->state.databases;
  if (databases.empty())
    return agent_report{};
  auto promise = self->make_response_promise<agent_report>();
  auto collected = std::make_shared<agent_report>();
  collected->databases.resize(databases.size());
  auto remaining = std::make_shared<std::size_t>(databases.size());
  for (std::size_t i = 0; i < databases.size(); ++i) {
    auto finish = [=](database_report result) mutable {
      collected->databases[i] = std::move(result);
      if (--*remaining == 0)
        promise.deliver(*collected);
    };
    self->request(databases[i], caf::infinite, cycle_atom::value, full_pass)
      .then([=](const database_report& result) mutable { finish(result); },
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
    [=](cycle_atom, bool full_pass) { return run_cycle(self, full_pass); },
  };
}

} // namespace

caf::actor spawn_supervisor(caf::actor_system& system,
                            std::shared_ptr<const agent_context> context) {
  return system.spawn(supervisor, std::move(context));
}

} // namespace tidesync::actors
