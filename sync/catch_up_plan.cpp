#include "sync/catch_up_plan.hpp"

#include "sync/decision.hpp"

namespace tidesync::sync {

namespace {

/// True when the ahead cursor still describes this table's upload progress.
bool cursor_is_current(const row_position& last_uploaded, const protocol::table_version& local,
                       const protocol::table_version& remote) {
  // A cursor past the site's own newest version predates a restore on the site.
  if (!has_rows(local) || last_uploaded.version > *local.max_version)
    return false;
  return !has_rows(remote) || last_uploaded.version >= *remote.max_version;
}

} // namespace

std::optional<page_start> upload_start(const protocol::table_version& local,
                                       const protocol::table_version& remote,
                                       const std::optional<row_position>& last_uploaded) {
  if (last_uploaded && cursor_is_current(*last_uploaded, local, remote))
    return page_start{last_uploaded->version, last_uploaded->key};
  if (has_rows(remote))
    return page_start{*remote.max_version, std::nullopt};
  return std::nullopt;
}

remote_delete behind_delete(const protocol::table_version& local) {
  if (!has_rows(local))
    return remote_delete{.all = true};
  return remote_delete{.above_version = *local.max_version};
}

} // namespace tidesync::sync
