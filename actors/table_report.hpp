#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/table_version.hpp"

namespace tidesync::actors {

/// Where a table stood at the end of a cycle.
enum class table_state {
  /// Local and remote summaries match and nothing is skipped.
  in_sync,
  /// Work is left for a later cycle (or the cycle was stopped).
  syncing,
  /// Caught up except for rows the server rejected.
  skipped,
  /// The cycle failed; `error` says why.
  error,
};

/// Stable lower-case name ("in_sync", "syncing", "skipped", "error").
std::string_view to_string(table_state state);

/// A row held back at the site or rejected by the server, as a report names it.
struct skipped_row_note {
  std::string key;     // the state store's key: wire cells, or {"site_key":[…]}
  std::string reason;  // why it can't be sent
};

/// What one table's cycle did, for `--once`'s summary and for tests.
struct table_report {
  std::string database;
  std::string table;
  table_state state = table_state::syncing;
  std::int64_t rows_uploaded = 0;
  std::int64_t rows_deleted = 0;
  /// Rows currently held as skipped (after this cycle's retry).
  std::int64_t skipped_rows = 0;
  /// True when a differencing pass over the whole table finished in this cycle.
  bool scan_pass_completed = false;
  std::string error;
  /// The oldest few of the skipped rows (at most 10), each with its key and reason.
  std::vector<skipped_row_note> skipped;
  /// True when a content-digest pass over the whole table finished in this cycle.
  bool digest_pass_completed = false;
  /// Rows the digest pass found missing, extra or different in the cloud.
  std::int64_t rows_repaired = 0;
  /// In sync with nothing sent, deleted or repaired and nothing under way (no
  /// content-digest pass part done): until its change counter moves, the
  /// next cycles may leave the table unread.
  bool quiet = false;
  /// Left unread this cycle: quiet before, and its change counter, writers
  /// and server summary say nothing changed since.
  bool unread = false;
};

/// One database's tables after a cycle, plus a database-level error (e.g. the
/// server refused to register it).
struct database_report {
  std::string database;
  std::vector<table_report> tables;
  std::string error;
};

/// One info line per table of `report` that uploaded or deleted rows.
void log_work(const database_report& report);

/// Every table of every database after a cycle.
struct agent_report {
  std::vector<database_report> databases;

  /// True when every table is in sync and no database failed.
  bool all_in_sync() const;

  /// One line per table: database, table, state, uploaded, deleted, skipped;
  /// then one line per skipped row the report names (key and reason).
  std::string summary_lines() const;
};

/// What the database actor hands a table actor each cycle.
struct table_cycle {
  /// The server's id of the database.
  std::string database_id;
  /// The table's remote summary from the database's one listing request;
  /// std::nullopt when the server has no copy of the table yet.
  std::optional<protocol::table_version> remote;
  /// True for `--once`: catch up, then run one full differencing pass.
  bool full_pass = false;
};

} // namespace tidesync::actors
