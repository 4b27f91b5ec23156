#include "config/agent_config.hpp"

#include "config/config_error.hpp"

#include <gtest/gtest.h>

#include <cstdlib>

using namespace tidesync::config;
using namespace std::chrono_literals;

namespace {

/// The message of the config_error the text raises, or "" (and a failure) if none.
std::string error_of(const std::string& yaml, agent_config_scope scope = agent_config_scope::full) {
  try {
    parse_agent_config(yaml, "agent.yaml", scope);
  } catch (const config_error& e) {
    return e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "not a config_error: " << e.what();
    return {};
  }
  ADD_FAILURE() << "accepted:\n" << yaml;
  return {};
}

/// Line 1: the server; line 2: `databases:`; one database from line 3.
const std::string server_line = "server: {url: http://127.0.0.1:8080, client_id: acme, token: t}\n";

std::string with_databases(const std::string& databases) {
  return server_line + "databases:\n" + databases;
}

std::string with_top(const std::string& top) {
  return server_line + top +
         "databases:\n  - {name: store, source: \"sqlite:///s.db\", tables: [orders]}\n";
}

} // namespace

#define EXPECT_CONTAINS(text, part) EXPECT_NE((text).find(part), std::string::npos) << (text)

TEST(AgentConfig, DocumentedExampleParsesCompletely) {
  ::setenv("TIDESYNC_TEST_AGENT_TOKEN", "s3cret", 1);
  const auto c = parse_agent_config(R"(
server: {url: http://127.0.0.1:8080, client_id: acme, token: "${TIDESYNC_TEST_AGENT_TOKEN}"}
state_dir: ./state
interval: 60s
request_timeout: 30s
verify_interval: 2h
batch: {min: 1, initial: 500, max: 50000}
metrics: {listen: 127.0.0.1:9464}
log_level: info
databases:
  - name: store-01
    source: postgresql://user@localhost/store01
    tables:
      - orders
      - {name: order_lines, key: [order_id, line_no], version_column: tidesync_version, modified_column: updated_at}
)",
                                    "agent.yaml");
  EXPECT_EQ(c.server.url, "http://127.0.0.1:8080");
  EXPECT_EQ(c.server.client_id, "acme");
  EXPECT_EQ(c.server.token, "s3cret");
  EXPECT_FALSE(c.server.ca_file.has_value());
  EXPECT_EQ(c.interval, 60s);
  EXPECT_EQ(c.request_timeout, 30s);
  EXPECT_EQ(c.verify_interval, 2h);
  EXPECT_EQ(c.batch.initial, 500);
  ASSERT_TRUE(c.metrics_listen.has_value());
  EXPECT_EQ(c.metrics_listen->port, 9464);
  ASSERT_EQ(c.databases.size(), 1u);
  const auto& db = c.databases[0];
  EXPECT_EQ(db.name, "store-01");
  ASSERT_EQ(db.tables.size(), 2u);
  EXPECT_EQ(db.tables[0].name, "orders");
  EXPECT_TRUE(db.tables[0].key.empty());
  EXPECT_EQ(db.tables[1].key, (std::vector<std::string>{"order_id", "line_no"}));
  EXPECT_EQ(db.tables[1].modified_column, "updated_at");
}

TEST(AgentConfig, MinimalConfigGetsEveryDefault) {
  const auto c = parse_agent_config(with_top(""), "agent.yaml");
  EXPECT_EQ(c.state_dir, "./state");
  EXPECT_EQ(c.interval, default_interval);
  EXPECT_EQ(c.request_timeout, default_request_timeout);
  EXPECT_EQ(c.verify_interval, default_verify_interval);
  EXPECT_EQ(c.batch.min, default_batch_min);
  EXPECT_EQ(c.batch.initial, default_batch_initial);
  EXPECT_EQ(c.batch.max, default_batch_max);
  EXPECT_FALSE(c.metrics_listen.has_value());
  EXPECT_EQ(c.log_level, "info");
  EXPECT_TRUE(c.notify);
  EXPECT_TRUE(c.compress);
  EXPECT_EQ(c.engine.workers, 4);
  EXPECT_EQ(c.engine.max_connections, 2);
  EXPECT_EQ(c.engine.max_in_flight, 4);
  EXPECT_EQ(c.databases[0].tables[0].version_column, default_version_column);
  EXPECT_FALSE(c.databases[0].tables[0].modified_column.has_value());
}

TEST(AgentConfig, NotifyCanBeTurnedOff) {
  EXPECT_FALSE(parse_agent_config(with_top("notify: false\n"), "agent.yaml").notify);
  EXPECT_TRUE(parse_agent_config(with_top("notify: true\n"), "agent.yaml").notify);
}

TEST(AgentConfig, EngineLimitsAreRead) {
  auto c = parse_agent_config(
    with_top("engine:\n  workers: 8\n  max_connections: 3\n  max_in_flight: 16\n"), "agent.yaml");
  EXPECT_EQ(c.engine.workers, 8);
  EXPECT_EQ(c.engine.max_connections, 3);
  EXPECT_EQ(c.engine.max_in_flight, 16);
}

TEST(AgentConfig, EngineLimitOutOfRangeOrUnknownNamesTheKeyAndLine) {
  EXPECT_CONTAINS(error_of(with_top("engine:\n  workers: 0\n")), "agent.yaml:3: engine.workers");
  EXPECT_CONTAINS(error_of(with_top("engine:\n  max_connections: 1000\n")),
                  "agent.yaml:3: engine.max_connections");
  EXPECT_CONTAINS(error_of(with_top("engine:\n  threads: 2\n")), "agent.yaml:3: engine.threads");
}

TEST(AgentConfig, NotifyOtherThanTrueOrFalseNamesTheKeyAndLine) {
  EXPECT_CONTAINS(error_of(with_top("notify: yes\n")),
                  "agent.yaml:2: notify: expected true or false, got \"yes\"");
  EXPECT_CONTAINS(error_of(with_top("notify: [true]\n")), "agent.yaml:2: notify: expected true or false");
}

TEST(AgentConfig, CompressCanBeTurnedOff) {
  EXPECT_FALSE(parse_agent_config(with_top("compress: false\n"), "agent.yaml").compress);
  EXPECT_TRUE(parse_agent_config(with_top("compress: true\n"), "agent.yaml").compress);
}

TEST(AgentConfig, CompressOtherThanTrueOrFalseNamesTheKeyAndLine) {
  EXPECT_CONTAINS(error_of(with_top("compress: 6\n")),
                  "agent.yaml:2: compress: expected true or false, got \"6\"");
  EXPECT_CONTAINS(error_of(with_top("compress: {level: 6}\n")),
                  "agent.yaml:2: compress: expected true or false");
  EXPECT_CONTAINS(error_of(with_top("compres: false\n")),
                  "agent.yaml:2: compres: unknown key (did you mean compress?)");
}

TEST(AgentConfig, SqliteAndPostgresSchemesAreAccepted) {
  const auto c = parse_agent_config(
      with_databases("  - {name: a, source: \"sqlite:///var/a.db\", tables: [t]}\n"
                     "  - {name: b, source: \"postgres://h/b\", tables: [t]}\n"),
      "agent.yaml");
  EXPECT_EQ(c.databases[0].source, "sqlite:///var/a.db");
  EXPECT_EQ(c.databases[1].source, "postgres://h/b");
}

TEST(AgentConfig, ScalarTableKeyIsReportedWithItsFullPath) {
  const auto e = error_of(with_databases("  - {name: a, source: \"sqlite:///a.db\", tables: [t]}\n"
                                         "  - name: b\n"
                                         "    source: sqlite:///b.db\n"
                                         "    tables:\n"
                                         "      - {name: x, key: order_id}\n"));
  EXPECT_CONTAINS(e, "agent.yaml:7: databases[1].tables[0].key: expected a list of column names");
}

TEST(AgentConfig, UnsetTokenVariableNamesTheVariableKeyAndLine) {
  ::unsetenv("TIDESYNC_TEST_UNSET");
  const auto e = error_of("server:\n  url: https://h\n  client_id: acme\n"
                          "  token: ${TIDESYNC_TEST_UNSET}\n");
  EXPECT_CONTAINS(
      e, "agent.yaml:4: server.token: environment variable TIDESYNC_TEST_UNSET is not set");
}

TEST(AgentConfig, UnsetTokenVariableLoadsInLocalScopeAndFailsInFullScope) {
  ::unsetenv("TIDESYNC_TEST_UNSET");
  const std::string yaml =
      "server: {url: http://127.0.0.1:8080, client_id: acme, token: \"${TIDESYNC_TEST_UNSET}\"}\n"
      "databases:\n  - {name: store, source: \"sqlite:///s.db\", tables: [orders]}\n";
  const auto c = parse_agent_config(yaml, "agent.yaml", agent_config_scope::local);
  EXPECT_TRUE(c.server.token.empty());
  EXPECT_EQ(c.server.url, "http://127.0.0.1:8080");
  EXPECT_EQ(c.server.client_id, "acme");
  ASSERT_EQ(c.databases.size(), 1u);
  EXPECT_EQ(c.databases[0].tables[0].name, "orders");
  EXPECT_CONTAINS(
      error_of(yaml, agent_config_scope::full),
      "agent.yaml:1: server.token: environment variable TIDESYNC_TEST_UNSET is not set");
}

TEST(AgentConfig, LocalScopeLeavesEveryUnsetServerVariableEmpty) {
  ::unsetenv("TIDESYNC_TEST_UNSET");
  const auto c = parse_agent_config(
      "server:\n  url: ${TIDESYNC_TEST_UNSET}\n  client_id: ${TIDESYNC_TEST_UNSET}\n"
      "  token: ${TIDESYNC_TEST_UNSET}\n  ca_file: ${TIDESYNC_TEST_UNSET}/ca.pem\n"
      "databases:\n  - {name: store, source: \"sqlite:///s.db\", tables: [orders]}\n",
      "agent.yaml", agent_config_scope::local);
  EXPECT_TRUE(c.server.url.empty());
  EXPECT_TRUE(c.server.client_id.empty());
  EXPECT_TRUE(c.server.token.empty());
  EXPECT_FALSE(c.server.ca_file.has_value());
}

TEST(AgentConfig, LocalScopeStillRejectsAnUnsetVariableOutsideServer) {
  ::unsetenv("TIDESYNC_TEST_UNSET");
  EXPECT_CONTAINS(error_of(with_databases("  - name: store\n    source: ${TIDESYNC_TEST_UNSET}\n"
                                          "    tables: [orders]\n"),
                           agent_config_scope::local),
                  "agent.yaml:4: databases[0].source: environment variable TIDESYNC_TEST_UNSET is "
                  "not set");
}

TEST(AgentConfig, LocalScopeStillChecksTheServerSectionsKeysAndValues) {
  ::unsetenv("TIDESYNC_TEST_UNSET");
  const auto local = agent_config_scope::local;
  const std::string databases = "databases:\n  - {name: a, source: \"sqlite:///a\", tables: [t]}\n";
  EXPECT_CONTAINS(error_of("server:\n  url: http://h\n  client_id: a\n"
                           "  token: ${TIDESYNC_TEST_UNSET}\n  tokne: x\n" +
                               databases,
                           local),
                  "agent.yaml:5: server.tokne: unknown key (did you mean token?)");
  EXPECT_CONTAINS(error_of("server: {url: http://h, client_id: a}\n" + databases, local),
                  "agent.yaml:1: server.token: required key is missing");
  EXPECT_CONTAINS(
      error_of("server: {url: http://h, client_id: a, token: [t]}\n" + databases, local),
      "agent.yaml:1: server.token: expected a string, got a list");
  EXPECT_CONTAINS(
      error_of("server: {url: ftp://h, client_id: a, token: \"${TIDESYNC_TEST_UNSET}\"}\n" +
                   databases,
               local),
      "agent.yaml:1: server.url: expected an http:// or https:// URL");
  EXPECT_CONTAINS(error_of(with_top("interval: 10x\n"), local),
                  "agent.yaml:2: interval: expected a duration");
}

TEST(AgentConfig, MissingTokenNamesTheKeyAndTheServerLine) {
  EXPECT_CONTAINS(error_of("server: {url: http://h:1, client_id: acme}\n"),
                  "agent.yaml:1: server.token: required key is missing");
}

TEST(AgentConfig, MissingServerIsReported) {
  EXPECT_CONTAINS(error_of("state_dir: x\n"), "agent.yaml:1: server: required key is missing");
}

TEST(AgentConfig, MissingDatabasesIsReported) {
  EXPECT_CONTAINS(error_of(server_line), "agent.yaml:1: databases: required key is missing");
}

TEST(AgentConfig, ServerUrlMustBeHttpOrHttps) {
  EXPECT_CONTAINS(error_of("server: {url: ftp://h, client_id: a, token: t}\n"),
                  "agent.yaml:1: server.url: expected an http:// or https:// URL");
  EXPECT_CONTAINS(error_of("server: {url: \"http://\", client_id: a, token: t}\n"),
                  "agent.yaml:1: server.url:");
}

TEST(AgentConfig, ClientIdWithSlashIsRejected) {
  EXPECT_CONTAINS(error_of("server: {url: http://h, client_id: a/b, token: t}\n"),
                  "agent.yaml:1: server.client_id: expected letters, digits");
}

TEST(AgentConfig, CaFileThatDoesNotExistIsRejected) {
  EXPECT_CONTAINS(
      error_of("server: {url: https://h, client_id: a, token: t, ca_file: /nonexistent/ca.pem}\n"),
      "agent.yaml:1: server.ca_file: file \"/nonexistent/ca.pem\" does not exist");
}

TEST(AgentConfig, UnsupportedSourceSchemeIsRejected) {
  EXPECT_CONTAINS(
      error_of(with_databases("  - name: a\n    source: mysql://h/a\n    tables: [t]\n")),
      "agent.yaml:4: databases[0].source: expected a postgresql://, postgres:// or "
      "sqlite:// URL, got \"mysql://h/a\"");
}

TEST(AgentConfig, DuplicateDatabaseNameIsReportedAtTheSecond) {
  const auto e =
      error_of(with_databases("  - {name: a, source: \"sqlite:///a.db\", tables: [t]}\n"
                              "  - {name: a, source: \"sqlite:///b.db\", tables: [t]}\n"));
  EXPECT_CONTAINS(e, "agent.yaml:4: databases[1]: duplicate database name \"a\"");
}

TEST(AgentConfig, DuplicateTableNameIsReportedAtTheSecond) {
  const auto e = error_of(with_databases("  - name: a\n    source: sqlite:///a.db\n    tables:\n"
                                         "      - orders\n      - {name: orders}\n"));
  EXPECT_CONTAINS(e, "agent.yaml:7: databases[0].tables[1]: duplicate table \"orders\"");
}

TEST(AgentConfig, TableNameMustBeAnIdentifier) {
  const auto e = error_of(with_databases(
      "  - name: a\n    source: sqlite:///a.db\n    tables:\n      - order-lines\n"));
  EXPECT_CONTAINS(e, "agent.yaml:6: databases[0].tables[0]: expected an identifier");
}

TEST(AgentConfig, TableMappingWithoutNameIsReported) {
  const auto e = error_of(with_databases(
      "  - name: a\n    source: sqlite:///a.db\n    tables:\n      - {key: [id]}\n"));
  EXPECT_CONTAINS(e, "agent.yaml:6: databases[0].tables[0].name: required key is missing");
}

TEST(AgentConfig, MisspelledTableKeyIsAnUnknownKey) {
  const auto e = error_of(
      with_databases("  - name: a\n    source: sqlite:///a.db\n    tables:\n      - name: t\n"
                     "        versoin_column: v\n"));
  EXPECT_CONTAINS(e, "agent.yaml:7: databases[0].tables[0].versoin_column: unknown key (did you "
                     "mean version_column?)");
}

TEST(AgentConfig, KeyColumnsMustBeDistinctIdentifiers) {
  EXPECT_CONTAINS(error_of(with_databases("  - {name: a, source: \"sqlite:///a\", tables: "
                                          "[{name: t, key: [id, id]}]}\n")),
                  "agent.yaml:3: databases[0].tables[0].key[1]: duplicate name \"id\"");
  EXPECT_CONTAINS(error_of(with_databases("  - {name: a, source: \"sqlite:///a\", tables: "
                                          "[{name: t, key: []}]}\n")),
                  "agent.yaml:3: databases[0].tables[0].key: expected a list of column names, got "
                  "an empty list");
}

TEST(AgentConfig, TableThatIsAListIsRejected) {
  EXPECT_CONTAINS(
      error_of(with_databases("  - {name: a, source: \"sqlite:///a\", tables: [[t]]}\n")),
      "agent.yaml:3: databases[0].tables[0]: expected a table name or a mapping");
}

TEST(AgentConfig, EmptyListsAreRejected) {
  EXPECT_CONTAINS(error_of(with_databases("  - {name: a, source: \"sqlite:///a\", tables: []}\n")),
                  "agent.yaml:3: databases[0].tables: expected at least one table");
  EXPECT_CONTAINS(error_of(server_line + "databases: []\n"),
                  "agent.yaml:2: databases: expected at least one database");
  EXPECT_CONTAINS(error_of(server_line + "databases: store\n"),
                  "agent.yaml:2: databases: expected a list of databases, got \"store\"");
}

TEST(AgentConfig, BadDurationIsRejected) {
  EXPECT_CONTAINS(error_of(with_top("interval: 10x\n")),
                  "agent.yaml:2: interval: expected a duration such as 250ms, 30s, 5m or 1h, got "
                  "\"10x\"");
  EXPECT_CONTAINS(error_of(with_top("request_timeout: 0s\n")),
                  "agent.yaml:2: request_timeout: must be longer than zero");
  EXPECT_CONTAINS(error_of(with_top("verify_interval: often\n")),
                  "agent.yaml:2: verify_interval: expected a duration");
}

TEST(AgentConfig, BatchBoundsMustBeOrdered) {
  EXPECT_CONTAINS(error_of(with_top("batch:\n  min: 10\n  initial: 5\n")),
                  "agent.yaml:4: batch.initial: batch.initial must be between batch.min (10) and "
                  "batch.max (50000), got 5");
  EXPECT_CONTAINS(error_of(with_top("batch: {min: 10, initial: 10, max: 5}\n")),
                  "agent.yaml:2: batch.max: batch.min (10) must not exceed batch.max (5)");
  EXPECT_CONTAINS(error_of(with_top("batch: {max: 100}\n")),
                  "agent.yaml:2: batch.max: batch.initial must be between");
}

TEST(AgentConfig, BatchBoundsMustBePositive) {
  EXPECT_CONTAINS(error_of(with_top("batch: {min: 0}\n")),
                  "agent.yaml:2: batch.min: must be between 1");
  EXPECT_CONTAINS(error_of(with_top("batch: {initial: many}\n")),
                  "agent.yaml:2: batch.initial: expected an integer, got \"many\"");
}

TEST(AgentConfig, MetricsNeedAValidListenAddress) {
  EXPECT_CONTAINS(error_of(with_top("metrics:\n  listen: 127.0.0.1:99999\n")),
                  "agent.yaml:3: metrics.listen: expected host:port");
  EXPECT_CONTAINS(error_of(with_top("metrics: {port: 9464}\n")),
                  "agent.yaml:2: metrics.port: unknown key");
}

TEST(AgentConfig, UnknownTopLevelKeyIsReported) {
  EXPECT_CONTAINS(error_of(with_top("intervall: 60s\n")),
                  "agent.yaml:2: intervall: unknown key (did you mean interval?)");
}

TEST(AgentConfig, MalformedYamlReportsTheParserLine) {
  EXPECT_CONTAINS(error_of(server_line + "databases:\n  - {name: a\n"), "agent.yaml:");
  EXPECT_CONTAINS(error_of(server_line + "databases:\n  - {name: a\n"), "invalid YAML");
}

TEST(AgentConfig, ExcludeColumnsAreRead) {
  auto c = parse_agent_config(
      with_databases("  - name: store\n"
                     "    source: \"sqlite:///s.db\"\n"
                     "    tables:\n"
                     "      - {name: customers, exclude_columns: [card_number, notes]}\n"
                     "      - orders\n"),
      "agent.yaml");
  EXPECT_EQ(c.databases[0].tables[0].exclude_columns,
            (std::vector<std::string>{"card_number", "notes"}));
  EXPECT_TRUE(c.databases[0].tables[1].exclude_columns.empty());
}

TEST(AgentConfig, ARemoteNameIsReadAndTwoTablesCannotShareOne) {
  auto tables = [](const std::string& entries) {
    return with_databases("  - name: store\n"
                          "    source: \"sqlite:///s.db\"\n"
                          "    tables:\n" +
                          entries);
  };
  auto c = parse_agent_config(
      tables("      - {name: orders, remote_name: shop_orders}\n      - items\n"), "agent.yaml");
  EXPECT_EQ(c.databases[0].tables[0].remote(), "shop_orders");
  EXPECT_EQ(c.databases[0].tables[0].name, "orders");
  EXPECT_EQ(c.databases[0].tables[1].remote(), "items");
  EXPECT_CONTAINS(
      error_of(tables("      - {name: orders, remote_name: items}\n      - items\n")),
      "agent.yaml:7: databases[0].tables[1]: tables \"orders\" and \"items\" would both be "
      "\"items\" in the cloud");
  EXPECT_CONTAINS(error_of(tables("      - {name: a, remote_name: x}\n"
                                  "      - {name: b, remote_name: x}\n")),
                  "would both be \"x\" in the cloud: give one a different remote_name");
  EXPECT_CONTAINS(error_of(tables("      - {name: a, remote_name: \"bad name\"}\n")),
                  "remote_name: expected an identifier");
}

TEST(AgentConfig, AWhereIsOneConditionAndAnythingThatCouldEndItIsRefused) {
  auto table = [](const std::string& where) {
    return with_databases("  - name: store\n"
                          "    source: \"sqlite:///s.db\"\n"
                          "    tables:\n"
                          "      - name: t\n"
                          "        where: " +
                          where + "\n");
  };
  auto c = parse_agent_config(table("\"branch = 1 AND (note <> 'it''s; -- (fine')\""),
                              "agent.yaml");
  EXPECT_EQ(c.databases[0].tables[0].where, "branch = 1 AND (note <> 'it''s; -- (fine')");
  EXPECT_FALSE(parse_agent_config(table("\"1 = 1\""), "agent.yaml").databases[0].tables[0]
                   .remote_name);
  const std::pair<const char*, const char*> refused[] = {
      {"\"a = 1; DROP TABLE t\"", "a ';'"},
      {"\"a = 1) UNION SELECT * FROM secrets WHERE (1 = 1\"", "a ')' that closes more"},
      {"\"(a = 1\"", "a '(' that is never closed"},
      {"\"a = 1 -- and more\"", "a comment"},
      {"\"a = 1 /* x */\"", "a comment"},
      {"\"a = 'open\"", "a string that is never closed"},
      {"\"a = $$)$$\"", "a '$'"},
      {"\"a = E'\\\\''\"", "a backslash"},
      {"\"[a] = 1\"", "a '['"},
      {"\"\"", "must not be empty"},
      {"\"branch = ?\"", "a parameter ('?')"},
      {"\"branch = :b\"", "a parameter (':')"},
      {"\"branch = @b\"", "a parameter ('@')"},
  };
  EXPECT_EQ(parse_agent_config(table("\"branch::text = '1' AND note <> ':x ?'\""), "agent.yaml")
                .databases[0].tables[0].where,
            "branch::text = '1' AND note <> ':x ?'")
      << "casts, and markers inside strings, are fine";
  for (const auto& [where, reason] : refused) {
    auto error = error_of(table(where));
    EXPECT_CONTAINS(error, "agent.yaml:7: databases[0].tables[0].where:");
    EXPECT_CONTAINS(error, reason);
  }
}

TEST(AgentConfig, AServerProxyIsAnHttpUrlOrNone) {
  auto with_proxy = [](const std::string& proxy) {
    return "server:\n"
           "  url: https://cloud.example.com\n"
           "  client_id: acme\n"
           "  token: t\n"
           "  proxy: " +
           proxy +
           "\n"
           "databases:\n"
           "  - name: store\n"
           "    source: \"sqlite:///s.db\"\n"
           "    tables: [orders]\n";
  };
  EXPECT_EQ(parse_agent_config(with_proxy("http://proxy.lan:3128"), "agent.yaml").server.proxy,
            "http://proxy.lan:3128");
  EXPECT_EQ(parse_agent_config(with_proxy("none"), "agent.yaml").server.proxy, "none");
  EXPECT_CONTAINS(error_of(with_proxy("https://proxy.lan:3128")),
                  "agent.yaml:5: server.proxy: expected none or an http:// proxy URL");
  EXPECT_CONTAINS(error_of(with_proxy("proxy.lan:3128")), "server.proxy");
  auto leaked = error_of(with_proxy("HTTPS://store7:S3cret@proxy.lan:3128"));
  EXPECT_CONTAINS(leaked, "got \"proxy.lan:3128\"");
  EXPECT_EQ(leaked.find("S3cret"), std::string::npos) << leaked;
}

TEST(AgentConfig, ExcludingWhatARowNeedsNamesTheColumnAndLine) {
  auto table = [](const std::string& entry) {
    return with_databases("  - name: store\n"
                          "    source: \"sqlite:///s.db\"\n"
                          "    tables:\n"
                          "      - " +
                          entry + "\n");
  };
  EXPECT_CONTAINS(error_of(table("{name: t, exclude_columns: [tidesync_version]}")),
                  "agent.yaml:6: databases[0].tables[0].exclude_columns: can't exclude "
                  "\"tidesync_version\": it is the "
                  "table's version column");
  EXPECT_CONTAINS(error_of(table("{name: t, key: [code], exclude_columns: [code]}")),
                  "it is one of the table's key columns");
  EXPECT_CONTAINS(error_of(table("{name: t, modified_column: at, exclude_columns: [at]}")),
                  "it is the table's modified_column");
  EXPECT_CONTAINS(error_of(table("{name: t, exclude_columns: [a, a]}")),
                  "exclude_columns[1]: duplicate name \"a\"");
  EXPECT_CONTAINS(error_of(table("{name: t, exclude_columns: card}")),
                  "expected a list of column names");
}
