#pragma once

#include "storage/source.hpp"

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace tidesync::storage {

// What `tidesync prepare` installs in a source database so every row carries
// a version that grows with each write:
//
// PostgreSQL: a bigint NOT NULL version column, the trigger function
// tidesync_set_version() and a BEFORE INSERT OR UPDATE trigger
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
// Preparing is a list of steps, each short enough not to hold up the site's
// own writers (see docs/operations.md, "Preparing a live site"): on
// PostgreSQL every lock that conflicts with writes is asked for with a short
// lock_timeout and retried with backoff, existing rows are versioned in small
// batches and the index is built concurrently. A prepare killed at any point
// and run again picks up where it stopped.

/// The LISTEN/NOTIFY channel PostgreSQL sources announce their changes on.
inline constexpr const char* version_notify_channel = "tidesync";

/// How a tracking step runs.
enum class step_mode {
  transaction,  // its statements in one short transaction, locks asked with lock_timeout
  unbounded,    // each statement on its own, free to wait: its locks don't block writes
  backfill,     // the statement runs in small batches, each its own transaction
};

/// One step of preparing (or removing) version tracking, as --dry-run prints it.
struct tracking_step {
  std::string table;  // empty: the database as a whole
  std::string summary;
  step_mode mode = step_mode::transaction;
  std::vector<std::string> statements;
  std::int64_t rows = 0;  // backfill: rows without a version when planned
};

/// Receives one line of progress or waiting about `table` (empty: the database).
using tracking_progress =
  std::function<void(const std::string& table, const std::string& message)>;

/// The steps that bring version tracking for `tables` up to date in the
/// database at `url` (postgresql:// or sqlite:///), in the order they would
/// run. Empty when everything is in place, so a second prepare changes
/// nothing. Changes nothing. Throws storage_error (e.g. not_found for a
/// missing table) before any step of any table is planned to run.
std::vector<tracking_step> plan_tracking_steps(const std::string& url,
                                               const std::vector<table_ref>& tables);

/// What an operator must know about the database at `url` before its tables
/// are prepared, a line each: on PostgreSQL, that a server which allows
/// two-phase commit needs notification off for the sessions that PREPARE.
/// Empty for SQLite and for most servers.
std::vector<std::string> tracking_warnings(const std::string& url);

/// The statements of plan_tracking_steps, flattened, in the order they would run.
std::vector<std::string> plan_version_tracking(const std::string& url,
                                               const std::vector<table_ref>& tables);

/// Plans and runs every step to the end (waiting as long as the site's locks
/// need); returns the statements it ran, as plan_version_tracking would list
/// them. What a step finished stays done if a later one fails.
std::vector<std::string> apply_version_tracking(const std::string& url,
                                                const std::vector<table_ref>& tables,
                                                const tracking_progress& progress = {});

/// What `tidesync unprepare` removes.
struct removal_options {
  bool drop_columns = false;  // also drop the version columns
};

/// The steps that remove what prepare installed for `tables`: triggers, the
/// index, a left-over check constraint, the shared functions (PostgreSQL) or
/// counter table (SQLite) once no table uses them, and with drop_columns the
/// version column. Empty when nothing is left to remove.
std::vector<tracking_step> plan_tracking_removal(const std::string& url,
                                                 const std::vector<table_ref>& tables,
                                                 const removal_options& options);

/// Plans and runs the removal; returns the statements it ran.
std::vector<std::string> apply_tracking_removal(const std::string& url,
                                                const std::vector<table_ref>& tables,
                                                const removal_options& options,
                                                const tracking_progress& progress = {});

} // namespace tidesync::storage
