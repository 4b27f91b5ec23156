#pragma once

#include <cstdint>
#include <string>

namespace tidesync::testing {

/// The tidesync objects on a PostgreSQL table, as a catalog query sees them.
struct tracking_catalog {
  std::int64_t version_triggers = 0;
  std::int64_t notify_triggers = 0;
  std::int64_t valid_indexes = 0;  // not counting the primary key
  std::int64_t invalid_indexes = 0;
  std::int64_t checks = 0;
  bool not_null = false;
  bool has_default = false;
  std::int64_t unversioned = 0;  // rows whose tidesync_version is NULL
};

/// Reads what prepare installed on `table` (version column tidesync_version).
tracking_catalog read_tracking(const std::string& url, const std::string& table);

/// Checks that `table` is prepared to the end: one of each trigger, one valid
/// index and no invalid one, no check left, NOT NULL, every row versioned,
/// and nothing left for prepare to plan.
void expect_fully_prepared(const std::string& url, const std::string& table);

} // namespace tidesync::testing
