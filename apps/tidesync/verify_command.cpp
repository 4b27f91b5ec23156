// tidesync verify: compares every configured table's content with the cloud
// copy by content digests, read-only.
#include "apps/tidesync/commands.hpp"

#include "actors/content_verify.hpp"
#include "config/agent_config.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <cstdio>
#include <exception>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

namespace tidesync::app {

namespace {

namespace json = boost::json;

constexpr const char* verify_usage =
  "usage: tidesync verify --config FILE [--database NAME] [--table NAME] [--json]\n\n"
  "Compares the content of every table named in FILE with its cloud copy by\n"
  "content digests (only counts, digests and keys travel) and names the rows that\n"
  "are missing in the cloud, extra there, or different. Changes nothing and may\n"
  "run next to a running agent; the agent's --once and its periodic pass repair\n"
  "what this finds.\n"
  "  --database NAME   only this configured database\n"
  "  --table NAME      only tables of this name\n"
  "  --json            print a JSON array, one object per table\n"
  "Exit 0 when every table is identical, 1 otherwise, 2 for bad usage.\n";

// Keys named per kind of difference; the rest are counted.
constexpr std::size_t named_keys = 20;

struct verify_args {
  std::string config_path;
  actors::verify_selection selection;
  bool json = false;
};

std::optional<verify_args> parse_verify_args(const arguments& args, int& exit_code) {
  verify_args out;
  auto fail = [&](const std::string& message) {
    std::cerr << "tidesync verify: " << message << "\n" << verify_usage;
    exit_code = exit_usage;
    return std::nullopt;
  };
  for (std::size_t i = 0; i < args.size(); ++i) {
    bool has_value = i + 1 < args.size();
    if (args[i] == "--help" || args[i] == "-h") {
      std::cout << verify_usage;
      exit_code = exit_ok;
      return std::nullopt;
    }
    if (args[i] == "--config" && has_value)
      out.config_path = args[++i];
    else if (args[i] == "--database" && has_value)
      out.selection.database = args[++i];
    else if (args[i] == "--table" && has_value)
      out.selection.table = args[++i];
    else if (args[i] == "--json")
      out.json = true;
    else
      return fail("unexpected argument '" + args[i] + "'");
  }
  if (out.config_path.empty())
    return fail("--config FILE is required");
  return out;
}

// A name given on the command line that the configuration does not have.
std::optional<std::string> unknown_selection(const config::agent_config& config,
                                             const actors::verify_selection& selection) {
  bool database_found = !selection.database;
  bool table_found = !selection.table;
  for (const auto& database : config.databases) {
    if (selection.database && database.name != *selection.database)
      continue;
    database_found = true;
    for (const auto& table : database.tables)
      table_found = table_found || table.name == *selection.table;
  }
  if (!database_found)
    return "no database named '" + *selection.database + "' in the configuration";
  if (!table_found)
    return "no table named '" + *selection.table + "' in the selected databases";
  return std::nullopt;
}

std::string key_text(const sync::row_key& key) {
  json::array cells(key.begin(), key.end());
  return json::serialize(cells);
}

void print_keys(std::string_view kind, const std::vector<sync::row_key>& keys, std::ostream& out) {
  for (std::size_t i = 0; i < keys.size() && i < named_keys; ++i)
    out << "  " << kind << " " << key_text(keys[i]) << "\n";
  if (keys.size() > named_keys)
    out << "  " << kind << " ... and " << keys.size() - named_keys << " more\n";
}

void print_text(const std::vector<actors::table_verification>& tables, std::ostream& out) {
  for (const auto& table : tables) {
    char seconds[32];
    std::snprintf(seconds, sizeof seconds, "%.1f s", table.seconds);
    out << table.database << " " << table.table << ": " << actors::to_string(table.state);
    if (table.state == actors::content_state::error) {
      out << ": " << table.error << "\n";
      continue;
    }
    out << " (" << table.site_rows << " rows at the site, " << table.cloud_rows
        << " in the cloud, " << seconds << ")";
    if (table.state == actors::content_state::different)
      out << ": " << table.diff.missing.size() << " missing in the cloud, "
          << table.diff.extra.size() << " extra there, " << table.diff.different.size()
          << " different";
    out << "\n";
    if (!table.not_replicated.empty())
      out << "  not replicated (left out): " << protocol::describe(table.not_replicated) << "\n";
    print_keys("missing  ", table.diff.missing, out);
    print_keys("extra    ", table.diff.extra, out);
    print_keys("different", table.diff.different, out);
  }
}

json::array json_keys(const std::vector<sync::row_key>& keys) {
  json::array out;
  for (std::size_t i = 0; i < keys.size() && i < named_keys; ++i)
    out.push_back(json::array(keys[i].begin(), keys[i].end()));
  return out;
}

void print_json(const std::vector<actors::table_verification>& tables, std::ostream& out) {
  json::array rows;
  for (const auto& table : tables) {
    json::object row{{"database", table.database},
                     {"table", table.table},
                     {"state", actors::to_string(table.state)},
                     {"site_rows", table.site_rows},
                     {"cloud_rows", table.cloud_rows},
                     {"seconds", table.seconds}};
    for (auto [name, keys] : {std::pair{"missing", &table.diff.missing},
                              std::pair{"extra", &table.diff.extra},
                              std::pair{"different", &table.diff.different}}) {
      row[name] = json_keys(*keys);
      row[std::string(name) + "_count"] = keys->size();
    }
    row["not_replicated"] = protocol::to_json(table.not_replicated);
    row["error"] = table.error.empty() ? json::value{} : json::value(table.error);
    rows.push_back(std::move(row));
  }
  out << json::serialize(rows) << "\n";
}

int run_verify_with(const config::agent_config& config, const verify_args& args) {
  if (auto unknown = unknown_selection(config, args.selection)) {
    std::cerr << "tidesync verify: " << *unknown << "\n";
    return exit_usage;
  }
  auto tables = actors::verify_content(config, args.selection);
  if (args.json)
    print_json(tables, std::cout);
  else
    print_text(tables, std::cout);
  bool identical = std::all_of(tables.begin(), tables.end(), [](const auto& table) {
    return table.state == actors::content_state::identical;
  });
  return identical ? exit_ok : exit_failure;
}

} // namespace

int run_verify(const arguments& args) {
  int exit_code = exit_ok;
  auto parsed = parse_verify_args(args, exit_code);
  if (!parsed)
    return exit_code;
  try {
    return run_verify_with(config::load_agent_config(parsed->config_path), *parsed);
  } catch (const std::exception& e) {
    std::cerr << "tidesync verify: " << e.what() << "\n";
    return exit_failure;
  }
}

} // namespace tidesync::app
