#pragma once

#include "protocol/table_version.hpp"

#include <string_view>

namespace tidesync::sync {

/// What a table's cycle does after comparing the local and the remote summary.
enum class sync_decision {
  /// Count, max_version and max_modified all match: no further calls.
  equal,
  /// Same max_version but the counts or max_modified differ: a differencing scan
  /// walks the table batch by batch and repairs what the manifests disagree on.
  scan,
  /// The site has rows newer than the cloud: upload rows above the remote version.
  ahead,
  /// The cloud has versions the site no longer has (e.g. the site restored a backup):
  /// delete remote rows above the local version, or all of them when the site is empty.
  behind,
};

/// False when `summary` describes an empty table: a count of 0 or no max_version.
bool has_rows(const protocol::table_version& summary);

/// Decides a cycle from the two `(count, max_version, max_modified)` summaries.
///
/// Rules, first match wins (a summary is empty when its count is 0 or it has no
/// max_version):
///  1. both empty, or all three fields equal    → equal
///  2. local empty, remote not                  → behind (delete everything remote)
///  3. remote empty, local not                  → ahead (upload everything)
///  4. local max_version > remote max_version   → ahead
///  5. local max_version < remote max_version   → behind
///  6. versions equal, count or modified differ → scan
///
/// `local` should already be capped at the source's safe watermark, so a
/// transaction still in flight is never counted as present.
sync_decision decide(const protocol::table_version& local, const protocol::table_version& remote);

/// Stable lower-case name of a decision ("equal", "scan", "ahead", "behind") for
/// logs and metric labels.
std::string_view to_string(sync_decision decision);

} // namespace tidesync::sync
