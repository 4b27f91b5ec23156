#pragma once

#include "storage/source.hpp"

#include <string>
#include <vector>

namespace tidesync::storage {

// What `tidesync prepare` installs in a source database so every row carries
// a version that grows with each write:
//
// PostgreSQL: a bigint version column (NOT NULL once backfilled), the trigger
// function tidesync_set_version() and a BEFORE INSERT OR UPDATE trigger
// `tidesync_version` per table that sets the column to the writing
// transaction's id (pg_current_xact_id()), and an index on (version, key).
// A statement trigger `tidesync_notify` per table (function
// tidesync_notify()) sends NOTIFY on version_notify_channel with the table's
// name as payload, so a listening agent wakes when a change commits.
//
// SQLite: a one-row counter table tidesync_counter, an INTEGER version
// column, AFTER INSERT / AFTER UPDATE triggers that bump the counter and
// stamp the row with it, and an index on (version, key).
//
// Existing rows without a version get one (all the same) in the same run.

/// The LISTEN/NOTIFY channel PostgreSQL sources announce their changes on.
inline constexpr const char* version_notify_channel = "tidesync";

/// The statements that bring version tracking for `tables` up to date in the
/// database at `url` (postgresql:// or sqlite:///), in the order they would
/// run. Empty when everything is in place, so a second prepare changes
/// nothing. Throws storage_error (e.g. not_found for a missing table).
std::vector<std::string> plan_version_tracking(const std::string& url,
                                               const std::vector<table_ref>& tables);

/// Plans and runs the statements in one transaction; returns what it ran.
std::vector<std::string> apply_version_tracking(const std::string& url,
                                                const std::vector<table_ref>& tables);

} // namespace tidesync::storage
