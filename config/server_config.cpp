#include "config/server_config.hpp"

#include "config/config_error.hpp"
#include "config/yaml_reader.hpp"

#include <algorithm>

namespace tidesync::config {

namespace {

constexpr std::int64_t min_pool_size = 1;
constexpr std::int64_t max_pool_size = 1'000;
constexpr std::int64_t max_waiting_limit = 1'000'000;
constexpr std::int64_t waiting_per_connection = 4;
constexpr std::int64_t min_io_threads = 1;
constexpr std::int64_t max_io_threads = 256;
constexpr std::int64_t min_max_connections = 1;
constexpr std::int64_t max_max_connections = 1'000'000;
constexpr std::int64_t max_tables_per_database = 1'000'000;
// PostgreSQL's own limits: columns in one table, and the two tenant columns.
constexpr std::int64_t postgres_max_columns = 1'600;
constexpr std::int64_t tenant_columns = 2;

tls_files read_tls(const yaml_value& value) {
  const yaml_mapping tls(value, {"cert", "key"});
  return {tls.require("cert").as_existing_file(), tls.require("key").as_existing_file()};
}

// A client's share is bounded by the pool it shares, so these are read
// after pool_size and max_waiting, whatever the order in the file.
void read_client_shares(const yaml_mapping& root, server_config& config) {
  config.max_workers_per_client = client_workers_for(config.pool_size);
  if (auto v = root.find("max_workers_per_client")) {
    config.max_workers_per_client = static_cast<int>(v->as_integer(1, max_pool_size));
    if (config.max_workers_per_client > config.pool_size)
      v->fail("must not exceed pool_size (" + std::to_string(config.pool_size) + "), got " +
              std::to_string(config.max_workers_per_client));
  }
  config.max_waiting_per_client = client_waiting_for(config.max_waiting);
  if (auto v = root.find("max_waiting_per_client")) {
    config.max_waiting_per_client = static_cast<int>(v->as_integer(0, max_waiting_limit));
    if (config.max_waiting_per_client > config.max_waiting)
      v->fail("must not exceed max_waiting (" + std::to_string(config.max_waiting) + "), got " +
              std::to_string(config.max_waiting_per_client));
  }
}

void read_limits(const yaml_mapping& root, server_config& config) {
  if (auto v = root.find("pool_size"))
    config.pool_size = static_cast<int>(v->as_integer(min_pool_size, max_pool_size));
  // Unset: enough queue to absorb a burst without unbounded waits. An explicit
  // 0 is kept: every request beyond the pool's connections gets 503 at once.
  config.max_waiting = static_cast<int>(waiting_per_connection * config.pool_size);
  if (auto v = root.find("max_waiting"))
    config.max_waiting = static_cast<int>(v->as_integer(0, max_waiting_limit));
  if (auto v = root.find("max_body_bytes"))
    config.max_body_bytes = v->as_byte_size();
  if (auto v = root.find("io_threads"))
    config.io_threads = static_cast<int>(v->as_integer(min_io_threads, max_io_threads));
  if (auto v = root.find("max_connections"))
    config.max_connections =
        static_cast<int>(v->as_integer(min_max_connections, max_max_connections));
  read_client_shares(root, config);
}

tenant_limits read_tenant_limits(const yaml_value& value) {
  const yaml_mapping tenants(value,
                             {"tables_per_database", "columns_per_table", "columns_per_shared_table"});
  tenant_limits limits;
  if (auto v = tenants.find("tables_per_database"))
    limits.tables_per_database = static_cast<int>(v->as_integer(1, max_tables_per_database));
  if (auto v = tenants.find("columns_per_shared_table"))
    limits.columns_per_shared_table =
        static_cast<int>(v->as_integer(1, postgres_max_columns - tenant_columns));
  // One declaration can never need more than the shared table may hold.
  auto columns_max = std::min<std::int64_t>(limits.columns_per_shared_table,
                                            postgres_max_columns - tenant_columns);
  limits.columns_per_table = std::min(limits.columns_per_table,
                                      static_cast<int>(columns_max));
  if (auto v = tenants.find("columns_per_table"))
    limits.columns_per_table = static_cast<int>(v->as_integer(1, columns_max));
  return limits;
}

server_config read_server_config(const yaml_value& document) {
  const yaml_mapping root(document,
                          {"listen", "database", "data_schema", "pool_size", "max_waiting",
                           "max_workers_per_client", "max_waiting_per_client", "max_body_bytes",
                           "io_threads", "max_connections", "tenants", "tls", "log_level", "log_format",
                           "report_interval"});
  server_config config;
  if (auto v = root.find("listen"))
    config.listen = v->as_host_port();
  config.database = root.require("database").as_nonempty_string();
  if (auto v = root.find("data_schema"))
    config.data_schema = v->as_identifier();
  read_limits(root, config);
  if (auto v = root.find("tenants"))
    config.tenants = read_tenant_limits(*v);
  if (auto v = root.find("tls"))
    config.tls = read_tls(*v);
  if (auto v = root.find("log_level"))
    config.log_level = v->as_one_of(log_levels);
  if (auto v = root.find("log_format"))
    config.log_format = v->as_one_of(log_formats);
  if (auto v = root.find("report_interval"))
    config.report_interval = v->as_duration();
  return config;
}

} // namespace

int client_workers_for(int pool_size) {
  return std::max(1, pool_size * default_client_workers_numerator /
                         default_client_workers_denominator);
}

int client_waiting_for(int max_waiting) {
  return (std::max(0, max_waiting) * default_client_waiting_numerator +
          default_client_waiting_denominator - 1) /
         default_client_waiting_denominator;
}

server_config parse_server_config(const std::string& yaml, const std::string& source) {
  try {
    return read_server_config(parse_yaml_document(yaml, source));
  } catch (const YAML::Exception& e) {
    // The reader checks node kinds first; this is the net that keeps yaml-cpp inside config/.
    throw config_error(source + ": " + e.what());
  }
}

server_config load_server_config(const std::string& path) {
  return parse_server_config(read_config_file(path), path);
}

} // namespace tidesync::config
