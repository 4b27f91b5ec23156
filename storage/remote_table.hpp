#pragma once

#include "protocol/column_refusal.hpp"
#include "protocol/table_schema.hpp"

#include <pqxx/connection>
#include <pqxx/transaction_base>

#include <string>
#include <vector>

// The shared remote table of one table name: how a declaration merges into
// its stored schema, and the DDL that creates and evolves it.
namespace tidesync::storage::remote_table {

/// Class id of the per-table advisory locks (`pg_advisory_xact_lock(class,
/// hashtext(table))`) that serialise declarations and schema lock changes.
inline constexpr int declaration_lock_class = 0x74730001;

/// What the operator and the limits allow a declaration to change.
struct merge_rules {
  /// The operator locked the table's schema: no tenant adds a column.
  bool locked = false;
  /// Columns the shared table may reach (the tenant columns not counted).
  std::size_t max_columns = 1'598;
};

/// A declaration merged into the stored schema.
struct schema_merge {
  protocol::table_schema merged;
  std::vector<protocol::column_def> added;  // new to the shared table
  /// Columns the shared table will not take; when any, nothing may be written.
  std::vector<protocol::refused_column> refused;
};

/// The first declaration of a table name: its columns, but for those named
/// like PostgreSQL's system columns (xmin, ctid, …), which are refused.
/// Throws api_error(bad_request) when such a column is a key or the version
/// column: no table can be made with it.
schema_merge first_declaration(const protocol::table_schema& declared);

/// Merges `declared` into `stored`. New columns are added; a column one
/// tenant has and another lacks stays, nullable, since the other sends NULL.
/// A non-key column whose type differs from the stored one, a new column of
/// a locked table, a new column over `max_columns` and one named like a system
/// column are refused, each with its reason. Throws api_error(conflict) when
/// the key (names or types) or the version column differ: no subset of such a
/// table can sync.
schema_merge merge(const protocol::table_schema& stored, const protocol::table_schema& declared,
                   const merge_rules& rules = {});

/// Creates `<data_schema>."<table>"`: the tenant columns, the declared
/// columns, the primary key (client_id, database_id, key…) and the index
/// (client_id, database_id, version, key…) that serves both the maximum
/// version and manifest pages.
void create(pqxx::transaction_base& tx, const std::string& data_schema,
            const std::string& table, const protocol::table_schema& schema);

/// Adds `columns` to the shared table, nullable.
void add_columns(pqxx::transaction_base& tx, const std::string& data_schema,
                 const std::string& table, const std::vector<protocol::column_def>& columns);

/// Makes sure (client_id, database_id, <column>) is indexed, for max_modified.
/// Builds it CONCURRENTLY (so no tenant's writes wait), hence outside any
/// transaction; an invalid index a failed build left behind is rebuilt.
void ensure_modified_index(pqxx::connection& connection, const std::string& data_schema,
                           const std::string& table, const std::string& column);

} // namespace tidesync::storage::remote_table
