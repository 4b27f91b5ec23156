#pragma once

#include "config/common.hpp"

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace tidesync::config {

inline constexpr std::uint16_t default_server_port = 8080;
inline constexpr const char* default_data_schema = "tidesync_data";
inline constexpr int default_pool_size = 8;
inline constexpr std::uint64_t default_max_body_bytes = 64ull << 20;
inline constexpr int default_io_threads = 2;
inline constexpr int default_max_connections = 1024;
/// When max_workers_per_client is left out, one client may hold this share
/// of pool_size (rounded down, at least 1): 3 of 4 workers, 6 of 8, 1 of 2.
inline constexpr int default_client_workers_numerator = 3;
inline constexpr int default_client_workers_denominator = 4;
/// When max_waiting_per_client is left out, one client may fill this share
/// of max_waiting (rounded up): half.
inline constexpr int default_client_waiting_numerator = 1;
inline constexpr int default_client_waiting_denominator = 2;
/// max_workers_per_client and max_waiting_per_client: derive from the pool.
inline constexpr int derived_from_pool = -1;

inline constexpr int default_tables_per_database = 1'000;
inline constexpr int default_columns_per_table = 200;
inline constexpr int default_columns_per_shared_table = 800;

/// What one tenant may ask of the shared store (the `tenants:` mapping).
/// A declaration over a limit is refused with 422 and changes nothing.
struct tenant_limits {
  /// Tables one registered database may declare.
  int tables_per_database = default_tables_per_database;
  /// Columns one declaration may carry, key and version columns included.
  int columns_per_table = default_columns_per_table;
  /// Columns a shared table may reach from all tenants' declarations together;
  /// half of PostgreSQL's 1,600, since dropped columns still count there.
  int columns_per_shared_table = default_columns_per_shared_table;
};

struct tls_files {
  std::string cert;
  std::string key;
};

/// `tidesync server` configuration (see deploy/server.yaml).
struct server_config {
  host_port listen{"127.0.0.1", default_server_port};
  std::string database; // PostgreSQL URL; required
  std::string data_schema = default_data_schema;
  int pool_size = default_pool_size;
  /// Requests that may wait for a free connection before new ones get 503.
  /// The loader fills in 4 × pool_size when the key is absent; 0 means none wait.
  int max_waiting = 4 * default_pool_size;
  std::uint64_t max_body_bytes = default_max_body_bytes;
  int io_threads = default_io_threads;
  /// Connections served at once; beyond that a new one gets 503 and is closed.
  int max_connections = default_max_connections;
  /// Database workers one client's requests may hold at once, 1 to
  /// pool_size; derived_from_pool: client_workers_for(pool_size).
  int max_workers_per_client = derived_from_pool;
  /// Requests of one client that may wait for a worker beyond those, 0 to
  /// max_waiting; derived_from_pool: client_waiting_for(max_waiting).
  int max_waiting_per_client = derived_from_pool;
  tenant_limits tenants;
  std::optional<tls_files> tls;
  std::string log_level = "info";
  std::string log_format = "text";  // log_formats
  /// How often the fleet view saves what agents reported and reads the
  /// fleet gauges back from the store.
  std::chrono::milliseconds report_interval{15'000};
};

/// The default max_workers_per_client for a pool of `pool_size` workers.
int client_workers_for(int pool_size);

/// The default max_waiting_per_client for a wait queue of `max_waiting`.
int client_waiting_for(int max_waiting);

/// Reads and validates a server config file. Throws config_error naming the
/// file, line and key.
server_config load_server_config(const std::string& path);

/// Same, from YAML text; `source` names it in error messages.
server_config parse_server_config(const std::string& yaml, const std::string& source);

} // namespace tidesync::config
