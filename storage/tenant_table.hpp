#pragma once

#include "protocol/table_schema.hpp"
#include "protocol/table_version.hpp"

#include <pqxx/transaction_base>

#include <cstdint>
#include <map>
#include <optional>
#include <string>

namespace tidesync::storage {

/// One database's copy of a replicated table: the tenant, the shared table's
/// merged schema, and the modified column this database declared.
struct tenant_table {
  std::string client_id;
  std::string database_id;
  std::string table;
  protocol::table_schema schema;
  std::optional<std::string> modified_column;
  std::string target;  // the shared table, quoted and schema-qualified
};

/// Loads the tenant's table; api_error(not_found) when this database never
/// declared it. With `lock`, the tenant's summary row stays locked until the
/// transaction ends, which serialises writers of one tenant's table so each
/// sees the rows the previous one committed.
tenant_table load_tenant_table(pqxx::transaction_base& tx, const std::string& data_schema,
                               const std::string& client_id, const std::string& database_id,
                               const std::string& table, bool lock);

/// Adds `row_delta` to the tenant's row count and recomputes its maxima from
/// the (client_id, database_id, …) indexes. Returns the new summary.
protocol::table_version refresh_summary(pqxx::transaction_base& tx, const tenant_table& tenant,
                                        std::int64_t row_delta);

/// Recounts the tenant's rows and recomputes its maxima from the data itself,
/// for when something other than the API changed the shared table.
protocol::table_version recount_summary(pqxx::transaction_base& tx, const tenant_table& tenant);

/// The stored summary of one table, or nullopt when this database never declared it.
std::optional<protocol::table_version>
read_summary(pqxx::transaction_base& tx, const std::string& client_id,
             const std::string& database_id, const std::string& table);

/// The stored summaries of every table the database declared.
std::map<std::string, protocol::table_version>
read_summaries(pqxx::transaction_base& tx, const std::string& client_id,
               const std::string& database_id);

} // namespace tidesync::storage
