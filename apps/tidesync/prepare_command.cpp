// tidesync prepare: installs version tracking on the local tables the agent reads.
#include "apps/tidesync/commands.hpp"

#include "apps/tidesync/tracking_output.hpp"
#include "apps/tidesync/tracking_targets.hpp"
#include "storage/version_tracking.hpp"

#include <algorithm>
#include <iostream>

namespace tidesync::app {

namespace {

constexpr const char* prepare_usage =
  "usage: tidesync prepare --config FILE [--dry-run]\n"
  "       tidesync prepare --source URL --table T [--table T2 ...] [--version-column C]\n"
  "                        [--dry-run]\n\n"
  "Installs version tracking on local tables: the version column (default\n"
  "tidesync_version), its trigger(s) and an index, and gives existing rows a version.\n"
  "On PostgreSQL it works in short steps so the site's own writes never wait long:\n"
  "it waits (and says on whom) behind long transactions, versions existing rows in\n"
  "small batches and builds the index concurrently. Interrupted, it resumes where it\n"
  "stopped when run again; once done, running it again changes nothing.\n\n"
  "options:\n"
  "  --config FILE          prepare every table of every database in the agent configuration\n"
  "  --source URL           one database: postgresql://... or sqlite:///path/to/file.db\n"
  "  --table T              a table of --source to prepare (repeatable)\n"
  "  --version-column C     the version column of those tables (default tidesync_version)\n"
  "  --dry-run              print, step by step, the SQL it would run and change nothing\n";

void print_plan(const tracking_target& target) {
  auto steps = storage::plan_tracking_steps(target.url, target.tables);
  if (steps.empty()) {
    std::cout << "-- " << target.name << ": already prepared\n";
    return;
  }
  print_steps(std::cout, target.name, steps);
}

void apply_plan(const tracking_target& target) {
  // Planning every table first finds a missing or unusable one before anything changes.
  bool prepared = storage::plan_tracking_steps(target.url, target.tables).empty();
  for (const auto& table : target.tables) {
    // Table by table, so each line reports exactly what that table needed.
    auto ran = prepared ? std::vector<std::string>{}
                        : storage::apply_version_tracking(target.url, {table},
                                                          progress_printer(target.name));
    std::cout << target.name << ": " << table.name << ": ";
    if (ran.empty())
      std::cout << "already prepared\n";
    else
      std::cout << "installed version tracking (" << ran.size()
                << (ran.size() == 1 ? " statement)\n" : " statements)\n");
  }
}

// Each database on its own: one that fails doesn't stop the others.
int prepare_all(const std::vector<tracking_target>& targets, bool dry_run) {
  int status = exit_ok;
  for (const auto& target : targets) {
    try {
      for (const auto& warning : storage::tracking_warnings(target.url))
        std::cerr << "tidesync prepare: " << target.name << ": warning: " << warning << "\n";
      if (dry_run)
        print_plan(target);
      else
        apply_plan(target);
    } catch (const std::exception& e) {
      std::cout.flush();
      std::cerr << "tidesync prepare: " << failure_line(target, e.what()) << "\n";
      status = exit_failure;
    }
  }
  return status;
}

} // namespace

int run_prepare(const arguments& args) {
  if (std::find(args.begin(), args.end(), "--help") != args.end() ||
      std::find(args.begin(), args.end(), "-h") != args.end()) {
    std::cout << prepare_usage;
    return exit_ok;
  }
  tracking_request request;
  try {
    request = parse_tracking_args(args, {}, false);
  } catch (const usage_error& e) {
    std::cerr << "tidesync prepare: " << e.what() << "\n" << prepare_usage;
    return exit_usage;
  }
  try {
    return prepare_all(targets_of(request), request.dry_run);
  } catch (const std::exception& e) {
    std::cerr << "tidesync prepare: " << e.what() << "\n";
    return exit_failure;
  }
}

} // namespace tidesync::app
