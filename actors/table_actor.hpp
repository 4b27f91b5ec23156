#pragma once

#include "actors/agent_context.hpp"

#include <caf/fwd.hpp>

#include <memory>

namespace tidesync::actors {

/// Spawns the detached actor of `table` (of the configured database
/// `database`): it owns its source connection, its server client and a
/// table_sync, and answers each `(cycle_atom, table_cycle)` with a
/// table_report. Its batch sizes come from `batch_size`, a batch-size actor.
caf::actor spawn_table_actor(caf::event_based_actor& parent,
                             std::shared_ptr<const agent_context> context,
                             const config::database_config& database,
                             const config::table_config& table, caf::actor batch_size);

} // namespace tidesync::actors
