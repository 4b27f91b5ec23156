#pragma once

#include "protocol/column_type.hpp"
#include "protocol/table_schema.hpp"
#include "storage/source.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

// SQL shared by the PostgreSQL and SQLite sources. Both understand quoted
// identifiers, row values and numbered placeholders (`$1` / `?1`), so one
// builder serves both.
namespace tidesync::storage::detail {

/// A parameter in PostgreSQL text form and the column type it binds as.
struct sql_param {
  protocol::column_type type = protocol::column_type::text;
  std::string text;
};

struct sql_query {
  std::string sql;
  std::vector<sql_param> params;
};

/// `"name"`, after checking that `name` is a valid identifier. Throws
/// storage_error(invalid) naming `what` ("table", "column orders.id", ...).
std::string quote_identifier(std::string_view name, std::string_view what);

/// What a query reads `table` as: `"table"`, or with the schema's site
/// filter `(SELECT * FROM "table" WHERE (<filter>)) AS "table"`.
std::string source_relation(const std::string& table, const protocol::table_schema& schema);

/// What a page query selects.
enum class page_select { rows, keys };

/// Bounds of a page query.
struct page_bounds {
  std::optional<row_position> after;
  std::optional<std::int64_t> min_version;
  std::optional<std::int64_t> max_version;
  std::int64_t limit = 0;
};

/// `SELECT … WHERE … ORDER BY version, key LIMIT n` with the bounds as
/// parameters. `placeholder` is '$' (PostgreSQL) or '?' (SQLite). Selected
/// columns: every column in schema order (rows) or version then key columns
/// (keys). Text key columns order and compare bytewise (`COLLATE "C"` /
/// `COLLATE BINARY`), as sync/'s ordering contract requires.
sql_query page_query(char placeholder, const std::string& table,
                     const protocol::table_schema& schema, page_select select,
                     const page_bounds& bounds);

/// `SELECT <all columns> … WHERE (key) IN ((…), …) ORDER BY version, key`
/// for keys [first, last), text keys ordered bytewise as in page_query.
sql_query keys_query(char placeholder, const std::string& table,
                     const protocol::table_schema& schema, const std::vector<key_cells>& keys,
                     std::size_t first, std::size_t last);

/// `SELECT <all columns> … WHERE from <= (key) < to ORDER BY key`, each bound
/// when given, text keys compared and ordered bytewise as in page_query.
sql_query key_range_query(char placeholder, const std::string& table,
                          const protocol::table_schema& schema,
                          const std::optional<key_cells>& from, const std::optional<key_cells>& to);

/// `SELECT count(*), max(version), max(modified)<cast> FROM table`; the
/// modified column is left out (NULL) when the schema has none.
std::string summary_query(const std::string& table, const protocol::table_schema& schema,
                          std::string_view modified_cast);

/// Checks the schema's key, version and column names before they reach SQL.
void check_schema_names(const std::string& table, const protocol::table_schema& schema);

/// A column as a database's catalog describes it.
struct catalog_column {
  std::string name;
  std::string declared_type;                // as the database spells it
  std::optional<protocol::column_type> type;  // nullopt: not replicable
  bool not_null = false;
};

/// A table as a database's catalog describes it.
struct catalog_table {
  std::vector<catalog_column> columns;
  std::vector<std::string> primary_key;  // key order
};

/// Throws storage_error naming an excluded column the table does not have,
/// or one a row can't be replicated without (key, version, modified column;
/// `key` empty: the primary key).
void check_excluded_columns(std::string_view database, const std::string& table,
                            const catalog_table& catalog, const std::vector<std::string>& key,
                            const std::string& version_column,
                            const std::optional<std::string>& modified_column,
                            const std::vector<std::string>& excluded);

/// Throws storage_error(unsupported) naming every column of the table whose
/// type tidesync can't replicate, but those `excluded`, and what to do.
void refuse_unreplicable_columns(std::string_view database, const std::string& table,
                                 const catalog_table& catalog,
                                 const std::vector<std::string>& excluded);

/// Turns catalog facts into the schema the agent declares, checking what a
/// replicated table needs (supported types, a key, the version column).
/// Columns `excluded` (the table's exclude_columns) are left out of it, so
/// nothing reads them; each must exist and be none of the key, version and
/// modified columns. `database` names the source in error messages.
protocol::table_schema build_schema(std::string_view database, const std::string& table,
                                    const catalog_table& catalog,
                                    const std::vector<std::string>& key,
                                    const std::string& version_column,
                                    const std::optional<std::string>& modified_column,
                                    const std::vector<std::string>& excluded);

/// Text of `value` for an int64 parameter.
sql_param int_param(std::int64_t value);

} // namespace tidesync::storage::detail
