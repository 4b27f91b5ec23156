#pragma once

#include "protocol/table_schema.hpp"

#include <pqxx/transaction_base>

#include <string>
#include <vector>

// The shared remote table of one table name: how a declaration merges into
// its stored schema, and the DDL that creates and evolves it.
namespace tidesync::storage::remote_table {

/// A declaration merged into the stored schema.
struct schema_merge {
  protocol::table_schema merged;
  std::vector<protocol::column_def> added;  // new to the shared table
};

/// Merges `declared` into `stored`. New columns are added; a column one
/// tenant has and another lacks stays, nullable, since the other sends NULL.
/// Throws api_error(conflict) naming the column whose type differs, or when
/// the key or the version column differ.
schema_merge merge(const protocol::table_schema& stored, const protocol::table_schema& declared);

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
void ensure_modified_index(pqxx::transaction_base& tx, const std::string& data_schema,
                           const std::string& table, const std::string& column);

} // namespace tidesync::storage::remote_table
