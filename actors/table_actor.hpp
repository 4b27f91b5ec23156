#pragma once

#include "actors/agent_context.hpp"
#include "actors/batch_size_actor.hpp"
#include "actors/table_sync.hpp"

#include <caf/fwd.hpp>

#include <memory>

namespace tidesync::actors {

/// A table actor's messages, checked when sent: a cycle, answered by its
/// report; and the answer of the pool job that ran it (`done` with the
/// report, `failed` with why), which the actor sends to itself.
using table_actor_hdl =
    caf::typed_actor<caf::replies_to<cycle_atom, table_cycle>::with<table_report>,
                     caf::reacts_to<done_atom, table_report>,
                     caf::reacts_to<failed_atom, std::string>>;

/// Spawns the actor of `table` (of the configured database `database`),
/// linked to `parent`. Its behaviour is its state: `idle` answers a
/// `(cycle_atom, table_cycle)` by posting the blocking table_sync cycle to the
/// agent's blocking_pool and becomes `running`; `running` keeps further cycle
/// requests in the mailbox until the job's `done` arrives, then answers the
/// table_report and is `idle` again. A job that fails outright (an error no
/// cycle catches) ends the actor with that error, for its parent to restart.
/// Cycles borrow a connection from `sources`; batch sizes come from
/// `batch_size`, a batch-size actor.
table_actor_hdl
spawn_table_actor(caf::local_actor& parent, std::shared_ptr<const agent_context> context,
                  const config::database_config& database, const config::table_config& table,
                  std::shared_ptr<source_pool> sources, batch_size_actor_hdl batch_size);

} // namespace tidesync::actors
