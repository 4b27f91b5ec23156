#include "apps/tidesync/tracking_targets.hpp"

#include "config/agent_config.hpp"

#include <algorithm>

namespace tidesync::app {

namespace {

void check_request(const tracking_request& request, bool config_takes_tables) {
  if (!request.config_path.empty() && !request.source_url.empty())
    throw usage_error("--config and --source exclude each other");
  if (request.config_path.empty() && request.source_url.empty())
    throw usage_error("--config FILE or --source URL is required");
  if (!request.source_url.empty() && request.tables.empty())
    throw usage_error("--source needs at least one --table");
  if (!request.config_path.empty() && !request.tables.empty() && !config_takes_tables)
    throw usage_error("--table and --version-column only apply to --source; with --config "
                      "the tables come from the configuration");
  if (!request.config_path.empty() && request.version_column)
    throw usage_error("--version-column only applies to --source; with --config "
                      "the version columns come from the configuration");
}

// The database part of a URL, never its credentials: a file path or a database name.
std::string source_name(const std::string& url) {
  if (storage::source_kind(url) == "sqlite")
    return storage::sqlite_path(url);
  auto name = url.substr(url.rfind('/') + 1);
  name = name.substr(0, name.find('?'));
  return name.empty() ? std::string{"(default database)"} : name;
}

// With --config, --table narrows the configured tables to those named.
std::vector<tracking_target> targets_from_config(const tracking_request& request) {
  std::vector<tracking_target> out;
  std::vector<std::string> unmatched = request.tables;
  const auto config =
    config::load_agent_config(request.config_path, config::agent_config_scope::local);
  for (const auto& database : config.databases) {
    tracking_target target{database.name, database.source, {}};
    for (const auto& table : database.tables) {
      bool wanted = request.tables.empty() ||
                    std::find(request.tables.begin(), request.tables.end(), table.name) !=
                      request.tables.end();
      if (!wanted)
        continue;
      std::erase(unmatched, table.name);
      target.tables.push_back({table.name, table.key, table.version_column, table.modified_column,
                               table.exclude_columns});
    }
    if (!target.tables.empty())
      out.push_back(std::move(target));
  }
  if (!unmatched.empty())
    throw std::runtime_error("table " + unmatched.front() + " is not in " + request.config_path);
  return out;
}

} // namespace

tracking_request parse_tracking_args(const std::vector<std::string>& args,
                                     const std::vector<std::string>& extra_flags,
                                     bool config_takes_tables) {
  tracking_request request;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const auto& arg = args[i];
    bool takes_value = arg == "--config" || arg == "--source" || arg == "--table" ||
                       arg == "--version-column";
    if (takes_value && (i + 1 >= args.size() || args[i + 1].empty()))
      throw usage_error(arg + " needs a value");
    bool extra = std::find(extra_flags.begin(), extra_flags.end(), arg) != extra_flags.end();
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
    else if (extra && arg == "--drop-columns")
      request.drop_columns = true;
    else if (arg.starts_with("-"))
      throw usage_error("unknown option '" + arg + "'");
    else
      throw usage_error("unexpected argument '" + arg + "'");
  }
  check_request(request, config_takes_tables);
  return request;
}

std::vector<tracking_target> targets_of(const tracking_request& request) {
  if (!request.config_path.empty())
    return targets_from_config(request);
  tracking_target target{source_name(request.source_url), request.source_url, {}};
  for (const auto& table : request.tables) {
    storage::table_ref ref;
    ref.name = table;
    ref.version_column = request.version_column.value_or(config::default_version_column);
    target.tables.push_back(std::move(ref));
  }
  return {std::move(target)};
}

std::string failure_line(const tracking_target& target, std::string message) {
  // Storage errors name the database already; config names need adding.
  while (!message.empty() && (message.back() == '\n' || message.back() == ' '))
    message.pop_back();
  if (message.find(target.name) == std::string::npos)
    message = target.name + ": " + message;
  return message;
}

} // namespace tidesync::app
