// tidesync status: how every configured table stands, read-only.
#include "apps/tidesync/commands.hpp"
#include "apps/tidesync/terminal_text.hpp"

#include "actors/status_report.hpp"
#include "config/agent_config.hpp"
#include "protocol/table_version.hpp"
#include "sync/decision.hpp"
#include "sync/load_progress.hpp"

#include <boost/json.hpp>

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <exception>
#include <iostream>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace tidesync::app {

namespace {

namespace json = boost::json;

constexpr const char* status_usage =
  "usage: tidesync status --config FILE [--json] [--watch]\n\n"
  "Shows how every table named in FILE stands: the local and the remote summary,\n"
  "what the agent would do next, the versions the cloud lacks, the rows held as\n"
  "skipped and the columns the server does not replicate; and, when metrics.listen\n"
  "is set and the agent runs, its own view: state, lag, last good cycle, errors.\n"
  "Changes nothing and may run next to a running agent.\n"
  "  --json   print a JSON array, one object per table\n"
  "  --watch  show it again every 2 s until interrupted (the screen is redrawn on a\n"
  "           terminal; otherwise each snapshot follows the last)\n"
  "Exit 0 when every table is in sync and nothing is skipped, 1 otherwise; columns\n"
  "the server does not replicate are listed but don't count against it.\n";

// Longest skip reason shown in the human table; --json carries it whole.
constexpr std::size_t shown_reason_chars = 60;

struct status_args {
  std::string config_path;
  bool json = false;
  bool watch = false;
};

constexpr auto watch_every = std::chrono::seconds(2);

using actors::skipped_summary;
using actors::table_status;

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
    } else if (args[i] == "--watch") {
      out.watch = true;
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

std::string lag_text(const table_status& status) {
  auto versions = actors::lag_versions(status);
  if (!versions)
    return "-";
  std::string text = *versions == 0 ? "0" : std::to_string(*versions) + " versions";
  if (status.running && status.running->lag_seconds > 0 && status.running->state != "equal")
    text += ", " + sync::duration_text(status.running->lag_seconds);
  return text;
}

// The running agent's word on the table: its state, its last good cycle, its errors.
std::string agent_text(const table_status& status) {
  if (!status.running)
    return "-";
  const auto& running = *status.running;
  std::string text = running.state.empty() ? "?" : running.state;
  if (running.last_success > 0) {
    auto now = std::chrono::duration<double>(
                 std::chrono::system_clock::now().time_since_epoch()).count();
    text += ", ok " + sync::duration_text(now - running.last_success) + " ago";
  } else {
    text += ", no good cycle yet";
  }
  if (running.errors > 0)
    text += ", " + std::to_string(running.errors) + " errors";
  return text;
}

std::vector<std::string> human_row(const table_status& status) {
  return {status.database,
          status.table == status.remote_table ? status.table
                                              : status.table + " (as " + status.remote_table + ")",
          status.local ? summary_text(*status.local) : "error",
          status.remote ? summary_text(*status.remote) : std::string{actors::to_string(status.remote_is)},
          std::string{decision_text(status.decision)},
          lag_text(status),
          skipped_text(status.skipped),
          agent_text(status)};
}

// Columns padded to their widest cell; the last one is left ragged.
void print_table(const std::vector<table_status>& report, std::ostream& out) {
  std::vector<std::vector<std::string>> rows{
    {"DATABASE", "TABLE", "LOCAL", "REMOTE", "DECISION", "LAG", "SKIPPED", "AGENT"}};
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
  for (const auto& status : report)
    if (!status.agent_error.empty())
      out << status.database << " " << status.table << ": failing since "
          << status.agent_error_since << ": " << app::terminal_text(status.agent_error) << "\n";
  for (const auto& status : report)
    if (!status.not_replicated.empty())
      out << status.database << " " << status.table
          << ": not replicated: " << protocol::describe(status.not_replicated) << "\n";
}

json::value optional_summary(const std::optional<protocol::table_version>& summary) {
  return summary ? protocol::to_json(*summary) : json::value{};
}

json::object json_row(const table_status& status) {
  json::object row;
  row["database"] = status.database;
  row["table"] = status.table;
  row["remote_table"] = status.remote_table;
  row["local"] = optional_summary(status.local);
  row["remote"] = optional_summary(status.remote);
  row["remote_state"] = actors::to_string(status.remote_is);
  row["decision"] = status.decision ? json::value(sync::to_string(*status.decision))
                                    : json::value{};
  row["in_sync"] = actors::in_sync(status);
  row["skipped_rows"] = status.skipped.count;
  row["oldest_skipped_reason"] =
    status.skipped.count ? json::value(status.skipped.oldest_reason) : json::value{};
  row["not_replicated"] = protocol::to_json(status.not_replicated);
  row["error"] = status.error.empty() ? json::value{} : json::value(status.error);
  row["agent_error"] =
    status.agent_error.empty()
      ? json::value{}
      : json::value(json::object{{"error", status.agent_error}, {"since", status.agent_error_since}});
  auto lag = actors::lag_versions(status);
  row["lag_versions"] = lag ? json::value(*lag) : json::value{};
  if (status.running)
    row["agent"] = json::object{{"state", status.running->state},
                                {"lag_seconds", status.running->lag_seconds},
                                {"last_success", status.running->last_success > 0
                                                   ? json::value(status.running->last_success)
                                                   : json::value{}},
                                {"errors", status.running->errors}};
  else
    row["agent"] = nullptr;
  return row;
}

void print_json(const std::vector<table_status>& report, std::ostream& out) {
  json::array rows;
  for (const auto& status : report)
    rows.push_back(json_row(status));
  out << json::serialize(rows) << "\n";
}

int run_status_with(const config::agent_config& config, bool as_json) {
  auto report = actors::collect_status(config);
  if (report.state_error)
    std::cerr << "tidesync status: state: " << *report.state_error << "\n";
  if (as_json)
    print_json(report.tables, std::cout);
  else
    print_table(report.tables, std::cout);
  std::cout << std::flush;
  for (const auto& problem : report.problems)
    std::cerr << "tidesync status: " << problem << "\n";
  if (!report.agent.empty() && report.agent != "running")
    std::cerr << "tidesync status: " << report.agent << "\n";
  bool all = !report.state_error &&
             std::all_of(report.tables.begin(), report.tables.end(), actors::in_sync);
  return all ? exit_ok : exit_failure;
}

} // namespace

int run_status(const arguments& args) {
  int exit_code = exit_ok;
  auto parsed = parse_status_args(args, exit_code);
  if (!parsed)
    return exit_code;
  try {
    auto config = config::load_agent_config(parsed->config_path);
    if (!parsed->watch)
      return run_status_with(config, parsed->json);
    // Until interrupted (SIGINT ends the process): on a terminal the screen
    // is redrawn, elsewhere each snapshot follows the last with a time line.
    const bool terminal = ::isatty(STDOUT_FILENO) == 1;
    for (;;) {
      if (terminal)
        std::cout << "\x1b[H\x1b[2J";
      auto now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
      char stamp[32];
      std::strftime(stamp, sizeof stamp, "%Y-%m-%d %H:%M:%S", std::localtime(&now));
      if (!parsed->json)
        std::cout << "tidesync status at " << stamp << " (every 2 s, Ctrl-C stops)\n";
      run_status_with(config, parsed->json);
      std::this_thread::sleep_for(watch_every);
    }
  } catch (const std::exception& e) {
    std::cerr << "tidesync status: " << e.what() << "\n";
    return exit_failure;
  }
}

} // namespace tidesync::app
