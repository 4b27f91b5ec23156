#pragma once

#include "protocol/table_version.hpp"
#include "sync/row_position.hpp"

#include <cstdint>
#include <optional>

namespace tidesync::sync {

/// Where a page of local rows starts, exclusive: the page holds the rows after
/// `(version, key)`. Without a key the page starts after every row of
/// `version`, i.e. at `version + 1`.
struct page_start {
  std::int64_t version = 0;
  std::optional<row_key> key;

  friend bool operator==(const page_start&, const page_start&) = default;
};

/// Where the next upload batch of an `ahead` cycle starts; std::nullopt means
/// from the beginning of the table.
///
/// `last_uploaded` is the last position the ahead cycles uploaded or skipped.
/// Paging on the version alone would lose rows: one transaction's rows share a
/// version and may span several batches, and after the first of them the
/// remote max_version already equals that version. So the cursor is followed
/// while it is at or past the remote max_version (or the remote is empty) and
/// not past the local max_version; otherwise the batch starts after the remote
/// max_version. The caller resets `last_uploaded` whenever it deletes remote
/// rows (a `behind` cycle). When every row above the remote version was
/// skipped, the batch comes back empty: the table is caught up but for its
/// skipped rows.
std::optional<page_start> upload_start(const protocol::table_version& local,
                                       const protocol::table_version& remote,
                                       const std::optional<row_position>& last_uploaded);

/// The remote delete a `behind` cycle sends (the DELETE endpoint's two bulk forms).
struct remote_delete {
  /// `{"all": true}`: the site's table is empty.
  bool all = false;
  /// `{"above_version": V}` when not `all`.
  std::int64_t above_version = 0;

  friend bool operator==(const remote_delete&, const remote_delete&) = default;
};

/// Deletes every remote row above the local max_version, or every row when
/// the local table is empty.
remote_delete behind_delete(const protocol::table_version& local);

} // namespace tidesync::sync
