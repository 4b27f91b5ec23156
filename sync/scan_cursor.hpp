#pragma once

#include "sync/row_position.hpp"
#include "sync/scan_window.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tidesync::sync {

/// Where a table's differencing scan stands: the last position a batch
/// covered. Each batch reads the rows after it; a batch that reaches the end
/// of the table sends the cursor back to the beginning, one pass completed.
/// Kept in the state store as a string so a restart continues the pass.
class scan_cursor {
public:
  /// A cursor at the beginning of the table.
  scan_cursor() = default;

  /// Where the next batch starts, exclusive; no value means the beginning.
  const std::optional<row_position>& window_start() const { return last_; }

  /// The window the local `batch` read from `window_start()` covers.
  scan_window window_for(const std::vector<row_position>& batch, std::size_t requested,
                         const position_order& order) const;

  /// Moves past a finished batch's window. Returns true when the window ran
  /// to the end of the table and the cursor wrapped to the beginning.
  bool advance(const scan_window& covered);

  /// Back to the beginning without counting a pass (e.g. after a restore on
  /// the site made the old position meaningless).
  void reset() { last_.reset(); }

  /// Full passes over the table since the cursor was created.
  std::uint64_t passes() const { return passes_; }

  /// Text for the state store; `from_string` reads it back.
  std::string to_string() const;

  /// Parses `to_string()`'s text; std::nullopt when it is malformed, in which
  /// case the caller starts a fresh cursor.
  static std::optional<scan_cursor> from_string(std::string_view text);

  friend bool operator==(const scan_cursor&, const scan_cursor&) = default;

private:
  std::optional<row_position> last_;
  std::uint64_t passes_ = 0;
};

} // namespace tidesync::sync
