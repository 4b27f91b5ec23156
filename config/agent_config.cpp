#include "config/agent_config.hpp"

#include "config/config_error.hpp"
#include "config/yaml_reader.hpp"

#include <algorithm>
#include <cctype>
#include <array>
#include <limits>

namespace tidesync::config {

namespace {

constexpr std::int64_t max_batch_rows = std::numeric_limits<std::int32_t>::max();
constexpr std::array<std::string_view, 2> server_schemes{"http://", "https://"};
constexpr std::array<std::string_view, 3> source_schemes{"postgresql://", "postgres://",
                                                         "sqlite://"};

/// True when `text` starts with one of `schemes` and has something after it.
template <std::size_t N>
bool has_scheme(const std::string& text, const std::array<std::string_view, N>& schemes) {
  return std::any_of(schemes.begin(), schemes.end(), [&](std::string_view scheme) {
    return text.size() > scheme.size() && text.starts_with(scheme);
  });
}

/// Client ids and database names: letters, digits, `-`, `_`, `.` (safe in URLs and logs).
std::string read_url_safe_name(const yaml_value& value) {
  auto name = value.as_nonempty_string();
  const bool safe = std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.';
  });
  if (!safe)
    value.fail("expected letters, digits, '-', '_' or '.', got \"" + name + "\"");
  return name;
}

std::string read_server_url(const yaml_value& value) {
  auto url = value.as_nonempty_string();
  if (!has_scheme(url, server_schemes))
    value.fail("expected an http:// or https:// URL, got \"" + url + "\"");
  return url;
}

server_endpoint read_server(const yaml_value& value, agent_config_scope scope) {
  const yaml_mapping server(value, {"url", "client_id", "token", "ca_file", "proxy"});
  // Local work never uses these values, so one whose variable is not set yet stays empty.
  const auto wanted = [scope](const yaml_value& v) {
    return scope == agent_config_scope::full || !v.has_unset_variable();
  };
  server_endpoint endpoint;
  if (const auto url = server.require("url"); wanted(url))
    endpoint.url = read_server_url(url);
  if (const auto client_id = server.require("client_id"); wanted(client_id))
    endpoint.client_id = read_url_safe_name(client_id);
  if (const auto token = server.require("token"); wanted(token))
    endpoint.token = token.as_nonempty_string();
  if (auto v = server.find("ca_file"); v && wanted(*v))
    endpoint.ca_file = v->as_existing_file();
  if (auto v = server.find("proxy"); v && wanted(*v)) {
    auto proxy = v->as_nonempty_string();
    if (proxy != "none" && !has_scheme(proxy, std::array<std::string_view, 1>{"http://"})) {
      // The URL may carry a password: only what comes after it is shown.
      auto shown = proxy.substr(proxy.rfind('@') == std::string::npos ? 0 : proxy.rfind('@') + 1);
      v->fail("expected none or an http:// proxy URL (the tunnel through it carries TLS), got \"" +
              shown + "\"");
    }
    endpoint.proxy = std::move(proxy);
  }
  return endpoint;
}

engine_limits read_engine(const yaml_value& value) {
  const yaml_mapping engine(value, {"workers", "max_connections", "max_in_flight"});
  engine_limits limits;
  // Upper bounds keep a typo from asking for thousands of threads or connections.
  if (auto v = engine.find("workers"))
    limits.workers = v->as_integer(1, 256);
  if (auto v = engine.find("max_connections"))
    limits.max_connections = v->as_integer(1, 64);
  if (auto v = engine.find("max_in_flight"))
    limits.max_in_flight = v->as_integer(1, 256);
  return limits;
}

batch_bounds read_batch(const yaml_value& value) {
  const yaml_mapping batch(value, {"min", "initial", "max"});
  const auto min = batch.find("min");
  const auto initial = batch.find("initial");
  const auto max = batch.find("max");
  batch_bounds bounds;
  if (min)
    bounds.min = min->as_integer(1, max_batch_rows);
  if (initial)
    bounds.initial = initial->as_integer(1, max_batch_rows);
  if (max)
    bounds.max = max->as_integer(1, max_batch_rows);
  // Report at whichever key was written; a default cannot be the one at fault.
  if (bounds.min > bounds.max)
    (max ? *max : *min)
        .fail("batch.min (" + std::to_string(bounds.min) + ") must not exceed batch.max (" +
              std::to_string(bounds.max) + ")");
  if (bounds.initial < bounds.min || bounds.initial > bounds.max) {
    const auto& where = initial ? *initial : (min ? *min : *max);
    where.fail("batch.initial must be between batch.min (" + std::to_string(bounds.min) +
               ") and batch.max (" + std::to_string(bounds.max) + "), got " +
               std::to_string(bounds.initial));
  }
  return bounds;
}

host_port read_metrics(const yaml_value& value) {
  const yaml_mapping metrics(value, {"listen"});
  return metrics.require("listen").as_host_port();
}

// Why `text` can't be a table's row filter, or "" when it can. The filter
// goes inside `WHERE (…)` of every query that reads the table, so it must
// be one condition: nothing in it may end the statement, start a comment or
// close that parenthesis, whatever the site's database is. Quoting only
// PostgreSQL or only SQLite understands (dollar quotes, E'' escapes,
// backticks, brackets) is refused, since it could hide a parenthesis from
// this check.
std::string row_filter_problem(std::string_view text) {
  int depth = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    const char next = i + 1 < text.size() ? text[i + 1] : '\0';
    if (c == '\'' || c == '"') {
      auto end = i + 1;
      for (;; ++end) {
        if (end >= text.size())
          return c == '\'' ? "a string that is never closed" : "a quoted name that is never closed";
        if (text[end] == '\\')
          return "a backslash (write the character itself)";
        if (text[end] == c) {
          if (end + 1 < text.size() && text[end + 1] == c) {
            ++end;  // a doubled quote stands for itself
            continue;
          }
          break;
        }
      }
      i = end;
      continue;
    }
    if (c == ';')
      return "a ';' (it must be one condition, not statements)";
    if ((c == '-' && next == '-') || (c == '/' && next == '*'))
      return "a comment";
    if (c == '$' || c == '`' || c == '[' || c == ']' || c == '\\')
      return std::string{"a '"} + c + "' (use plain 'strings' and \"names\")";
    // Parameter markers would take the values of the query around it.
    const bool name_follows = std::isalpha(static_cast<unsigned char>(next)) || next == '_';
    if (c == '?' || (c == '@' && name_follows) || (c == ':' && name_follows))
      return std::string{"a parameter ('"} + c + "')";
    if (c == ':' && next == ':') {
      ++i;  // a PostgreSQL cast: `branch::text`
      continue;
    }
    if (static_cast<unsigned char>(c) < 0x20 && c != ' ' && c != '\t' && c != '\n' && c != '\r')
      return "a control character";
    if (c == '(')
      ++depth;
    if (c == ')' && --depth < 0)
      return "a ')' that closes more than it opened";
  }
  if (depth > 0)
    return "a '(' that is never closed";
  return {};
}

table_config read_table(const yaml_value& value) {
  table_config table;
  if (value.is_scalar()) {
    table.name = value.as_identifier();
    return table;
  }
  if (!value.is_map())
    value.fail("expected a table name or a mapping with a name");
  const yaml_mapping fields(
      value,
      {"name", "key", "version_column", "modified_column", "exclude_columns", "remote_name",
       "where"});
  table.name = fields.require("name").as_identifier();
  if (auto v = fields.find("key"))
    table.key = v->as_identifier_list("expected a list of column names");
  if (auto v = fields.find("version_column"))
    table.version_column = v->as_identifier();
  if (auto v = fields.find("modified_column"))
    table.modified_column = v->as_identifier();
  if (auto v = fields.find("remote_name"))
    table.remote_name = v->as_identifier();
  if (auto v = fields.find("where")) {
    auto filter = v->as_nonempty_string();
    if (auto problem = row_filter_problem(filter); !problem.empty())
      v->fail("expected one SQL condition, found " + problem + " in \"" + filter + "\"");
    table.where = std::move(filter);
  }
  if (auto v = fields.find("exclude_columns")) {
    table.exclude_columns = v->as_identifier_list("expected a list of column names");
    // What a row can't be replicated without; the site's catalog checks the
    // primary key when `key` is left out.
    for (const auto& column : table.exclude_columns) {
      if (column == table.version_column)
        v->fail("can't exclude \"" + column + "\": it is the table's version column");
      if (table.modified_column && column == *table.modified_column)
        v->fail("can't exclude \"" + column + "\": it is the table's modified_column");
      if (std::find(table.key.begin(), table.key.end(), column) != table.key.end())
        v->fail("can't exclude \"" + column + "\": it is one of the table's key columns");
    }
  }
  return table;
}

std::vector<table_config> read_tables(const yaml_value& value) {
  std::vector<table_config> tables;
  const auto items = value.as_list("expected a list of tables");
  for (const auto& item : items) {
    auto table = read_table(item);
    const bool seen = std::any_of(tables.begin(), tables.end(),
                                  [&](const table_config& t) { return t.name == table.name; });
    if (seen)
      item.fail("duplicate table \"" + table.name + "\" in this database");
    // Two site tables landing in one cloud table would overwrite each other.
    for (const auto& other : tables)
      if (other.remote() == table.remote())
        item.fail("tables \"" + other.name + "\" and \"" + table.name +
                  "\" would both be \"" + table.remote() +
                  "\" in the cloud: give one a different remote_name");
    tables.push_back(std::move(table));
  }
  if (tables.empty())
    value.fail("expected at least one table");
  return tables;
}

database_config read_database(const yaml_value& value) {
  const yaml_mapping fields(value, {"name", "source", "tables"});
  database_config database;
  database.name = read_url_safe_name(fields.require("name"));
  const auto source = fields.require("source");
  database.source = source.as_nonempty_string();
  if (!has_scheme(database.source, source_schemes))
    source.fail("expected a postgresql://, postgres:// or sqlite:// URL, got \"" + database.source +
                "\"");
  database.tables = read_tables(fields.require("tables"));
  return database;
}

std::vector<database_config> read_databases(const yaml_value& value) {
  std::vector<database_config> databases;
  const auto items = value.as_list("expected a list of databases");
  for (const auto& item : items) {
    auto database = read_database(item);
    const bool seen =
        std::any_of(databases.begin(), databases.end(),
                    [&](const database_config& d) { return d.name == database.name; });
    if (seen)
      item.fail("duplicate database name \"" + database.name + "\"");
    databases.push_back(std::move(database));
  }
  if (databases.empty())
    value.fail("expected at least one database");
  return databases;
}

agent_config read_agent_config(const yaml_value& document, agent_config_scope scope) {
  const yaml_mapping root(document, {"server", "state_dir", "interval", "request_timeout", "verify_interval", "notify",
                                     "compress", "batch", "engine", "metrics", "log_level", "log_format", "databases"});
  agent_config config;
  config.server = read_server(root.require("server"), scope);
  if (auto v = root.find("state_dir"))
    config.state_dir = v->as_nonempty_string();
  if (auto v = root.find("interval"))
    config.interval = v->as_duration();
  if (auto v = root.find("request_timeout"))
    config.request_timeout = v->as_duration();
  if (auto v = root.find("verify_interval"))
    config.verify_interval = v->as_duration();
  if (auto v = root.find("notify"))
    config.notify = v->as_bool();
  if (auto v = root.find("compress"))
    config.compress = v->as_bool();
  if (auto v = root.find("batch"))
    config.batch = read_batch(*v);
  if (auto v = root.find("engine"))
    config.engine = read_engine(*v);
  if (auto v = root.find("metrics"))
    config.metrics_listen = read_metrics(*v);
  if (auto v = root.find("log_level"))
    config.log_level = v->as_one_of(log_levels);
  if (auto v = root.find("log_format"))
    config.log_format = v->as_one_of(log_formats);
  config.databases = read_databases(root.require("databases"));
  return config;
}

} // namespace

agent_config parse_agent_config(const std::string& yaml, const std::string& source,
                                agent_config_scope scope) {
  try {
    return read_agent_config(parse_yaml_document(yaml, source), scope);
  } catch (const YAML::Exception& e) {
    // The reader checks node kinds first; this is the net that keeps yaml-cpp inside config/.
    throw config_error(source + ": " + e.what());
  }
}

agent_config load_agent_config(const std::string& path, agent_config_scope scope) {
  return parse_agent_config(read_config_file(path), path, scope);
}

} // namespace tidesync::config
