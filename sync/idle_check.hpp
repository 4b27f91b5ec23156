#pragma once

// The idle cycle's rule: when a table may be left unread because nothing can
// have changed since a check that found it quiet.

#include "protocol/table_version.hpp"

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace tidesync::sync {

using idle_clock = std::chrono::steady_clock;

/// What the last full check of a table started from, kept when that check
/// found the table quiet: summaries equal, nothing sent, deleted or
/// repaired, nothing under way.
struct quiet_table {
  /// The table's change token, read before the check began.
  std::string token;
  /// The transactions holding a write lock on the table then (sorted): each
  /// may have moved the token already and commit after the check read.
  std::vector<std::string> writers;
  /// The server's summary the check started from.
  protocol::table_version remote;
  idle_clock::time_point checked_at;
};

/// What a cycle knows before it reads anything of the table.
struct idle_view {
  std::optional<std::string> token;           // none: the table has no counter
  std::vector<std::string> writers;           // sorted
  std::optional<protocol::table_version> remote;
  idle_clock::time_point now;
};

/// True when the cycle may leave the table unread: its token is the one the
/// quiet check started from (nothing was written since), every writer of
/// that time still holds its lock (none can have committed a write the
/// check did not see), the server's summary is the one the check saw (no
/// restore, no other writer), and the check is younger than `recheck_after`
/// (what no counter shows, like a renamed column, waits at most that long).
bool may_skip(const quiet_table& last, const idle_view& now,
              idle_clock::duration recheck_after);

} // namespace tidesync::sync
