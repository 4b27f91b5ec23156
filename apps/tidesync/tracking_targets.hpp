#pragma once

// What `tidesync prepare` and `tidesync unprepare` share: which databases and
// tables a command line names, and how their failures are reported.

#include "storage/source.hpp"

#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace tidesync::app {

/// A command line naming tables: --config FILE, or --source URL --table T...
struct tracking_request {
  std::string config_path;
  std::string source_url;
  std::vector<std::string> tables;
  std::optional<std::string> version_column;
  bool dry_run = false;
  bool drop_columns = false;  // unprepare only
};

/// One database to work on, as the output names it.
struct tracking_target {
  std::string name;
  std::string url;
  std::vector<storage::table_ref> tables;
};

/// A command line the command can't run; the message says what is wrong.
struct usage_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// Parses the options; `extra_flags` are the command's own flags without values
/// (e.g. "--drop-columns"); with `config_takes_tables`, --table narrows
/// --config to the tables named. Throws usage_error.
tracking_request parse_tracking_args(const std::vector<std::string>& args,
                                     const std::vector<std::string>& extra_flags,
                                     bool config_takes_tables);

/// The databases and tables the request names (the configuration is read
/// with local scope: the server's token need not be set).
std::vector<tracking_target> targets_of(const tracking_request& request);

/// `message` trimmed and starting with the target's name, for stderr.
std::string failure_line(const tracking_target& target, std::string message);

} // namespace tidesync::app
