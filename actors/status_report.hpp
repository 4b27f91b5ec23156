#pragma once

#include "config/agent_config.hpp"
#include "protocol/column_refusal.hpp"
#include "protocol/table_version.hpp"
#include "sync/decision.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tidesync::actors {

/// Where the server stands on a table, as `tidesync status` sees it.
enum class remote_state { declared, not_declared, not_registered, failed };

/// Stable lower-case words ("declared", "not declared", "not registered", "error").
std::string_view to_string(remote_state state);

/// A table's skipped rows, as the state store holds them.
struct skipped_summary {
  std::int64_t count = 0;
  std::string oldest_reason;
};

/// How the running agent sees a table (read from its `metrics.listen`).
struct running_view {
  std::string state;          // pending, equal, ahead, behind, scanning, quarantined, error
  double lag_seconds = 0;     // since last known equal, as of its last cycle
  double last_success = 0;    // Unix time of its last error-free cycle; 0: none yet
  std::int64_t errors = 0;    // failures counted since the agent started, every kind
};

/// How one configured table stands: both summaries and what the agent would do next.
struct table_status {
  std::string database;
  std::string table;
  std::string remote_table;  // its name in the cloud (`remote_name`, else `table`)
  std::optional<protocol::table_version> local;
  std::optional<protocol::table_version> remote;
  remote_state remote_is = remote_state::failed;
  /// std::nullopt when either summary is missing.
  std::optional<sync::sync_decision> decision;
  skipped_summary skipped;
  /// Columns the server refused at the last declaration: the site has them,
  /// the cloud copy does not get them. The other columns still sync.
  std::vector<protocol::refused_column> not_replicated;
  std::string error;  // why the local or remote summary is missing
  /// The running agent's view; std::nullopt when none answered.
  std::optional<running_view> running;
  /// Why the agent's last cycle of the table failed, and since when (from
  /// the state file); empty while its cycles end well.
  std::string agent_error;
  std::string agent_error_since;
};

/// Versions the cloud copy lacks (local max_version less the remote's), 0
/// when it lacks none; std::nullopt without both summaries.
std::optional<std::int64_t> lag_versions(const table_status& status);

/// True when the table is declared, equal on both sides, error-free and skips nothing.
bool in_sync(const table_status& status);

/// Every configured table's status, in configuration order.
struct status_report {
  std::vector<table_status> tables;
  /// What could not be read ("store-01: source: …"), each said once.
  std::vector<std::string> problems;
  /// Why the state file could not be read; std::nullopt when it could.
  std::optional<std::string> state_error;
  /// Whether a running agent answered on `metrics.listen` ("" when no
  /// address is configured): "running" or why not.
  std::string agent;
};

/// Collects the status of every table in `config`, read-only: the saved state
/// (`state_store::read_snapshot`), one `GET …/tables` per registered database
/// (never registers), each table's local summary, and, when `metrics.listen`
/// is set, the running agent's own view of each table from its `/metrics`.
/// An unreadable state file, source or server becomes `state_error`,
/// `problems` and per-table errors.
status_report collect_status(const config::agent_config& config);

} // namespace tidesync::actors
