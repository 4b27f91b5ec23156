#pragma once

#include "actors/batch_sizer.hpp"
#include "actors/messages.hpp"

#include <caf/fwd.hpp>
#include <caf/replies_to.hpp>

#include <memory>
#include <string>

namespace tidesync::actors {

class blocking_pool;

/// A batch-size actor's messages, checked when sent: the next and the
/// smallest batch size, an upload's outcome, and `save` (its own timer).
using batch_size_actor_hdl =
    caf::typed_actor<caf::replies_to<next_size_atom>::with<std::size_t>,
                     caf::replies_to<min_size_atom>::with<std::size_t>,
                     caf::reacts_to<record_atom, sync::batch_outcome>, caf::reacts_to<save_atom>>;

/// Spawns a table's batch-size actor, linked to `parent`: it records every
/// upload outcome in a policy_batch_sizer and answers the next size. The
/// history is saved in the state store (a job on `pool`) at most once a
/// second, a second after an outcome arrives. `state` may be null.
batch_size_actor_hdl spawn_batch_size_actor(caf::local_actor& parent,
                                            sync::batch_size_bounds bounds,
                                            storage::state_store* state,
                                            const std::string& database, const std::string& table,
                                            blocking_pool* pool);

/// A batch_sizer that asks `actor` (a batch-size actor) and waits for the
/// answer; outcomes are sent without waiting. For code on a blocking_pool
/// worker, which may block.
std::unique_ptr<batch_sizer> make_actor_batch_sizer(caf::actor_system& system,
                                                    batch_size_actor_hdl actor);

} // namespace tidesync::actors
