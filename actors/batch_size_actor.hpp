#pragma once

#include "actors/batch_sizer.hpp"

#include <caf/fwd.hpp>

#include <memory>
#include <string>

namespace tidesync::actors {

/// Spawns a table's batch-size actor: it records every upload outcome in a
/// policy_batch_sizer (history saved in the state store) and answers the next
/// size. `state` may be null.
caf::actor spawn_batch_size_actor(caf::event_based_actor& parent, sync::batch_size_bounds bounds,
                                  storage::state_store* state, const std::string& database,
                                  const std::string& table);

/// A batch_sizer that asks `actor` (a batch-size actor) and waits for the
/// answer. For a detached table actor, which may block.
std::unique_ptr<batch_sizer> make_actor_batch_sizer(caf::actor_system& system, caf::actor actor);

} // namespace tidesync::actors
