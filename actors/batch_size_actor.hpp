#pragma once

#include "actors/batch_sizer.hpp"

#include <caf/fwd.hpp>

#include <memory>
#include <string>

namespace tidesync::actors {

class blocking_pool;

/// Spawns a table's batch-size actor, linked to `parent`: it records every
/// upload outcome in a policy_batch_sizer and answers the next size. The
/// history is saved in the state store (a job on `pool`) at most once a
/// second, a second after an outcome arrives. `state` may be null.
caf::actor spawn_batch_size_actor(caf::event_based_actor& parent, sync::batch_size_bounds bounds,
                                  storage::state_store* state, const std::string& database,
                                  const std::string& table, blocking_pool* pool);

/// A batch_sizer that asks `actor` (a batch-size actor) and waits for the
/// answer; outcomes are sent without waiting. For code on a blocking_pool
/// worker, which may block.
std::unique_ptr<batch_sizer> make_actor_batch_sizer(caf::actor_system& system, caf::actor actor);

} // namespace tidesync::actors
