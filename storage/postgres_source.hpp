#pragma once

#include "storage/source.hpp"
#include "storage/source_sql.hpp"

#include <memory>
#include <optional>
#include <string>

namespace pqxx {
class transaction_base;
} // namespace pqxx

namespace tidesync::storage {

/// A PostgreSQL database as a source, through libpqxx. The session runs with
/// client encoding UTF8, TimeZone UTC, DateStyle ISO, bytea_output hex and
/// extra_float_digits 3 (exact floats on every server version), so the text it
/// returns is the form the store takes.
class postgres_source final : public source {
public:
  /// Connects lazily: the first call opens the connection.
  explicit postgres_source(std::string url);
  ~postgres_source() override;
  postgres_source(const postgres_source&) = delete;
  postgres_source& operator=(const postgres_source&) = delete;

  std::string_view kind() const override { return "postgresql"; }

  protocol::table_schema describe(const std::string& table, const std::vector<std::string>& key,
                                  const std::string& version_column,
                                  const std::optional<std::string>& modified_column,
                                  const std::vector<std::string>& excluded = {}) override;

  void check_row_condition(const std::string& table, const std::string& condition) override;
  protocol::table_version summary(const std::string& table,
                                  const protocol::table_schema& schema) override;

  /// `pg_snapshot_xmin(pg_current_snapshot())`: the oldest transaction still
  /// running; every version below it is final.
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
  void check_prepared(const std::string& table, const detail::catalog_table& catalog,
                      const std::string& version_column, bool tracked) const;

  struct impl;
  std::unique_ptr<impl> impl_;
};

/// The catalog's description of `table` (resolved through the search_path),
/// or nullopt when there is no such table. Types map through
/// protocol::parse_column_type on pg_type.typname.
std::optional<detail::catalog_table> read_pg_catalog(pqxx::transaction_base& tx,
                                                     const std::string& table);

} // namespace tidesync::storage
