#include "actors/status_report.hpp"

#include "actors/http_remote.hpp"
#include "protocol/http_client.hpp"
#include "storage/source.hpp"
#include "storage/state_store.hpp"

#include <cmath>
#include <exception>
#include <map>
#include <memory>
#include <utility>

namespace tidesync::actors {

namespace {

/// The saved ids and each table's skipped rows.
struct saved_state {
  std::map<std::string, std::string> database_ids;
  std::map<std::pair<std::string, std::string>, skipped_summary> skipped;
  std::map<std::pair<std::string, std::string>, std::vector<protocol::refused_column>> refused;
  std::map<std::pair<std::string, std::string>, storage::table_error> errors;
};

// The snapshot's rows come oldest first: a table's first row holds the oldest reason.
saved_state summarized(storage::state_snapshot snapshot) {
  saved_state out;
  out.database_ids = std::move(snapshot.database_ids);
  out.errors = std::move(snapshot.table_errors);
  for (auto& row : snapshot.skipped_rows) {
    auto& table = out.skipped[{row.database, row.table}];
    if (table.count++ == 0)
      table.oldest_reason = std::move(row.reason);
  }
  for (const auto& [table, text] : snapshot.refused_columns) {
    try {
      out.refused[table] = protocol::refused_columns_from_text(text);
    } catch (const std::exception&) {
      out.refused[table] = {{"?", "the saved list is unreadable: " + text}};
    }
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
    http_remote remote{config.server, config.request_timeout};
    auto answer = remote.list_tables(*database_id);
    // The agent re-registers on these: the server doesn't know the saved id.
    if (answer.status.http_status == 404 || answer.status.http_status == 403) {
      out.state = remote_state::not_registered;
    } else if (!answer.status.ok()) {
      out.error = "server " + config.server.url + ": " + answer.status.message;
    } else {
      out.state = remote_state::declared;
      out.tables = *answer.value;
    }
  } catch (const std::exception& e) {
    out.error = "server " + config.server.url + ": " + e.what();
  }
  return out;
}

// Sets the local summary of one table; answers the source's message when it can't.
// It leaves out the columns not replicated, as the agent does: a refused
// modified column has no maximum in the cloud to compare with.
std::string read_local(storage::source& source, const config::table_config& table,
                       table_status& status) {
  try {
    auto schema =
        protocol::without_columns(source.describe(table.name, table.key, table.version_column,
                                                  table.modified_column, table.exclude_columns),
                                  status.not_replicated);
    schema.site_filter = table.where;  // the rows the cloud copy should hold
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
  if (auto found = listing.tables.find(status.remote_table); found != listing.tables.end())
    status.remote = found->second;
  else
    status.remote_is = remote_state::not_declared;
}

std::string joined(const std::string& first, const std::string& second) {
  return first.empty() ? second : second.empty() ? first : first + "; " + second;
}

/// One database's source, or why it could not be opened.
struct opened_source {
  std::unique_ptr<storage::source> source;
  std::string error;
};

opened_source open_database_source(const config::database_config& database) {
  opened_source out;
  try {
    out.source = storage::open_source(database.source);
  } catch (const storage::storage_error& e) {
    out.error = std::string{"source: "} + e.what();
  }
  return out;
}

// One table's row; a local read failure is also added to `problems`.
table_status table_row(const config::database_config& database, const config::table_config& table,
                       const saved_state& saved, const remote_listing& listing,
                       opened_source& opened, std::vector<std::string>& problems) {
  table_status status;
  status.database = database.name;
  status.table = table.name;
  status.remote_table = table.remote();
  if (auto found = saved.skipped.find({database.name, table.name}); found != saved.skipped.end())
    status.skipped = found->second;
  if (auto found = saved.refused.find({database.name, table.name}); found != saved.refused.end())
    status.not_replicated = found->second;
  if (auto found = saved.errors.find({database.name, table.name}); found != saved.errors.end()) {
    status.agent_error = found->second.error;
    status.agent_error_since = found->second.since;
  }
  apply_remote(listing, status);
  auto local_error = opened.source ? read_local(*opened.source, table, status) : opened.error;
  if (opened.source && !local_error.empty())
    problems.push_back(database.name + " " + table.name + ": " + local_error);
  status.error = joined(local_error, listing.error);
  if (status.local && status.remote_is != remote_state::failed)
    status.decision =
      sync::decide(*status.local, status.remote.value_or(protocol::table_version{}));
  return status;
}

void add_database(const config::agent_config& config, const config::database_config& database,
                  const saved_state& saved, status_report& report) {
  std::optional<std::string> id;
  if (auto found = saved.database_ids.find(database.name); found != saved.database_ids.end())
    id = found->second;
  auto listing = list_remote(config, id);
  if (!listing.error.empty())
    report.problems.push_back(database.name + ": " + listing.error);
  auto opened = open_database_source(database);
  if (!opened.error.empty())
    report.problems.push_back(database.name + ": " + opened.error);
  for (const auto& table : database.tables)
    report.tables.push_back(table_row(database, table, saved, listing, opened, report.problems));
}

// A label value of the text format, unescaped; `at` just past the opening quote.
std::string label_value(std::string_view line, std::size_t& at) {
  std::string value;
  for (; at < line.size() && line[at] != '"'; ++at) {
    if (line[at] == '\\' && at + 1 < line.size()) {
      ++at;
      value += line[at] == 'n' ? '\n' : line[at];
    } else {
      value += line[at];
    }
  }
  ++at;
  return value;
}

using running_views = std::map<std::pair<std::string, std::string>, running_view>;

// The states a table gauge names; anything else on the page is not the agent's.
bool known_state(const std::string& state) {
  for (const auto* known :
       {"pending", "equal", "ahead", "behind", "scanning", "quarantined", "error"})
    if (state == known)
      return true;
  return false;
}

// One sample of the agent's page: `name{database="…",table="…"[,k="v"]} value`.
// Only the configured tables' views are filled (they are made beforehand), and
// only with finite figures in range: the page may come from anything that
// listens on that address.
void read_sample(std::string_view line, running_views& views) {
  auto brace = line.find('{');
  if (brace == std::string_view::npos)
    return;
  auto name = line.substr(0, brace);
  std::map<std::string, std::string> labels;
  std::size_t at = brace + 1;
  while (at < line.size() && line[at] != '}') {
    auto equals = line.find("=\"", at);
    if (equals == std::string_view::npos)
      return;
    auto key = std::string(line.substr(at, equals - at));
    at = equals + 2;
    labels[key] = label_value(line, at);
    if (at < line.size() && line[at] == ',')
      ++at;
  }
  if (!labels.contains("database") || !labels.contains("table") || at + 2 > line.size())
    return;
  double value = 0;
  try {
    value = std::stod(std::string(line.substr(at + 2)));
  } catch (const std::exception&) {
    return;
  }
  auto found = views.find({labels["database"], labels["table"]});
  if (found == views.end() || !std::isfinite(value) || value < 0 || value > 1e15)
    return;
  auto& view = found->second;
  if (name == "tidesync_agent_table_state" && value == 1 && known_state(labels["state"]))
    view.state = labels["state"];
  else if (name == "tidesync_agent_lag_seconds")
    view.lag_seconds = value;
  else if (name == "tidesync_agent_last_success_timestamp_seconds")
    view.last_success = value;
  else if (name == "tidesync_agent_errors_total")
    view.errors += static_cast<std::int64_t>(value);
}

// The running agent's page on metrics.listen, read into each table's view.
running_views read_running_agent(const config::agent_config& config, std::string& agent) {
  running_views views;
  if (!config.metrics_listen)
    return views;
  for (const auto& database : config.databases)
    for (const auto& table : database.tables)
      views[{database.name, table.name}];
  auto host = config.metrics_listen->host;
  if (host.empty() || host == "0.0.0.0" || host == "*")
    host = "127.0.0.1";
  else if (host == "::")
    host = "::1";
  const config::host_port address{host, config.metrics_listen->port};
  try {
    protocol::http_client_options options;
    options.connect_timeout = std::chrono::seconds(2);
    options.request_timeout = std::chrono::seconds(10);
    // A page of 5,000 tables is about 10 MiB.
    options.max_response_bytes = 64u << 20;
    protocol::http_client client{"http://" + address.to_string(), options};
    auto page = client.get("/metrics");
    if (page.transport_error) {
      agent = "no agent answers on metrics.listen " + address.to_string() + " (" +
              *page.transport_error + ")";
      return views;
    }
    if (page.status != 200) {
      agent = "no agent metrics at " + address.to_string() + " (HTTP " +
              std::to_string(page.status) + ")";
      return views;
    }
    std::size_t start = 0;
    const std::string_view text = page.body;
    while (start < text.size()) {
      auto end = text.find('\n', start);
      if (end == std::string_view::npos)
        end = text.size();
      auto line = text.substr(start, end - start);
      if (line.starts_with("tidesync_agent_"))
        read_sample(line, views);
      start = end + 1;
    }
    agent = "running";
    // A table the page did not mention has no view.
    std::erase_if(views, [](const auto& entry) { return entry.second.state.empty(); });
  } catch (const std::exception& e) {
    agent = "no agent answers on metrics.listen " + address.to_string() + " (" + e.what() + ")";
  }
  return views;
}

} // namespace

std::optional<std::int64_t> lag_versions(const table_status& status) {
  if (!status.local || !status.remote)
    return std::nullopt;
  auto lag = status.local->max_version.value_or(0) - status.remote->max_version.value_or(0);
  return lag > 0 ? lag : 0;
}

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

bool in_sync(const table_status& status) {
  return status.error.empty() && status.remote_is == remote_state::declared &&
         status.decision == sync::sync_decision::equal && status.skipped.count == 0;
}

status_report collect_status(const config::agent_config& config) {
  status_report report;
  saved_state saved;
  try {
    saved = summarized(storage::state_store::read_snapshot(config.state_dir));
  } catch (const storage::storage_error& e) {
    report.state_error = e.what();
  }
  for (const auto& database : config.databases)
    add_database(config, database, saved, report);
  auto running = read_running_agent(config, report.agent);
  for (auto& status : report.tables)
    if (auto found = running.find({status.database, status.table});
        found != running.end() && !found->second.state.empty())
      status.running = found->second;
  return report;
}

} // namespace tidesync::actors
