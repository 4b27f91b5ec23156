// postgres_store::declare_table and the version summaries.
#include "storage/postgres_store.hpp"

#include "protocol/error.hpp"
#include "protocol/json_fields.hpp"
#include "storage/remote_table.hpp"
#include "storage/sql_names.hpp"
#include "storage/store_connection.hpp"
#include "storage/tenant_table.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <pqxx/nontransaction>
#include <pqxx/transaction>

namespace tidesync::storage {

namespace {

using protocol::api_error;
using protocol::error_code;

// Class id of the per-table advisory locks that serialise declarations.
constexpr int table_lock_class = 0x74730001;

void require_own_database(pqxx::transaction_base& tx, const std::string& client_id,
                          const std::string& database_id) {
  if (tx.exec_params("SELECT 1 FROM tidesync.databases WHERE database_id = $1::uuid"
                     " AND client_id = $2",
                     database_id, client_id)
          .empty())
    throw api_error(error_code::not_found, "unknown database " + database_id);
}

std::optional<protocol::table_schema> stored_schema(pqxx::transaction_base& tx,
                                                    const std::string& table) {
  auto found = tx.exec_params("SELECT schema::text FROM tidesync.remote_tables"
                              " WHERE table_name = $1",
                              table);
  if (found.empty())
    return std::nullopt;
  return protocol::table_schema_from_json(boost::json::parse(found[0][0].c_str()));
}

void store_schema(pqxx::transaction_base& tx, const std::string& table,
                  const protocol::table_schema& schema) {
  tx.exec_params("INSERT INTO tidesync.remote_tables (table_name, schema) VALUES ($1, $2::jsonb)"
                 " ON CONFLICT (table_name) DO UPDATE SET schema = EXCLUDED.schema,"
                 " updated_at = now()",
                 table, boost::json::serialize(protocol::to_json(schema)));
}

// Records that the database declared the table; true when its modified
// column changed, so max_modified must be recomputed.
bool record_tenant(pqxx::transaction_base& tx, const tenant_table& tenant,
                   const protocol::table_schema& declared) {
  auto modified = declared.modified_column;
  auto type = modified ? std::string(protocol::type_name(declared.find(*modified)->type)) : "";
  auto written = tx.exec_params(
      "INSERT INTO tidesync.tenant_tables"
      " (client_id, database_id, table_name, modified_column, modified_type)"
      " VALUES ($1, $2::uuid, $3, $4, $5)"
      " ON CONFLICT (client_id, database_id, table_name) DO UPDATE"
      " SET modified_column = EXCLUDED.modified_column, modified_type = EXCLUDED.modified_type"
      " WHERE tenant_tables.modified_column IS DISTINCT FROM EXCLUDED.modified_column"
      " RETURNING (xmax <> 0) AS changed",
      tenant.client_id, tenant.database_id, tenant.table, modified ? modified->c_str() : nullptr,
      modified ? type.c_str() : nullptr);
  return !written.empty() && written[0][0].as<bool>();
}

} // namespace

protocol::table_schema postgres_store::declare_table(const std::string& client_id,
                                                     const std::string& database_id,
                                                     const std::string& table,
                                                     const protocol::table_schema& schema) {
  sql_names::require_table_name(table);
  sql_names::require_database_id(database_id);
  protocol::validate(schema);
  const auto& data_schema = impl_->options.data_schema;
  return impl_->connection.run([&](pqxx::connection& c) {
    pqxx::work tx{c};
    require_own_database(tx, client_id, database_id);
    tx.exec_params("SELECT pg_advisory_xact_lock($1, hashtext($2))", table_lock_class, table);
    auto stored = stored_schema(tx, table);
    auto merge = stored ? remote_table::merge(*stored, schema)
                        : remote_table::schema_merge{schema, {}};
    // Metadata rows first, DDL last: an upload locks the tenant row before the
    // shared table, so taking them in the same order cannot deadlock.
    if (!stored || merge.merged != *stored)
      store_schema(tx, table, merge.merged);
    tenant_table tenant{client_id, database_id, table, merge.merged, schema.modified_column,
                        sql_names::qualified(tx, data_schema, table)};
    bool modified_changed = record_tenant(tx, tenant, schema);
    if (!stored)
      remote_table::create(tx, data_schema, table, merge.merged);
    remote_table::add_columns(tx, data_schema, table, merge.added);
    if (schema.modified_column)
      remote_table::ensure_modified_index(tx, data_schema, table, *schema.modified_column);
    if (modified_changed)
      refresh_summary(tx, tenant, 0);
    tx.commit();
    return merge.merged;
  });
}

protocol::table_version postgres_store::table_version(const std::string& client_id,
                                                      const std::string& database_id,
                                                      const std::string& table) {
  sql_names::require_table_name(table);
  sql_names::require_database_id(database_id);
  return impl_->connection.run([&](pqxx::connection& c) {
    pqxx::nontransaction tx{c};
    auto summary = read_summary(tx, client_id, database_id, table);
    if (!summary)
      throw api_error(error_code::not_found, "table " + protocol::json_fields::quoted(table)
                                                 + " is not declared by this database");
    return *summary;
  });
}

std::map<std::string, protocol::table_version>
postgres_store::table_versions(const std::string& client_id, const std::string& database_id) {
  sql_names::require_database_id(database_id);
  return impl_->connection.run([&](pqxx::connection& c) {
    pqxx::nontransaction tx{c};
    return read_summaries(tx, client_id, database_id);
  });
}

} // namespace tidesync::storage
