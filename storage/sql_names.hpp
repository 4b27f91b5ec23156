#pragma once

#include <pqxx/transaction_base>

#include <string>
#include <string_view>
#include <vector>

// How the store spells names in SQL. Every table and column name reaching
// here has passed protocol::is_valid_identifier; it is still always quoted.
namespace tidesync::storage::sql_names {

/// The transaction-local table uploads and key deletes are copied into.
inline constexpr const char* staging_table = "tidesync_staging";

/// `"schema"."table"`.
std::string qualified(const pqxx::transaction_base& tx, const std::string& schema,
                      const std::string& table);

/// Quoted names joined by ", ", each optionally prefixed (`t.` or `EXCLUDED.`).
std::string column_list(const pqxx::transaction_base& tx, const std::vector<std::string>& names,
                        std::string_view prefix = {});

/// Name of an index or constraint of `table`: `<table>#<purpose>`. The `#`
/// cannot occur in a table name, so it never collides with a replicated
/// table; past PostgreSQL's 63 bytes it is shortened and given a hash.
std::string object_name(const std::string& table, const std::string& purpose);

/// Throws api_error(bad_request) unless `table` is an acceptable table name.
void require_table_name(const std::string& table);

/// True for the canonical text form of a uuid (8-4-4-4-12 hex digits).
bool is_uuid_text(std::string_view text);

/// Throws api_error(not_found) for a database id that cannot be a uuid, so a
/// mistyped id is "unknown database" rather than a SQL error.
void require_database_id(const std::string& database_id);

} // namespace tidesync::storage::sql_names
