#include "actors/table_actor.hpp"

#include "actors/batch_size_actor.hpp"
#include "actors/blocking_pool.hpp"
#include "actors/messages.hpp"
#include "metrics/agent_metrics.hpp"

#include <caf/all.hpp>

namespace tidesync::actors {

namespace {

/// What a table actor owns; the sizer outlives the table_sync that points to
/// it. Shared with the job that runs a cycle, so an actor that ends mid-cycle
/// leaves the job something valid to finish with.
struct table_parts {
  std::unique_ptr<batch_sizer> sizer;
  std::unique_ptr<table_sync> sync;
};

struct table_actor_state {
  std::shared_ptr<table_parts> parts;
  blocking_pool* pool = nullptr;
  caf::response_promise pending;  // the cycle under way, while running
  static inline const char* name = "table_actor";
};

using table_self = table_actor_hdl::stateful_pointer<table_actor_state>;
using table_behavior = table_actor_hdl::behavior_type;

table_behavior running(table_self self);

table_behavior idle(table_self self) {
  return {
    [=](cycle_atom, const table_cycle& cycle) -> caf::result<table_report> {
      auto& state = self->state;
      state.pending = self->make_response_promise<table_report>();
      state.pool->post([me = caf::actor_cast<table_actor_hdl>(self), parts = state.parts, cycle] {
        try {
          caf::anon_send(me, done_atom::value, parts->sync->run_cycle(cycle));
        } catch (const std::exception& e) {
          caf::anon_send(me, failed_atom::value, std::string{e.what()});
        } catch (...) {
          caf::anon_send(me, failed_atom::value, std::string{"unknown error"});
        }
      });
      self->become(running(self));
      return state.pending;
    },
    // Only a running cycle's job sends these.
    [](done_atom, const table_report&) {},
    [](failed_atom, const std::string&) {},
  };
}

table_behavior running(table_self self) {
  return {
    // A cycle asked for while one runs waits in the mailbox for `idle`.
    [](cycle_atom, const table_cycle&) -> caf::result<table_report> { return caf::skip; },
    [=](done_atom, table_report& report) {
      self->state.pending.deliver(std::move(report));
      self->become(idle(self));
    },
    [=](failed_atom, const std::string& why) {
      auto error = caf::make_error(caf::sec::runtime_error, why);
      self->state.pending.deliver(error);
      self->quit(error);
    },
  };
}

table_behavior table_actor(table_self self, std::shared_ptr<table_parts> parts,
                           blocking_pool* pool) {
  self->state.parts = std::move(parts);
  self->state.pool = pool;
  return idle(self);
}

} // namespace

table_actor_hdl spawn_table_actor(caf::local_actor& parent,
                             std::shared_ptr<const agent_context> context,
                             const config::database_config& database,
                             const config::table_config& table,
                             std::shared_ptr<source_pool> sources,
                             batch_size_actor_hdl batch_size) {
  auto parts = std::make_shared<table_parts>();
  parts->sizer = make_actor_batch_sizer(parent.home_system(), std::move(batch_size));
  table_sync_parts sync_parts;
  sync_parts.database = database.name;
  sync_parts.table = table;
  sync_parts.sources = std::move(sources);
  sync_parts.remote = std::make_unique<pooled_remote>(context->remotes);
  sync_parts.uploads = context->uploads;
  sync_parts.coding = context->coding;
  sync_parts.sizer = parts->sizer.get();
  sync_parts.state = context->state;
  if (context->metrics)
    sync_parts.metrics = &context->metrics->add_table(database.name, table.name);
  sync_parts.stop = context->stop;
  sync_parts.retry = context->retry;
  sync_parts.verify_interval = context->config.verify_interval;
  sync_parts.progress_every = context->progress_every;
  parts->sync = std::make_unique<table_sync>(std::move(sync_parts));
  return parent.spawn<caf::linked>(table_actor, std::move(parts), context->pool);
}

} // namespace tidesync::actors
