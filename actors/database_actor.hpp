#pragma once

#include "actors/agent_context.hpp"
#include "actors/messages.hpp"

#include <caf/fwd.hpp>
#include <caf/replies_to.hpp>

#include <cstddef>
#include <memory>

namespace tidesync::actors {

struct database_listing;

/// A database actor's messages, checked when sent: a cycle of every table
/// or of the selected ones, answered by the database's report; `schedule`
/// (run your own cycles from now on); and what it sends itself: `tick` (its
/// next own cycle), `restart` (a table actor, after its backoff), `done`
/// (the listing its pool job read).
using database_actor_hdl =
    caf::typed_actor<caf::replies_to<cycle_atom, bool>::with<database_report>,
                     caf::replies_to<cycle_atom, bool, table_selection>::with<database_report>,
                     caf::reacts_to<schedule_atom>, caf::reacts_to<tick_atom>,
                     caf::reacts_to<restart_atom, std::size_t>,
                     caf::reacts_to<done_atom, std::shared_ptr<database_listing>>>;

/// Spawns the actor of the configured database number `index`, linked to
/// `parent`. It spawns a table actor and a batch-size actor per table, and
/// starts them again after a backoff when they fail; on each `(cycle_atom,
/// bool full_pass)` it registers the database if its id is not yet known and
/// reads every table's remote summary in one request (a blocking_pool job),
/// runs the tables' cycles, at most `engine.max_connections` at once, and
/// answers a database_report.
database_actor_hdl spawn_database_actor(caf::local_actor& parent,
                                        std::shared_ptr<const agent_context> context,
                                        std::size_t index);

} // namespace tidesync::actors
