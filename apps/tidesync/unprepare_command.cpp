// tidesync unprepare: removes what prepare installed on the local tables.
#include "apps/tidesync/commands.hpp"

#include "apps/tidesync/tracking_output.hpp"
#include "apps/tidesync/tracking_targets.hpp"
#include "storage/version_tracking.hpp"

#include <algorithm>
#include <iostream>

namespace tidesync::app {

namespace {

constexpr const char* unprepare_usage =
  "usage: tidesync unprepare --config FILE [--table T ...] [--drop-columns] [--dry-run]\n"
  "       tidesync unprepare --source URL --table T [--table T2 ...] [--version-column C]\n"
  "                          [--drop-columns] [--dry-run]\n\n"
  "Removes the version tracking prepare installed: the triggers, the version index,\n"
  "the trigger functions (PostgreSQL) or the counter table (SQLite) once no table\n"
  "uses them, and with --drop-columns the version column too. Stop the agent first:\n"
  "a table without tracking can't be replicated. Running it again removes nothing.\n\n"
  "options:\n"
  "  --config FILE          the tables of the agent configuration (all, or those --table names)\n"
  "  --source URL           one database: postgresql://... or sqlite:///path/to/file.db\n"
  "  --table T              a table to remove tracking from (repeatable)\n"
  "  --version-column C     the version column of --source tables (default tidesync_version)\n"
  "  --drop-columns         also drop the version column and the versions it holds\n"
  "  --dry-run              print the SQL it would run and change nothing\n";

int unprepare_one(const tracking_target& target, const storage::removal_options& options,
                  bool dry_run) {
  auto steps = storage::plan_tracking_removal(target.url, target.tables, options);
  if (steps.empty()) {
    std::cout << (dry_run ? "-- " : "") << target.name << ": nothing to remove\n";
    return exit_ok;
  }
  if (dry_run) {
    print_steps(std::cout, target.name, steps);
    return exit_ok;
  }
  auto ran = storage::apply_tracking_removal(target.url, target.tables, options,
                                             progress_printer(target.name));
  std::cout << target.name << ": removed version tracking (" << ran.size()
            << (ran.size() == 1 ? " statement)\n" : " statements)\n");
  return exit_ok;
}

int unprepare_all(const std::vector<tracking_target>& targets,
                  const storage::removal_options& options, bool dry_run) {
  int status = exit_ok;
  for (const auto& target : targets) {
    try {
      unprepare_one(target, options, dry_run);
    } catch (const std::exception& e) {
      std::cout.flush();
      std::cerr << "tidesync unprepare: " << failure_line(target, e.what()) << "\n";
      status = exit_failure;
    }
  }
  return status;
}

} // namespace

int run_unprepare(const arguments& args) {
  if (std::find(args.begin(), args.end(), "--help") != args.end() ||
      std::find(args.begin(), args.end(), "-h") != args.end()) {
    std::cout << unprepare_usage;
    return exit_ok;
  }
  tracking_request request;
  try {
    request = parse_tracking_args(args, {"--drop-columns"}, true);
  } catch (const usage_error& e) {
    std::cerr << "tidesync unprepare: " << e.what() << "\n" << unprepare_usage;
    return exit_usage;
  }
  try {
    return unprepare_all(targets_of(request), {request.drop_columns}, request.dry_run);
  } catch (const std::exception& e) {
    std::cerr << "tidesync unprepare: " << e.what() << "\n";
    return exit_failure;
  }
}

} // namespace tidesync::app
