// deploy/: the Grafana dashboards and the Prometheus rules name only metrics
// that a running agent and server export (read from their /metrics, not
// from a list kept by hand), every dashboard query parses as PromQL, and
// promtool accepts the rules and the scrape configuration.
#include "actors/agent.hpp"
#include "protocol/http_client.hpp"
#include "tests/integration/agent/agent_fixture.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace tidesync::testing {
namespace {

const std::filesystem::path deploy_dir = std::filesystem::path{TIDESYNC_SOURCE_DIR} / "deploy";

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in{path};
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

struct command_result {
  int status = -1;
  std::string output;
};

// Runs `command` through the shell, stdout and stderr together.
command_result run(const std::string& command) {
  command_result result;
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr)
    return result;
  char buffer[4096];
  for (std::size_t n; (n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0;)
    result.output.append(buffer, n);
  result.status = ::pclose(pipe);
  return result;
}

// Every sample name a /metrics page can carry: each family's name, and a
// histogram's _bucket, _sum and _count.
void add_exported(const std::string& page, std::set<std::string>& names) {
  static const std::regex type_line{R"(^# TYPE (\S+) (\S+)$)"};
  std::istringstream lines{page};
  std::string line;
  std::smatch match;
  while (std::getline(lines, line)) {
    if (!std::regex_match(line, match, type_line))
      continue;
    names.insert(match[1]);
    if (match[2] == "histogram" || match[2] == "summary")
      for (const auto* suffix : {"_bucket", "_sum", "_count"})
        names.insert(match[1].str() + suffix);
  }
}

std::set<std::string> tidesync_names_in(const std::string& text) {
  static const std::regex name{R"(tidesync_[a-z0-9_]+)"};
  std::set<std::string> names;
  for (std::sregex_iterator it{text.begin(), text.end(), name}, end; it != end; ++it)
    names.insert(it->str());
  return names;
}

// A dashboard query as Prometheus would get it: Grafana's variables
// substituted ($__rate_interval with a range, the others with a regex).
std::string substituted(std::string query) {
  query = std::regex_replace(query, std::regex{R"(\$__rate_interval)"}, "5m");
  return std::regex_replace(query, std::regex{R"(\$\{?[A-Za-z_]+\}?)"}, ".*");
}

// The PromQL inside a variable's `label_values(selector, label)` query.
std::string selector_of(const std::string& query) {
  static const std::regex label_values{R"(^label_values\((.*),\s*[A-Za-z_]+\)$)"};
  std::smatch match;
  return std::regex_match(query, match, label_values) ? match[1].str() : query;
}

struct dashboard_query {
  std::string where;  // dashboard and panel title, for failures
  std::string promql;
};

void collect_panels(const boost::json::array& panels, const std::string& dashboard,
                    std::vector<dashboard_query>& queries) {
  for (const auto& each : panels) {
    const auto& panel = each.as_object();
    const std::string title{panel.at("title").as_string()};
    if (const auto* nested = panel.if_contains("panels"))
      collect_panels(nested->as_array(), dashboard, queries);
    if (const auto* targets = panel.if_contains("targets"))
      for (const auto& target : targets->as_array())
        queries.push_back({dashboard + ": " + title,
                           substituted(std::string{target.at("expr").as_string()})});
  }
}

std::vector<dashboard_query> dashboard_queries(const std::filesystem::path& file) {
  std::vector<dashboard_query> queries;
  boost::system::error_code ec;
  auto document = boost::json::parse(read_file(file), ec);
  EXPECT_FALSE(ec) << file << " is not JSON: " << ec.message();
  if (ec || !document.is_object())
    return queries;
  const auto& root = document.as_object();
  const std::string name = file.filename().string();
  EXPECT_TRUE(root.contains("title") && root.contains("uid") && root.contains("schemaVersion"))
    << name << " lacks a Grafana dashboard's title, uid or schemaVersion";
  EXPECT_TRUE(root.contains("panels") && root.at("panels").is_array()) << name;
  if (!root.contains("panels"))
    return queries;
  collect_panels(root.at("panels").as_array(), name, queries);
  for (const auto& variable : root.at("templating").at("list").as_array()) {
    const auto& object = variable.as_object();
    if (object.at("type").as_string() != "query")
      continue;
    const auto& query = object.at("query");
    std::string text{query.is_object() ? query.at("query").as_string() : query.as_string()};
    queries.push_back({name + ": variable " + std::string{object.at("name").as_string()},
                       substituted(selector_of(text))});
  }
  return queries;
}

// A YAML double-quoted scalar is a JSON string.
std::string yaml_quoted(const std::string& text) { return boost::json::serialize(boost::json::value(text)); }

TEST_F(sqlite_agent_test, DashboardsAndRulesNameOnlyExportedMetricsAndPromtoolAcceptsThem) {
  auto promtool = run("command -v promtool");
  ASSERT_EQ(promtool.status, 0) << "promtool is missing: scripts/setup installs Debian's "
                                   "prometheus package for it";

  // What a running agent and server export, after a load and a scrape.
  site_exec("CREATE TABLE orders (id BIGINT PRIMARY KEY, note TEXT)");
  site_exec("INSERT INTO orders VALUES (1, 'one'), (2, 'two')");
  prepare({"orders"});
  auto config = agent_config({"orders"});
  config.metrics_listen = config::host_port{"127.0.0.1", 0};
  actors::agent agent{config};
  ASSERT_TRUE(agent.run_once().all_in_sync());
  std::set<std::string> exported;
  protocol::http_client agent_metrics{"http://127.0.0.1:" + std::to_string(*agent.metrics_port())};
  add_exported(agent_metrics.get("/metrics").body, exported);
  protocol::http_client server_metrics{"http://127.0.0.1:" + std::to_string(port_)};
  // The agents-by-version family has a series once the fleet view has saved
  // the agent's first report (every report_interval, 200 ms here).
  std::string server_page;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  do {
    server_page = server_metrics.get("/metrics").body;
    if (server_page.find("tidesync_server_fleet_agents{") != std::string::npos)
      break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  } while (std::chrono::steady_clock::now() < deadline);
  add_exported(server_page, exported);
  ASSERT_TRUE(exported.contains("tidesync_agent_table_state"));
  ASSERT_TRUE(exported.contains("tidesync_server_requests_total"));

  // Every dashboard query: exported names only, and PromQL that parses.
  std::vector<dashboard_query> queries;
  std::size_t dashboards = 0;
  for (const auto& entry : std::filesystem::directory_iterator{deploy_dir / "grafana"}) {
    if (entry.path().extension() != ".json")
      continue;
    ++dashboards;
    auto found = dashboard_queries(entry.path());
    EXPECT_GE(found.size(), 5u) << entry.path();
    queries.insert(queries.end(), found.begin(), found.end());
  }
  EXPECT_EQ(dashboards, 2u) << "deploy/grafana holds the site and the fleet dashboard";
  std::string rules = "groups:\n  - name: dashboard_queries\n    rules:\n";
  for (std::size_t i = 0; i < queries.size(); ++i) {
    auto names = tidesync_names_in(queries[i].promql);
    EXPECT_FALSE(names.empty()) << queries[i].where << ": " << queries[i].promql;
    for (const auto& name : names)
      EXPECT_TRUE(exported.contains(name))
        << queries[i].where << " uses " << name << ", which neither process exports";
    rules += "      - record: dashboard_query_" + std::to_string(i) + "\n        expr: " +
             yaml_quoted(queries[i].promql) + "\n";
  }
  auto rules_file = dir_.path() / "dashboard-queries.yml";
  std::ofstream{rules_file} << rules;
  auto parsed = run("promtool check rules " + rules_file.string());
  EXPECT_EQ(parsed.status, 0) << "a dashboard query does not parse as PromQL:\n" << parsed.output;

  // The alerting rules: exported names only; promtool checks them and the
  // scrape configuration that loads them.
  const auto alerts = deploy_dir / "prometheus" / "tidesync-alerts.yml";
  for (const auto& name : tidesync_names_in(read_file(alerts)))
    EXPECT_TRUE(exported.contains(name)) << "tidesync-alerts.yml uses " << name
                                         << ", which neither process exports";
  auto checked_rules = run("promtool check rules " + alerts.string());
  EXPECT_EQ(checked_rules.status, 0) << checked_rules.output;
  auto checked_config =
    run("promtool check config " + (deploy_dir / "prometheus" / "prometheus.yml").string());
  EXPECT_EQ(checked_config.status, 0) << checked_config.output;
}

} // namespace
} // namespace tidesync::testing
