#pragma once

#include "protocol/table_version.hpp"
#include "sync/row_position.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace tidesync::sync {

/// Where an ahead upload may resume after a restart: the last position the
/// server acknowledged, with the server's summary right after it. Pages go
/// one at a time in position order, so every row up to `acknowledged` is on
/// the server then. Kept in the state store while an upload runs, so a load
/// interrupted by a crash or a restart goes on after its last page instead of
/// after the server's maximum version (which, when one version spans many
/// pages, as a table `prepare` backfilled, would leave the rest to a scan).
struct upload_resume {
  row_position acknowledged;
  protocol::table_version remote;  // count and max_version after that page

  /// Text for the state store; `from_string` reads it back.
  std::string to_string() const;
  /// std::nullopt when `text` is not `to_string()`'s.
  static std::optional<upload_resume> from_string(std::string_view text);

  friend bool operator==(const upload_resume&, const upload_resume&) = default;
};

/// The position to resume after, when `resume` still describes `remote`:
/// the server holds at least the rows it held then (count and maximum
/// version no lower), so nothing up to the position can be missing unless
/// the cloud copy went back and grew again, which only this agent's uploads
/// could do. A lower count (a restore, rows deleted) voids it: the upload
/// then starts after the server's maximum, as without one.
std::optional<row_position> resume_position(const upload_resume& resume,
                                            const protocol::table_version& remote);

} // namespace tidesync::sync
