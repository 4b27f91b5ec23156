#pragma once

#include "sync/row_position.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

namespace tidesync::sync {

/// The stretch of the `(version, key)` order one differencing batch covers:
/// every position strictly after `after` and up to and including `through`.
/// No `after` means from the beginning of the table; no `through` means to
/// the end of the table (the local batch came back short).
struct scan_window {
  std::optional<row_position> after;
  std::optional<row_position> through;

  /// True when `position` lies inside the window.
  bool contains(const row_position& position, const position_order& order) const;

  friend bool operator==(const scan_window&, const scan_window&) = default;
};

/// A version range with optional bounds, as the manifest endpoint takes it
/// (`min_version <= version <= max_version`; a missing bound is open).
struct version_range {
  std::optional<std::int64_t> min_version;
  std::optional<std::int64_t> max_version;

  friend bool operator==(const version_range&, const version_range&) = default;
};

/// The window a local batch covered. `after` is where the batch was read from
/// (exclusive); `batch` the rows it returned, `requested` how many were asked
/// for. A batch shorter than asked reached the end of the table, so its window
/// runs to the end; otherwise it ends at the batch's last position.
scan_window window_for_batch(const std::optional<row_position>& after,
                             const std::vector<row_position>& batch, std::size_t requested,
                             const position_order& order);

/// The versions to ask the remote manifest for so that every remote entry in
/// `window` comes back. It starts at the window's start version, not at the
/// batch's smallest version: remote rows between the previous batch and this
/// one belong to this window and must be seen to be deleted. Entries the range
/// returns outside the window (other keys at the boundary versions) are
/// filtered by `diff_manifest`.
version_range manifest_range(const scan_window& window);

} // namespace tidesync::sync
