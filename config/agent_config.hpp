#pragma once

#include "config/common.hpp"

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace tidesync::config {

inline constexpr const char* default_version_column = "tidesync_version";
inline constexpr std::chrono::milliseconds default_interval{60'000};
inline constexpr std::chrono::milliseconds default_request_timeout{30'000};
inline constexpr std::chrono::milliseconds default_verify_interval{3'600'000};
inline constexpr std::int64_t default_batch_min = 1;
inline constexpr std::int64_t default_batch_initial = 500;
inline constexpr std::int64_t default_batch_max = 50'000;

struct server_endpoint {
  std::string url; // http:// or https://
  std::string client_id;
  std::string token;
  std::optional<std::string> ca_file; // extra trust for https
  /// `http://host:port` of an HTTP proxy, or "none"; absent: HTTPS_PROXY,
  /// HTTP_PROXY and NO_PROXY from the environment decide.
  std::optional<std::string> proxy;
};

struct batch_bounds {
  std::int64_t min = default_batch_min;
  std::int64_t initial = default_batch_initial;
  std::int64_t max = default_batch_max;
};

/// How much the agent runs at once: fixed numbers, whatever the number of
/// databases and tables (`engine` in agent.yaml).
struct engine_limits {
  /// Threads that run blocking work: source reads, uploads, state writes.
  std::int64_t workers = 4;
  /// Connections open at once to one source database.
  std::int64_t max_connections = 2;
  /// Requests to the server in flight at once, agent-wide.
  std::int64_t max_in_flight = 4;
};

struct table_config {
  std::string name;
  std::vector<std::string> key; // empty: discovered from the primary key
  std::string version_column = default_version_column;
  std::optional<std::string> modified_column;
  /// Columns that never leave the site: not read, not sent, not in digests.
  std::vector<std::string> exclude_columns;
  /// The name the table has in the cloud, when not its own.
  std::optional<std::string> remote_name;
  /// Only rows for which this SQL condition (in the site database's own
  /// dialect) is true leave the site; a row that stops matching is deleted
  /// from the cloud copy.
  std::optional<std::string> where;

  /// The table's name in the cloud: every request to the server uses it.
  const std::string& remote() const { return remote_name ? *remote_name : name; }
};

struct database_config {
  std::string name;
  std::string source; // postgresql://… or sqlite:///path
  std::vector<table_config> tables;
};

/// `tidesync agent` configuration (see deploy/agent.yaml).
struct agent_config {
  server_endpoint server;
  std::string state_dir = "./state";
  std::chrono::milliseconds interval = default_interval;
  std::chrono::milliseconds request_timeout = default_request_timeout;
  /// How often a running agent compares every table by content digests.
  std::chrono::milliseconds verify_interval = default_verify_interval;
  /// Wake on committed changes (PostgreSQL LISTEN, SQLite file watch) instead
  /// of waiting for `interval` alone.
  bool notify = true;
  /// Send upload bodies compressed (zstd, or gzip for a server without it);
  /// off trades bandwidth for CPU on a fast link.
  bool compress = true;
  batch_bounds batch;
  engine_limits engine;
  std::optional<host_port> metrics_listen;
  std::vector<database_config> databases;
  std::string log_level = "info";
  std::string log_format = "text";  // log_formats
};

/// What the caller will do with the config, and so which parts must be usable.
enum class agent_config_scope {
  /// Everything, for `tidesync agent` and `status`.
  full,
  /// Local database work only (`tidesync prepare`), which never contacts the
  /// server: a `server` value naming an unset `${VAR}` is left empty instead of
  /// failing. The rest of the file, and `server`'s keys, kinds and other
  /// values, are checked as in `full`.
  local,
};

/// Reads and validates an agent config file. Throws config_error naming the
/// file, line and key.
agent_config load_agent_config(const std::string& path,
                               agent_config_scope scope = agent_config_scope::full);

/// Same, from YAML text; `source` names it in error messages.
agent_config parse_agent_config(const std::string& yaml, const std::string& source,
                                agent_config_scope scope = agent_config_scope::full);

} // namespace tidesync::config
