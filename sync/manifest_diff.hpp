#pragma once

#include "sync/row_position.hpp"
#include "sync/scan_window.hpp"

#include <vector>

namespace tidesync::sync {

/// What one differencing batch has to repair on the remote side.
struct manifest_diff {
  /// Keys to delete remotely, in remote `(version, key)` order.
  std::vector<row_key> remote_deletes;
  /// Local rows to upload (their key and local version), in local order.
  std::vector<row_position> uploads;

  bool empty() const { return remote_deletes.empty() && uploads.empty(); }

  friend bool operator==(const manifest_diff&, const manifest_diff&) = default;
};

/// Compares a local batch with the remote manifest over the batch's window.
///
/// `local` holds the batch's rows as positions `(version, key)`; `remote` the
/// manifest entries fetched for `manifest_range(window)`. The rule:
///  - Only entries whose position lies inside `window` take part, on both
///    sides. The version range also returns remote rows at the boundary
///    versions whose keys lie before the window's start or after its end; they
///    belong to a neighbouring batch and are left alone. When the local batch
///    came back short, the window runs to the end of the table, so every
///    remote row after the batch's last position is inside it.
///  - A remote key inside the window that no local row inside the window has
///    → delete it remotely.
///  - A local key inside the window that no remote entry inside the window
///    has, or has at another version → upload it (uploads are upserts by key,
///    so this also repairs a remote copy sitting at a version outside the window).
///  - Same key, same version on both sides → nothing.
/// Keys match by the column types' comparison (integer "7" equals "07");
/// repeated keys count once.
///
/// A site row updated to a version beyond the window while its old remote copy
/// is inside it is deleted here and uploaded again when the scan, or the next
/// ahead cycle, reaches its new version.
manifest_diff diff_manifest(const std::vector<row_position>& local,
                            const std::vector<row_position>& remote, const scan_window& window,
                            const position_order& order);

} // namespace tidesync::sync
