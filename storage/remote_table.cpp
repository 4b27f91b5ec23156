#include "storage/remote_table.hpp"

#include "protocol/error.hpp"
#include "protocol/json_fields.hpp"
#include "storage/sql_names.hpp"

#include <pqxx/nontransaction>

#include <algorithm>

namespace tidesync::storage::remote_table {

namespace {

using protocol::api_error;
using protocol::error_code;
namespace jf = protocol::json_fields;

std::string joined(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& name : names)
    out += (out.empty() ? "" : ", ") + name;
  return "(" + out + ")";
}

constexpr const char* duplicate_table = "42P07";
constexpr const char* unique_violation = "23505";

// PostgreSQL's system columns: no table can have a column of these names.
constexpr std::string_view system_columns[] = {"tableoid", "xmin", "cmin", "xmax", "cmax", "ctid"};
constexpr const char* system_name_reason = "PostgreSQL reserves the name for a system column";

bool is_system_name(const std::string& name) {
  return std::find(std::begin(system_columns), std::end(system_columns), name) !=
         std::end(system_columns);
}

[[noreturn]] void conflict(std::string message) {
  throw api_error(error_code::conflict, std::move(message));
}

void check_same_shape(const protocol::table_schema& stored,
                      const protocol::table_schema& declared) {
  if (stored.key != declared.key)
    conflict("key " + joined(declared.key) + " differs from the stored key " + joined(stored.key));
  if (stored.version_column != declared.version_column)
    conflict("version column " + jf::quoted(declared.version_column)
             + " differs from the stored version column " + jf::quoted(stored.version_column));
}

// Key and version columns: a table cannot sync without them.
bool is_structural(const protocol::table_schema& schema, const std::string& name) {
  return name == schema.version_column ||
         std::find(schema.key.begin(), schema.key.end(), name) != schema.key.end();
}

std::string column_sql(const pqxx::transaction_base& tx, const protocol::column_def& column,
                       bool not_null) {
  // Text sorts bytewise ("C") so manifest pages come in the order the agent's
  // sync/ compares keys in, whatever the database's default collation.
  auto collation = column.type == protocol::column_type::text ? " COLLATE \"C\"" : "";
  return tx.quote_name(column.name) + " " + std::string(protocol::type_name(column.type))
         + collation + (not_null ? " NOT NULL" : "");
}

} // namespace

schema_merge first_declaration(const protocol::table_schema& declared) {
  schema_merge result{declared, {}, {}};
  for (const auto& column : declared.columns) {
    if (!is_system_name(column.name))
      continue;
    if (is_structural(declared, column.name))
      throw api_error(error_code::bad_request, "column " + jf::quoted(column.name) +
                                                   " is a key or the version column, and " +
                                                   system_name_reason);
    result.refused.push_back({column.name, system_name_reason});
  }
  return result;
}

schema_merge merge(const protocol::table_schema& stored, const protocol::table_schema& declared,
                   const merge_rules& rules) {
  check_same_shape(stored, declared);
  schema_merge result{stored, {}, {}};
  for (auto& column : result.merged.columns)
    if (declared.find(column.name) == nullptr)
      column.nullable = true;
  for (const auto& column : declared.columns) {
    auto existing = std::find_if(result.merged.columns.begin(), result.merged.columns.end(),
                                 [&](const auto& c) { return c.name == column.name; });
    if (existing == result.merged.columns.end()) {
      if (is_system_name(column.name)) {
        result.refused.push_back({column.name, system_name_reason});
      } else if (rules.locked) {
        result.refused.push_back({column.name, "the table's schema is locked by the operator"});
      } else if (result.merged.columns.size() >= rules.max_columns) {
        result.refused.push_back({column.name, "the shared table has reached its limit of " +
                                                   std::to_string(rules.max_columns) +
                                                   " columns"});
      } else {
        auto added = column;
        added.nullable = true;
        result.merged.columns.push_back(added);
        result.added.push_back(added);
      }
    } else if (existing->type != column.type) {
      auto reason = "declared as " + std::string(protocol::type_name(column.type)) +
                    " but the shared table stores it as " +
                    std::string(protocol::type_name(existing->type));
      if (is_structural(declared, column.name))
        conflict("column " + jf::quoted(column.name) + " is " + reason);
      result.refused.push_back({column.name, reason});
    } else {
      existing->nullable = existing->nullable || column.nullable;
    }
  }
  if (!result.merged.modified_column)
    result.merged.modified_column = declared.modified_column;
  return result;
}

void create(pqxx::transaction_base& tx, const std::string& data_schema,
            const std::string& table, const protocol::table_schema& schema) {
  auto target = sql_names::qualified(tx, data_schema, table);
  auto keys = sql_names::column_list(tx, schema.key);
  std::string sql = "CREATE TABLE " + target + " (client_id text NOT NULL, database_id uuid NOT NULL";
  for (const auto& column : schema.columns) {
    // Only key and version columns are NOT NULL in the shared table: another
    // tenant may not have a column this one declared NOT NULL.
    bool required = column.name == schema.version_column
                    || std::find(schema.key.begin(), schema.key.end(), column.name)
                           != schema.key.end();
    sql += ", " + column_sql(tx, column, required);
  }
  sql += ", CONSTRAINT " + tx.quote_name(sql_names::object_name(table, "pkey"))
         + " PRIMARY KEY (client_id, database_id, " + keys + "))";
  tx.exec(sql);
  tx.exec("CREATE INDEX " + tx.quote_name(sql_names::object_name(table, "version")) + " ON "
          + target + " (client_id, database_id, " + tx.quote_name(schema.version_column) + ", "
          + keys + ")");
}

void add_columns(pqxx::transaction_base& tx, const std::string& data_schema,
                 const std::string& table, const std::vector<protocol::column_def>& columns) {
  if (columns.empty())
    return;
  std::string sql = "ALTER TABLE " + sql_names::qualified(tx, data_schema, table);
  for (std::size_t i = 0; i < columns.size(); ++i)
    sql += (i == 0 ? " ADD COLUMN " : ", ADD COLUMN ") + column_sql(tx, columns[i], false);
  tx.exec(sql);
}

void ensure_modified_index(pqxx::connection& connection, const std::string& data_schema,
                           const std::string& table, const std::string& column) {
  pqxx::nontransaction tx{connection};
  auto name = sql_names::object_name(table, "modified_" + column);
  auto found = tx.exec_params("SELECT i.indisvalid FROM pg_index i"
                              " JOIN pg_class c ON c.oid = i.indexrelid"
                              " JOIN pg_namespace n ON n.oid = c.relnamespace"
                              " WHERE n.nspname = $1 AND c.relname = $2",
                              data_schema, name);
  if (!found.empty() && found[0][0].as<bool>())
    return;
  auto qualified_index = tx.quote_name(data_schema) + "." + tx.quote_name(name);
  try {
    // A build that failed or was killed leaves an invalid index that writers
    // still maintain: drop it, then build again.
    if (!found.empty())
      tx.exec("DROP INDEX CONCURRENTLY IF EXISTS " + qualified_index);
    tx.exec("CREATE INDEX CONCURRENTLY IF NOT EXISTS " + tx.quote_name(name) + " ON " +
            sql_names::qualified(tx, data_schema, table) + " (client_id, database_id, " +
            tx.quote_name(column) + ")");
  } catch (const pqxx::sql_error& e) {
    // Another server is building the same index at this moment: it will finish it.
    if (e.sqlstate() != duplicate_table && e.sqlstate() != unique_violation)
      throw;
  }
}

} // namespace tidesync::storage::remote_table
