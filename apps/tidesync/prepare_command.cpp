// tidesync prepare: installs version tracking on the local tables the agent reads.
#include "apps/tidesync/commands.hpp"

#include "config/agent_config.hpp"
#include "storage/source.hpp"
#include "storage/version_tracking.hpp"

#include <algorithm>
#include <iostream>
#include <optional>
#include <stdexcept>

namespace tidesync::app {

namespace {

constexpr const char* prepare_usage =
  "usage: tidesync prepare --config FILE [--dry-run]\n"
  "       tidesync prepare --source URL --table T [--table T2 ...] [--version-column C]\n"
  "                        [--dry-run]\n\n"
  "Installs version tracking on local tables: the version column (default\n"
  "tidesync_version), its trigger(s) and an index, and gives existing rows a version.\n"
  "Running it again changes nothing.\n\n"
  "options:\n"
  "  --config FILE          prepare every table of every database in the agent configuration\n"
  "  --source URL           one database: postgresql://... or sqlite:///path/to/file.db\n"
  "  --table T              a table of --source to prepare (repeatable)\n"
  "  --version-column C     the version column of those tables (default tidesync_version)\n"
  "  --dry-run              print the SQL it would run and change nothing\n";

struct prepare_request {
  std::string config_path;
  std::string source_url;
  std::vector<std::string> tables;
  std::optional<std::string> version_column;
  bool dry_run = false;
};

/// One database to prepare, as the output names it.
struct prepare_target {
  std::string name;
  std::string url;
  std::vector<storage::table_ref> tables;
};

struct usage_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

void check_request(const prepare_request& request) {
  if (!request.config_path.empty() && !request.source_url.empty())
    throw usage_error("--config and --source exclude each other");
  if (request.config_path.empty() && request.source_url.empty())
    throw usage_error("--config FILE or --source URL is required");
  if (!request.source_url.empty() && request.tables.empty())
    throw usage_error("--source needs at least one --table");
  if (!request.config_path.empty() && (!request.tables.empty() || request.version_column))
    throw usage_error("--table and --version-column only apply to --source; with --config "
                      "the tables come from the configuration");
}

prepare_request parse_prepare_args(const arguments& args) {
  prepare_request request;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const auto& arg = args[i];
    bool takes_value = arg == "--config" || arg == "--source" || arg == "--table" ||
                       arg == "--version-column";
    if (takes_value && (i + 1 >= args.size() || args[i + 1].empty()))
      throw usage_error(arg + " needs a value");
    if (arg == "--config")
      request.config_path = args[++i];
    else if (arg == "--source")
      request.source_url = args[++i];
    else if (arg == "--table")
      request.tables.push_back(args[++i]);
    else if (arg == "--version-column")
      request.version_column = args[++i];
    else if (arg == "--dry-run")
      request.dry_run = true;
    else if (arg.starts_with("-"))
      throw usage_error("unknown option '" + arg + "'");
    else
      throw usage_error("unexpected argument '" + arg + "'");
  }
  check_request(request);
  return request;
}

// The database part of a URL, never its credentials: a file path or a database name.
std::string source_name(const std::string& url) {
  if (storage::source_kind(url) == "sqlite")
    return storage::sqlite_path(url);
  auto name = url.substr(url.rfind('/') + 1);
  name = name.substr(0, name.find('?'));
  return name.empty() ? std::string{"(default database)"} : name;
}

std::vector<prepare_target> targets_from_config(const std::string& path) {
  std::vector<prepare_target> out;
  const auto config = config::load_agent_config(path, config::agent_config_scope::local);
  for (const auto& database : config.databases) {
    prepare_target target{database.name, database.source, {}};
    for (const auto& table : database.tables)
      target.tables.push_back(
        {table.name, table.key, table.version_column, table.modified_column});
    out.push_back(std::move(target));
  }
  return out;
}

std::vector<prepare_target> targets_of(const prepare_request& request) {
  if (!request.config_path.empty())
    return targets_from_config(request.config_path);
  prepare_target target{source_name(request.source_url), request.source_url, {}};
  for (const auto& table : request.tables) {
    storage::table_ref ref;
    ref.name = table;
    ref.version_column = request.version_column.value_or(config::default_version_column);
    target.tables.push_back(std::move(ref));
  }
  return {std::move(target)};
}

void print_plan(const prepare_target& target) {
  auto statements = storage::plan_version_tracking(target.url, target.tables);
  if (statements.empty()) {
    std::cout << "-- " << target.name << ": already prepared\n";
    return;
  }
  std::cout << "-- " << target.name << ": " << statements.size() << " statements\n";
  for (const auto& statement : statements)
    std::cout << statement << ";\n";
}

void apply_plan(const prepare_target& target) {
  // Planning every table first finds a missing or unusable one before anything changes.
  bool prepared = storage::plan_version_tracking(target.url, target.tables).empty();
  for (const auto& table : target.tables) {
    // One transaction per table, so each line reports exactly what that table needed.
    auto ran = prepared ? std::vector<std::string>{}
                        : storage::apply_version_tracking(target.url, {table});
    std::cout << target.name << ": " << table.name << ": ";
    if (ran.empty())
      std::cout << "already prepared\n";
    else
      std::cout << "installed version tracking (" << ran.size()
                << (ran.size() == 1 ? " statement)\n" : " statements)\n");
  }
}

// Each database on its own: one that fails doesn't stop the others.
int prepare_all(const std::vector<prepare_target>& targets, bool dry_run) {
  int status = exit_ok;
  for (const auto& target : targets) {
    try {
      if (dry_run)
        print_plan(target);
      else
        apply_plan(target);
    } catch (const std::exception& e) {
      // Storage errors name the database already; config names need adding.
      std::string message = e.what();
      while (!message.empty() && (message.back() == '\n' || message.back() == ' '))
        message.pop_back();
      if (message.find(target.name) == std::string::npos)
        message = target.name + ": " + message;
      std::cout.flush();
      std::cerr << "tidesync prepare: " << message << "\n";
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
  prepare_request request;
  try {
    request = parse_prepare_args(args);
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
