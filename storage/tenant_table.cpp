#include "storage/tenant_table.hpp"

#include "protocol/error.hpp"
#include "protocol/json_fields.hpp"
#include "storage/sql_names.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <pqxx/pqxx>

namespace tidesync::storage {

namespace {

// max_modified is kept as timestamptz; it is reported in the text form of the
// column's own type, as the source reports its maximum.
constexpr const char* summary_columns =
    "row_count, max_version,"
    " CASE modified_type"
    "   WHEN 'timestamp' THEN (max_modified AT TIME ZONE 'UTC')::text"
    "   WHEN 'date' THEN (max_modified AT TIME ZONE 'UTC')::date::text"
    "   ELSE max_modified::text END";

// The summary columns of `row`, starting at field `first`.
protocol::table_version summary_from(const pqxx::row& row, pqxx::row::size_type first = 0) {
  protocol::table_version version;
  version.count = row[first].as<std::int64_t>();
  if (!row[first + 1].is_null())
    version.max_version = row[first + 1].as<std::int64_t>();
  if (!row[first + 2].is_null())
    version.max_modified = row[first + 2].as<std::string>();
  return version;
}

} // namespace

tenant_table load_tenant_table(pqxx::transaction_base& tx, const std::string& data_schema,
                               const std::string& client_id, const std::string& database_id,
                               const std::string& table, bool lock) {
  sql_names::require_table_name(table);
  sql_names::require_database_id(database_id);
  auto found = tx.exec_params(
      std::string("SELECT r.schema::text, t.modified_column"
                  " FROM tidesync.tenant_tables t JOIN tidesync.remote_tables r USING (table_name)"
                  " WHERE t.client_id = $1 AND t.database_id = $2::uuid AND t.table_name = $3")
          + (lock ? " FOR UPDATE OF t" : ""),
      client_id, database_id, table);
  if (found.empty())
    throw protocol::api_error(protocol::error_code::not_found,
                              "table " + protocol::json_fields::quoted(table)
                                  + " is not declared by this database");
  tenant_table tenant{client_id, database_id, table, {}, {}, {}};
  tenant.schema = protocol::table_schema_from_json(boost::json::parse(found[0][0].c_str()));
  if (!found[0][1].is_null())
    tenant.modified_column = found[0][1].as<std::string>();
  tenant.target = sql_names::qualified(tx, data_schema, table);
  return tenant;
}

protocol::table_version refresh_summary(pqxx::transaction_base& tx, const tenant_table& tenant,
                                        std::int64_t row_delta) {
  const std::string scope = " FROM " + tenant.target
                            + " WHERE client_id = $1 AND database_id = $2::uuid)";
  auto max_modified = tenant.modified_column
                          ? "(SELECT max(" + tx.quote_name(*tenant.modified_column)
                                + ")::timestamptz" + scope
                          : std::string("NULL");
  auto row = tx.exec_params1(
      "UPDATE tidesync.tenant_tables SET row_count = row_count + $4,"
      " max_version = (SELECT max(" + tx.quote_name(tenant.schema.version_column) + ")" + scope
          + ", max_modified = " + max_modified
          + " WHERE client_id = $1 AND database_id = $2::uuid AND table_name = $3"
            " RETURNING " + summary_columns,
      tenant.client_id, tenant.database_id, tenant.table, row_delta);
  return summary_from(row);
}

protocol::table_version recount_summary(pqxx::transaction_base& tx, const tenant_table& tenant) {
  auto counts = tx.exec_params1(
      "SELECT (SELECT count(*) FROM " + tenant.target
          + " WHERE client_id = $1 AND database_id = $2::uuid), row_count"
            " FROM tidesync.tenant_tables"
            " WHERE client_id = $1 AND database_id = $2::uuid AND table_name = $3",
      tenant.client_id, tenant.database_id, tenant.table);
  return refresh_summary(tx, tenant, counts[0].as<std::int64_t>() - counts[1].as<std::int64_t>());
}

std::optional<protocol::table_version>
read_summary(pqxx::transaction_base& tx, const std::string& client_id,
             const std::string& database_id, const std::string& table) {
  auto found = tx.exec_params(std::string("SELECT ") + summary_columns
                                  + " FROM tidesync.tenant_tables"
                                    " WHERE client_id = $1 AND database_id = $2::uuid"
                                    " AND table_name = $3",
                              client_id, database_id, table);
  if (found.empty())
    return std::nullopt;
  return summary_from(found[0]);
}

std::map<std::string, protocol::table_version>
read_summaries(pqxx::transaction_base& tx, const std::string& client_id,
               const std::string& database_id) {
  std::map<std::string, protocol::table_version> summaries;
  for (const auto& row : tx.exec_params(std::string("SELECT table_name, ") + summary_columns
                                            + " FROM tidesync.tenant_tables"
                                              " WHERE client_id = $1 AND database_id = $2::uuid",
                                        client_id, database_id))
    summaries.emplace(row[0].as<std::string>(), summary_from(row, 1));
  return summaries;
}

} // namespace tidesync::storage
