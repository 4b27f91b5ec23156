// postgres_store::declare_table and the version summaries.
#include "storage/postgres_store.hpp"

#include "protocol/column_refusal.hpp"
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

#include <algorithm>
#include <chrono>
#include <thread>

namespace tidesync::storage {

namespace {

using protocol::api_error;
using protocol::error_code;

// Adding a column needs the shared table's exclusive lock for a moment (a
// catalog change, no rewrite). While it waits, every tenant's upload queues
// behind it, so it waits this long at most, then lets them through and tries
// again: about four seconds in all before the declaration is answered 503.
constexpr std::chrono::milliseconds ddl_lock_timeout{100};
constexpr std::chrono::milliseconds ddl_retry_pause{100};
constexpr int ddl_attempts = 20;
constexpr const char* lock_not_available = "55P03";

struct declaration {
  const std::string& client_id;
  const std::string& database_id;
  const std::string& table;
  const protocol::table_schema& schema;
  const std::string& data_schema;
  const declaration_limits& limits;
};

struct declared {
  protocol::table_schema schema;            // the shared table's, after the declaration
  std::optional<std::string> index_column;  // the modified column to index, if any
};

void require_own_database(pqxx::transaction_base& tx, const std::string& client_id,
                          const std::string& database_id) {
  if (tx.exec_params("SELECT 1 FROM tidesync.databases WHERE database_id = $1::uuid"
                     " AND client_id = $2",
                     database_id, client_id)
          .empty())
    throw api_error(error_code::not_found, "unknown database " + database_id);
}

struct stored_remote_table {
  protocol::table_schema schema;
  bool locked = false;
};

std::optional<stored_remote_table> stored_table(pqxx::transaction_base& tx,
                                                const std::string& table) {
  auto found = tx.exec_params("SELECT schema::text, schema_locked FROM tidesync.remote_tables"
                              " WHERE table_name = $1",
                              table);
  if (found.empty())
    return std::nullopt;
  return stored_remote_table{
      protocol::table_schema_from_json(boost::json::parse(found[0][0].c_str())),
      found[0][1].as<bool>()};
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

void require_table_room(pqxx::transaction_base& tx, const declaration& request) {
  if (!tx.exec_params("SELECT 1 FROM tidesync.tenant_tables"
                      " WHERE client_id = $1 AND database_id = $2::uuid AND table_name = $3",
                      request.client_id, request.database_id, request.table)
           .empty())
    return;
  // Declarations of different new tables hold different table locks: the
  // database's row makes them count one after the other.
  tx.exec_params("SELECT 1 FROM tidesync.databases WHERE database_id = $1::uuid"
                 " FOR NO KEY UPDATE",
                 request.database_id);
  auto count = tx.exec_params1("SELECT count(*) FROM tidesync.tenant_tables"
                               " WHERE client_id = $1 AND database_id = $2::uuid",
                               request.client_id, request.database_id)[0]
                   .as<std::int64_t>();
  if (static_cast<std::size_t>(count) >= request.limits.tables_per_database)
    throw api_error(error_code::limit_exceeded,
                    "the database already declares " + std::to_string(count) +
                        " tables; this server accepts at most " +
                        std::to_string(request.limits.tables_per_database) +
                        " per database (tenants.tables_per_database)");
}

// The tenant whose summary to recompute when its modified column changed.
// That happens before the DDL: from an ADD COLUMN on, every tenant's uploads
// wait for this commit. A column the DDL adds holds only NULLs, so its
// maximum is NULL without reading the tenant's rows.
tenant_table summarised(tenant_table tenant, const std::vector<protocol::column_def>& added) {
  if (tenant.modified_column &&
      std::any_of(added.begin(), added.end(),
                  [&](const auto& column) { return column.name == *tenant.modified_column; }))
    tenant.modified_column.reset();
  return tenant;
}

// One attempt in one transaction. Checks and metadata rows first, then the
// DDL: an upload locks the tenant row before the shared table, so taking them
// in the same order cannot deadlock, and the DDL's lock_timeout bounds how
// long other tenants' uploads can queue behind it.
declared declare_once(pqxx::connection& c, const declaration& request) {
  const auto& [client_id, database_id, table, schema, data_schema, limits] = request;
  pqxx::work tx{c};
  require_own_database(tx, client_id, database_id);
  tx.exec_params("SELECT pg_advisory_xact_lock($1, hashtext($2))", remote_table::declaration_lock_class,
                 table);
  require_table_room(tx, request);
  auto stored = stored_table(tx, table);
  remote_table::merge_rules rules{stored && stored->locked, limits.columns_per_shared_table};
  auto merge = stored ? remote_table::merge(stored->schema, schema, rules)
                      : remote_table::first_declaration(schema);
  if (!merge.refused.empty())
    throw protocol::columns_refused_error(
        "the shared table " + protocol::json_fields::quoted(table) + " does not take " +
            std::to_string(merge.refused.size()) + " of the declared columns: " +
            protocol::describe(merge.refused) + "; declare it without them to sync the rest",
        merge.refused);
  if (!stored || merge.merged != stored->schema)
    store_schema(tx, table, merge.merged);
  tenant_table tenant{client_id, database_id, table, merge.merged, schema.modified_column,
                      sql_names::qualified(tx, data_schema, table)};
  if (record_tenant(tx, tenant, schema))
    refresh_summary(tx, summarised(tenant, merge.added), 0);
  if (!stored) {
    remote_table::create(tx, data_schema, table, merge.merged);  // new: nobody else waits
  } else if (!merge.added.empty()) {
    tx.exec("SET LOCAL lock_timeout = " + tx.quote(std::to_string(ddl_lock_timeout.count()) + "ms"));
    remote_table::add_columns(tx, data_schema, table, merge.added);
  }
  tx.commit();
  // Built on a locked table too: without it every upload of this tenant would
  // scan its rows for max_modified, and a concurrent build makes no one wait.
  bool index_wanted = schema.modified_column.has_value();
  return {merge.merged, index_wanted ? schema.modified_column : std::nullopt};
}

} // namespace

protocol::table_schema postgres_store::declare_table(const std::string& client_id,
                                                     const std::string& database_id,
                                                     const std::string& table,
                                                     const protocol::table_schema& schema) {
  sql_names::require_table_name(table);
  sql_names::require_database_id(database_id);
  protocol::validate(schema);
  const auto& limits = impl_->options.limits;
  if (schema.columns.size() > limits.columns_per_table)
    throw api_error(error_code::limit_exceeded,
                    "the table declares " + std::to_string(schema.columns.size()) +
                        " columns; this server accepts at most " +
                        std::to_string(limits.columns_per_table) +
                        " per table (tenants.columns_per_table)");
  const auto& data_schema = impl_->options.data_schema;
  return impl_->connection.run([&](pqxx::connection& c) {
    declared outcome;
    for (int attempt = 1;; ++attempt) {
      try {
        outcome = declare_once(c, {client_id, database_id, table, schema, data_schema, limits});
        break;
      } catch (const pqxx::sql_error& e) {
        if (e.sqlstate() != lock_not_available)
          throw;
        if (attempt == ddl_attempts)
          throw api_error(error_code::unavailable,
                          "the shared table " + protocol::json_fields::quoted(table) +
                              " stayed busy with other transactions; declare it again shortly");
        std::this_thread::sleep_for(ddl_retry_pause);
      }
    }
    if (outcome.index_column)
      remote_table::ensure_modified_index(c, data_schema, table, *outcome.index_column);
    return outcome.schema;
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
