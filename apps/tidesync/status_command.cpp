// tidesync status: how every configured table stands, read-only.
#include "apps/tidesync/commands.hpp"

#include "actors/http_remote.hpp"
#include "config/agent_config.hpp"
#include "protocol/table_version.hpp"
#include "storage/source.hpp"
#include "storage/sqlite_db.hpp"
#include "storage/state_store.hpp"
#include "sync/decision.hpp"

#include <boost/json.hpp>
#include <sqlite3.h>

#include <algorithm>
#include <exception>
#include <filesystem>
#include <iterator>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace tidesync::app {

namespace {

namespace json = boost::json;

constexpr const char* status_usage =
  "usage: tidesync status --config FILE [--json]\n\n"
  "Shows how every table named in FILE stands: the local and the remote summary,\n"
  "what the agent would do next, and the rows held as skipped. Changes nothing and\n"
  "may run next to a running agent.\n"
  "  --json   print a JSON array, one object per table\n"
  "Exit 0 when every table is in sync and nothing is skipped, 1 otherwise.\n";

// Longest skip reason shown in the human table; --json carries it whole.
constexpr std::size_t shown_reason_chars = 60;

struct status_args {
  std::string config_path;
  bool json = false;
};

/// Skipped rows of one table, as the state store holds them.
struct skipped_summary {
  std::int64_t count = 0;
  std::string oldest_reason;
};

/// What the agent's state file says: saved database ids and skipped rows.
struct saved_state {
  std::map<std::string, std::string> database_ids;
  std::map<std::pair<std::string, std::string>, skipped_summary> skipped;
};

/// Where the server stands on a table.
enum class remote_state { declared, not_declared, not_registered, failed };

/// One table's line of the report.
struct table_status {
  std::string database;
  std::string table;
  std::optional<protocol::table_version> local;
  std::optional<protocol::table_version> remote;
  remote_state remote_is = remote_state::failed;
  std::optional<sync::sync_decision> decision;
  skipped_summary skipped;
  std::string error;  // why the local or remote summary is missing
};

/// One database's tables, and what could not be read, each said once.
struct database_result {
  std::vector<table_status> tables;
  std::vector<std::string> problems;
};

std::string_view to_string(remote_state state) {
  switch (state) {
    case remote_state::declared:
      return "declared";
    case remote_state::not_declared:
      return "not declared";
    case remote_state::not_registered:
      return "not registered";
    case remote_state::failed:
      break;
  }
  return "error";
}

// The words an operator reads; "differs (scan)": same version, different content.
std::string_view decision_text(const std::optional<sync::sync_decision>& decision) {
  if (!decision)
    return "-";
  switch (*decision) {
    case sync::sync_decision::equal:
      return "in sync";
    case sync::sync_decision::ahead:
      return "ahead";
    case sync::sync_decision::behind:
      return "behind";
    case sync::sync_decision::scan:
      break;
  }
  return "differs (scan)";
}

// The arguments, or nullopt after printing why (`exit_code` says how to exit).
std::optional<status_args> parse_status_args(const arguments& args, int& exit_code) {
  status_args out;
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--help" || args[i] == "-h") {
      std::cout << status_usage;
      exit_code = exit_ok;
      return std::nullopt;
    }
    if (args[i] == "--config" && i + 1 < args.size()) {
      out.config_path = args[++i];
    } else if (args[i] == "--json") {
      out.json = true;
    } else {
      std::cerr << "tidesync status: unexpected argument '" << args[i] << "'\n" << status_usage;
      exit_code = exit_usage;
      return std::nullopt;
    }
  }
  if (out.config_path.empty()) {
    std::cerr << "tidesync status: --config FILE is required\n" << status_usage;
    exit_code = exit_usage;
    return std::nullopt;
  }
  return out;
}

// A read-only SQLite URI for the state file. Without a -wal file no agent has
// it open: `immutable` then reads it without creating -wal and -shm files
// (which, made by another user, would lock the agent out of its own state).
std::string state_file_uri(const std::filesystem::path& path) {
  std::string uri = "file:";
  for (char c : path.string()) {
    if (c == '%' || c == '?' || c == '#')
      uri += c == '%' ? "%25" : c == '?' ? "%3f" : "%23";
    else
      uri += c;
  }
  auto wal = path;
  wal += "-wal";
  return uri + (std::filesystem::exists(wal) ? "?mode=ro" : "?mode=ro&immutable=1");
}

// Read-only: no schema, no pragma that writes, and no file when there is none
// yet (a fresh site has no state file; status must not create one).
saved_state read_saved_state(const std::string& state_dir) {
  saved_state out;
  auto path = std::filesystem::path{state_dir} / storage::state_store::file_name;
  if (!std::filesystem::exists(path))
    return out;
  storage::sqlite_db db{state_file_uri(path), SQLITE_OPEN_READONLY | SQLITE_OPEN_URI};
  storage::sqlite_statement ids{db, "SELECT database, database_id FROM database_ids",
                                "read database ids"};
  while (ids.step())
    if (auto id = ids.column_text(1); !id.empty())
      out.database_ids[ids.column_text(0)] = id;
  storage::sqlite_statement rows{db,
                                 "SELECT database, table_name, reason FROM skipped_rows "
                                 "ORDER BY first_seen, table_name, key_json",
                                 "read skipped rows"};
  while (rows.step()) {
    auto& table = out.skipped[{rows.column_text(0), rows.column_text(1)}];
    if (table.count++ == 0)
      table.oldest_reason = rows.column_text(2);
  }
  return out;
}

/// Every declared table's remote summary, or why there is none.
struct remote_listing {
  remote_state state = remote_state::failed;
  std::map<std::string, protocol::table_version> tables;
  std::string error;
};

// One GET …/tables, as the agent's cycle starts; never registers.
remote_listing list_remote(const config::agent_config& config,
                           const std::optional<std::string>& database_id) {
  remote_listing out;
  if (!database_id) {
    out.state = remote_state::not_registered;
    return out;
  }
  try {
    actors::http_remote remote{config.server, config.request_timeout};
    auto answer = remote.list_tables(*database_id);
    // The agent re-registers on these: the server doesn't know the saved id.
    if (answer.status.http_status == 404 || answer.status.http_status == 403) {
      out.state = remote_state::not_registered;
    } else if (!answer.status.ok()) {
      out.error = "server " + config.server.url + ": " + answer.status.message;
    } else {
      out.state = remote_state::declared;
      out.tables = std::move(answer.value);
    }
  } catch (const std::exception& e) {
    out.error = "server " + config.server.url + ": " + e.what();
  }
  return out;
}

// Sets the local summary of one table; answers the source's message when it can't.
std::string read_local(storage::source& source, const config::table_config& table,
                       table_status& status) {
  try {
    auto schema =
      source.describe(table.name, table.key, table.version_column, table.modified_column);
    status.local = source.summary(table.name, schema);
    return "";
  } catch (const storage::storage_error& e) {
    return std::string{"source: "} + e.what();
  }
}

// Fills the remote side of `status` from the database's listing.
void apply_remote(const remote_listing& listing, table_status& status) {
  status.remote_is = listing.state;
  if (listing.state != remote_state::declared)
    return;
  if (auto found = listing.tables.find(status.table); found != listing.tables.end())
    status.remote = found->second;
  else
    status.remote_is = remote_state::not_declared;
}

std::string joined(const std::string& first, const std::string& second) {
  return first.empty() ? second : second.empty() ? first : first + "; " + second;
}

database_result database_status(const config::agent_config& config,
                                const config::database_config& database,
                                const saved_state& saved) {
  database_result out;
  std::optional<std::string> id;
  if (auto found = saved.database_ids.find(database.name); found != saved.database_ids.end())
    id = found->second;
  auto listing = list_remote(config, id);
  if (!listing.error.empty())
    out.problems.push_back(database.name + ": " + listing.error);
  std::unique_ptr<storage::source> source;
  std::string source_error;
  try {
    source = storage::open_source(database.source);
  } catch (const storage::storage_error& e) {
    source_error = std::string{"source: "} + e.what();
    out.problems.push_back(database.name + ": " + source_error);
  }
  for (const auto& table : database.tables) {
    table_status status;
    status.database = database.name;
    status.table = table.name;
    if (auto found = saved.skipped.find({database.name, table.name}); found != saved.skipped.end())
      status.skipped = found->second;
    apply_remote(listing, status);
    auto local_error = source ? read_local(*source, table, status) : source_error;
    if (source && !local_error.empty())
      out.problems.push_back(database.name + " " + table.name + ": " + local_error);
    status.error = joined(local_error, listing.error);
    if (status.local && status.remote_is != remote_state::failed)
      status.decision =
        sync::decide(*status.local, status.remote.value_or(protocol::table_version{}));
    out.tables.push_back(std::move(status));
  }
  return out;
}

bool in_sync(const table_status& status) {
  return status.error.empty() && status.remote_is == remote_state::declared &&
         status.decision == sync::sync_decision::equal && status.skipped.count == 0;
}

std::string summary_text(const protocol::table_version& summary) {
  auto text = std::to_string(summary.count) + " rows";
  if (summary.max_version)
    text += ", v" + std::to_string(*summary.max_version);
  return text;
}

std::string skipped_text(const skipped_summary& skipped) {
  if (skipped.count == 0)
    return "0";
  auto reason = skipped.oldest_reason;
  if (reason.size() > shown_reason_chars)
    reason = reason.substr(0, shown_reason_chars - 3) + "...";
  return std::to_string(skipped.count) + " (oldest: " + reason + ")";
}

std::vector<std::string> human_row(const table_status& status) {
  return {status.database,
          status.table,
          status.local ? summary_text(*status.local) : "error",
          status.remote ? summary_text(*status.remote) : std::string{to_string(status.remote_is)},
          std::string{decision_text(status.decision)},
          skipped_text(status.skipped)};
}

// Columns padded to their widest cell; the last one is left ragged.
void print_table(const std::vector<table_status>& report, std::ostream& out) {
  std::vector<std::vector<std::string>> rows{
    {"DATABASE", "TABLE", "LOCAL", "REMOTE", "DECISION", "SKIPPED"}};
  for (const auto& status : report)
    rows.push_back(human_row(status));
  std::vector<std::size_t> widths(rows.front().size(), 0);
  for (const auto& row : rows)
    for (std::size_t i = 0; i < row.size(); ++i)
      widths[i] = std::max(widths[i], row[i].size());
  for (const auto& row : rows) {
    std::string line;
    for (std::size_t i = 0; i < row.size(); ++i)
      line += i + 1 < row.size() ? row[i] + std::string(widths[i] - row[i].size() + 2, ' ')
                                 : row[i];
    out << line << "\n";
  }
}

json::value optional_summary(const std::optional<protocol::table_version>& summary) {
  return summary ? protocol::to_json(*summary) : json::value{};
}

json::object json_row(const table_status& status) {
  json::object row;
  row["database"] = status.database;
  row["table"] = status.table;
  row["local"] = optional_summary(status.local);
  row["remote"] = optional_summary(status.remote);
  row["remote_state"] = to_string(status.remote_is);
  row["decision"] = status.decision ? json::value(sync::to_string(*status.decision))
                                    : json::value{};
  row["in_sync"] = in_sync(status);
  row["skipped_rows"] = status.skipped.count;
  row["oldest_skipped_reason"] =
    status.skipped.count ? json::value(status.skipped.oldest_reason) : json::value{};
  row["error"] = status.error.empty() ? json::value{} : json::value(status.error);
  return row;
}

void print_json(const std::vector<table_status>& report, std::ostream& out) {
  json::array rows;
  for (const auto& status : report)
    rows.push_back(json_row(status));
  out << json::serialize(rows) << "\n";
}

int run_status_with(const config::agent_config& config, bool as_json) {
  std::vector<table_status> report;
  saved_state saved;
  bool state_readable = true;
  try {
    saved = read_saved_state(config.state_dir);
  } catch (const storage::storage_error& e) {
    std::cerr << "tidesync status: state: " << e.what() << "\n";
    state_readable = false;
  }
  std::vector<std::string> problems;
  for (const auto& database : config.databases) {
    auto result = database_status(config, database, saved);
    std::move(result.tables.begin(), result.tables.end(), std::back_inserter(report));
    std::move(result.problems.begin(), result.problems.end(), std::back_inserter(problems));
  }
  if (as_json)
    print_json(report, std::cout);
  else
    print_table(report, std::cout);
  std::cout << std::flush;
  for (const auto& problem : problems)
    std::cerr << "tidesync status: " << problem << "\n";
  bool all = state_readable && std::all_of(report.begin(), report.end(), in_sync);
  return all ? exit_ok : exit_failure;
}

} // namespace

int run_status(const arguments& args) {
  int exit_code = exit_ok;
  auto parsed = parse_status_args(args, exit_code);
  if (!parsed)
    return exit_code;
  try {
    return run_status_with(config::load_agent_config(parsed->config_path), parsed->json);
  } catch (const std::exception& e) {
    std::cerr << "tidesync status: " << e.what() << "\n";
    return exit_failure;
  }
}

} // namespace tidesync::app
