#pragma once

// Internal to storage/: what the PostgreSQL halves of version tracking
// (planning, running, removal) share.

#include "storage/tracking_sql.hpp"

#include <string>
#include <string_view>

namespace tidesync::storage::detail {

/// "PostgreSQL database NAME": the URL's database, never its credentials.
std::string pg_label(const std::string& url);

/// Inside a catch block: rethrows the current exception as a storage_error
/// whose message names `label` and `context`.
[[noreturn]] void rethrow_pg_error(const std::string& label, std::string_view context);

/// The backfill batch: versions the rows without one in a ctid range ($1, $2).
/// A backfill step's second statement finds the page of a row still left.
std::string pg_backfill_batch_sql(const table_ref& ref);

} // namespace tidesync::storage::detail
