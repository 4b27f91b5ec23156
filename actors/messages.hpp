#pragma once

// The messages the agent's actors exchange.

#include "actors/table_report.hpp"
#include "actors/table_selection.hpp"
#include "sync/batch_outcome.hpp"

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/atom.hpp>

namespace tidesync::actors {

/// Run one cycle: to the supervisor and database actors with a `bool
/// full_pass` (every table) or a `bool full_pass, table_selection` (the
/// selected tables only), to a table actor with a `table_cycle`.
using cycle_atom = caf::atom_constant<caf::atom("cycle")>;

/// Ask a batch-size actor for the next batch size.
using next_size_atom = caf::atom_constant<caf::atom("next_size")>;

/// Ask a batch-size actor for the smallest batch size.
using min_size_atom = caf::atom_constant<caf::atom("min_size")>;

/// Tell a batch-size actor how a batch went (with a sync::batch_outcome).
using record_atom = caf::atom_constant<caf::atom("record")>;

/// From a blocking_pool job back to the actor that posted it: the work is
/// done (with its result), or it failed (with why).
using done_atom = caf::atom_constant<caf::atom("done")>;
using failed_atom = caf::atom_constant<caf::atom("failed")>;

/// To itself: save the batch history now (batch-size actor); start a child
/// again after its backoff (supervisor, database actor, with its index).
using save_atom = caf::atom_constant<caf::atom("save")>;
using restart_atom = caf::atom_constant<caf::atom("restart")>;

/// Run continuously: to the supervisor, which passes it to every database
/// actor; each then runs its own cycle every `interval` (tick_atom, to
/// itself), at a phase of its own, without waiting for the others.
using schedule_atom = caf::atom_constant<caf::atom("schedule")>;
using tick_atom = caf::atom_constant<caf::atom("tick")>;

} // namespace tidesync::actors

// Local messages only: the agent never sends these over the network.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(tidesync::actors::table_cycle)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(tidesync::actors::table_selection)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(tidesync::actors::table_report)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(tidesync::actors::database_report)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(tidesync::actors::agent_report)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(tidesync::sync::batch_outcome)
