#pragma once

// How prepare and unprepare print their steps and progress.

#include "storage/version_tracking.hpp"

#include <ostream>
#include <string>
#include <vector>

namespace tidesync::app {

/// `-- DATABASE: N steps`, then per step a `-- table: summary` line and its SQL.
void print_steps(std::ostream& out, const std::string& database,
                 const std::vector<storage::tracking_step>& steps);

/// Prints progress as `DATABASE: TABLE: message` lines on stdout, flushed.
storage::tracking_progress progress_printer(const std::string& database);

} // namespace tidesync::app
