#include "actors/table_actor.hpp"

#include "actors/batch_size_actor.hpp"
#include "actors/messages.hpp"
#include "actors/table_sync.hpp"

#include <caf/all.hpp>

namespace tidesync::actors {

namespace {

/// What a table actor owns; the sizer outlives the table_sync that points to it.
struct table_parts {
  std::unique_ptr<batch_sizer> sizer;
  std::unique_ptr<table_sync> sync;
};

struct table_actor_state {
  std::shared_ptr<table_parts> parts;
  static inline const char* name = "table_actor";
};

caf::behavior table_actor(caf::stateful_actor<table_actor_state>* self,
                          std::shared_ptr<table_parts> parts) {
  self->state.parts = std::move(parts);
  return {
    [=](cycle_atom, const table_cycle& cycle) -> table_report {
      return self->state.parts->sync->run_cycle(cycle);
    },
  };
}

} // namespace

caf::actor spawn_table_actor(caf::event_based_actor& parent,
                             std::shared_ptr<const agent_context> context,
                             const config::database_config& database,
                             const config::table_config& table, caf::actor batch_size) {
  auto parts = std::make_shared<table_parts>();
  parts->sizer = make_actor_batch_sizer(parent.home_system(), std::move(batch_size));
  table_sync_parts sync_parts;
  sync_parts.database = database.name;
  sync_parts.table = table;
  sync_parts.open_source = [context, url = database.source] { return context->open_source(url); };
  sync_parts.remote = context->make_remote();
  sync_parts.sizer = parts->sizer.get();
  sync_parts.state = context->state;
  sync_parts.metrics = context->metrics;
  sync_parts.stop = context->stop;
  sync_parts.retry = context->retry;
  sync_parts.verify_interval = context->config.verify_interval;
  parts->sync = std::make_unique<table_sync>(std::move(sync_parts));
  // Detached: every cycle blocks on the source and the server.
  return parent.spawn<caf::detached + caf::linked>(table_actor, std::move(parts));
}

} // namespace tidesync::actors
