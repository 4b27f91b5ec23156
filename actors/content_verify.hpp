#pragma once

#include "config/agent_config.hpp"
#include "protocol/column_refusal.hpp"
#include "sync/content_diff.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tidesync::actors {

/// How a table's content compares with its cloud copy.
enum class content_state { identical, different, error };

/// Stable lower-case words ("identical", "different", "error").
std::string_view to_string(content_state state);

/// One table's verification by content digests.
struct table_verification {
  std::string database;
  std::string table;
  content_state state = content_state::error;
  std::int64_t site_rows = 0;
  std::int64_t cloud_rows = 0;
  sync::content_diff diff;  // keys in PostgreSQL text form
  /// Columns the server does not replicate for this table: left out of the
  /// comparison, as the agent leaves them out of its uploads.
  std::vector<protocol::refused_column> not_replicated;
  std::string error;
  double seconds = 0;
};

/// Which tables to verify: all when a name is not given.
struct verify_selection {
  std::optional<std::string> database;
  std::optional<std::string> table;
};

/// Compares every selected table's content at the site with the cloud copy
/// by content digests, read-only: the database ids come from the saved state
/// (never registers), nothing is repaired, and it may run next to an agent.
std::vector<table_verification> verify_content(const config::agent_config& config,
                                               const verify_selection& selection);

} // namespace tidesync::actors
