#pragma once

#include "actors/agent_context.hpp"
#include "actors/messages.hpp"

#include <caf/fwd.hpp>
#include <caf/replies_to.hpp>

#include <memory>

namespace tidesync::actors {

/// The supervisor's messages, checked when sent: a cycle of every table or
/// of the selected ones, answered by the agent's report; `schedule` (every
/// database runs its own cycles from now on); and `restart` (a database
/// actor, after its backoff), which it sends itself.
using supervisor_hdl =
    caf::typed_actor<caf::replies_to<cycle_atom, bool>::with<agent_report>,
                     caf::replies_to<cycle_atom, bool, table_selection>::with<agent_report>,
                     caf::reacts_to<schedule_atom>, caf::reacts_to<restart_atom, std::size_t>>;

/// Spawns the supervisor: one database actor per configured database. It
/// answers `(cycle_atom, bool full_pass)` with an agent_report once every
/// database has finished its cycle; after `schedule_atom` every database
/// (restarted ones too) runs its own cycle every interval.
supervisor_hdl spawn_supervisor(caf::actor_system& system,
                                std::shared_ptr<const agent_context> context);

} // namespace tidesync::actors
