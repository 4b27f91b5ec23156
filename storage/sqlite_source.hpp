#pragma once

#include "storage/source.hpp"
#include "storage/source_sql.hpp"

#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace tidesync::storage {

class sqlite_db;
class sqlite_statement;

/// A SQLite database file as a source, opened read-only through the C API.
/// Cells come back in the text form PostgreSQL would print for the declared
/// type: blobs as `\x` lowercase hex, 0/1 booleans as f/t, REAL values in
/// shortest round-trip form, integers as they are.
class sqlite_source final : public source {
public:
  /// Opens the file; storage_error(not_found) if it doesn't exist.
  explicit sqlite_source(const std::string& path);
  ~sqlite_source() override;
  sqlite_source(const sqlite_source&) = delete;
  sqlite_source& operator=(const sqlite_source&) = delete;

  std::string_view kind() const override { return "sqlite"; }

  protocol::table_schema describe(const std::string& table, const std::vector<std::string>& key,
                                  const std::string& version_column,
                                  const std::optional<std::string>& modified_column,
                                  const std::vector<std::string>& excluded = {}) override;

  void check_row_condition(const std::string& table, const std::string& condition) override;
  protocol::table_version summary(const std::string& table,
                                  const protocol::table_schema& schema) override;

  /// One writer at a time commits versions in order, so everything up to the
  /// counter's value is final: the answer is the counter plus one.
  std::int64_t safe_version() override;
  change_marks read_change_marks(const std::vector<table_ref>& tables) override;

  std::vector<text_row> read_rows(const std::string& table, const protocol::table_schema& schema,
                                  const std::optional<row_position>& after,
                                  std::optional<std::int64_t> min_version,
                                  std::int64_t limit) override;

  std::vector<key_version> read_keys(const std::string& table,
                                     const protocol::table_schema& schema,
                                     std::optional<std::int64_t> min_version,
                                     std::optional<std::int64_t> max_version, std::int64_t limit,
                                     const std::optional<row_position>& after) override;

  std::vector<text_row> read_rows_by_keys(const std::string& table,
                                          const protocol::table_schema& schema,
                                          const std::vector<key_cells>& keys) override;

  void scan_key_range(const std::string& table, const protocol::table_schema& schema,
                      const std::optional<key_cells>& from, const std::optional<key_cells>& to,
                      const std::function<bool(const text_row&)>& visit) override;

private:
  std::unique_ptr<sqlite_db> db_;
  // The change-marks queries, kept prepared: an idle cycle runs them and
  // nothing else, and parsing was most of their cost.
  struct marks_queries;
  std::unique_ptr<marks_queries> marks_;
};

/// The column type a SQLite declared type maps to (INTEGER/INT → bigint,
/// REAL/DOUBLE/FLOAT → double precision, TEXT/VARCHAR/CHAR → text, BLOB →
/// bytea, NUMERIC/DECIMAL → numeric, BOOLEAN → boolean, DATE → date,
/// DATETIME/TIMESTAMP → timestamp, UUID → uuid, JSON → json); nullopt otherwise.
std::optional<protocol::column_type> sqlite_column_type(std::string_view declared);

/// The catalog's description of `table`, or nullopt when there is no such table.
std::optional<detail::catalog_table> read_sqlite_catalog(sqlite_db& db, const std::string& table);

/// `value` as PostgreSQL prints a double precision (shortest round-trip digits,
/// NaN, Infinity, -Infinity, exponent form below 1e-4 and from 1e15).
std::string pg_double_text(double value);

} // namespace tidesync::storage
