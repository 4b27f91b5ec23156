#pragma once

#include "actors/agent_context.hpp"

#include <caf/fwd.hpp>

#include <memory>

namespace tidesync::actors {

/// Spawns the supervisor: one database actor per configured database. It
/// answers `(cycle_atom, bool full_pass)` with an agent_report once every
/// database has finished its cycle; after `schedule_atom` every database
/// (restarted ones too) runs its own cycle every interval.
caf::actor spawn_supervisor(caf::actor_system& system, std::shared_ptr<const agent_context> context);

} // namespace tidesync::actors
