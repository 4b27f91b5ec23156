#pragma once

#include "actors/agent_context.hpp"

#include <caf/fwd.hpp>

#include <cstddef>
#include <memory>

namespace tidesync::actors {

/// Spawns the detached actor of the configured database number `index`. It
/// spawns a table actor and a batch-size actor per table; on each `(cycle_atom,
/// bool full_pass)` it registers the database if its id is not yet known,
/// reads every table's remote summary in one request, runs every table's
/// cycle and answers a database_report.
caf::actor spawn_database_actor(caf::event_based_actor& parent,
                                std::shared_ptr<const agent_context> context, std::size_t index);

} // namespace tidesync::actors
