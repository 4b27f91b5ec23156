#pragma once

#include "actors/agent_context.hpp"

#include <caf/fwd.hpp>

#include <cstddef>
#include <memory>

namespace tidesync::actors {

/// Spawns the actor of the configured database number `index`, linked to
/// `parent`. It spawns a table actor and a batch-size actor per table, and
/// starts them again after a backoff when they fail; on each `(cycle_atom,
/// bool full_pass)` it registers the database if its id is not yet known and
/// reads every table's remote summary in one request (a blocking_pool job),
/// runs the tables' cycles, at most `engine.max_connections` at once, and
/// answers a database_report.
caf::actor spawn_database_actor(caf::event_based_actor& parent,
                                std::shared_ptr<const agent_context> context, std::size_t index);

} // namespace tidesync::actors
