#pragma once

#include "storage/source.hpp"

#include <filesystem>
#include <string>
#include <vector>

namespace tidesync::testing {

/// A fresh directory under the system temp dir, removed with its contents.
class temp_directory {
public:
  temp_directory();
  ~temp_directory();
  temp_directory(const temp_directory&) = delete;
  temp_directory& operator=(const temp_directory&) = delete;

  const std::filesystem::path& path() const { return path_; }

  /// `sqlite://` URL of a file in this directory.
  std::string sqlite_url(const std::string& file) const;

private:
  std::filesystem::path path_;
};

/// Runs statements on a SQLite file (created if missing), as an application would.
void sqlite_exec(const std::filesystem::path& file, const std::string& sql);

/// Runs statements on a PostgreSQL database in one transaction.
void pg_exec(const std::string& url, const std::string& sql);

/// Every row of a table, read page by page with `page` rows at a time.
std::vector<storage::text_row> read_all_rows(storage::source& source, const std::string& table,
                                             const protocol::table_schema& schema,
                                             std::int64_t page);

/// A table to track by name, with its default version column.
storage::table_ref tracked(const std::string& table, std::vector<std::string> key = {});

/// Two small tables, orders (rows 1 and 2) and stock (row 1), both prepared
/// by apply_version_tracking: what the change-counter and notify tests write to.
void make_prepared_orders_and_stock(const std::string& url);

/// Checks that every cell becomes a wire cell and comes back to the same
/// PostgreSQL text, as the agent and the store will convert it.
void expect_wire_round_trip(const protocol::table_schema& schema,
                            const std::vector<storage::text_row>& rows);

/// Index of `column` in the schema's columns.
std::size_t column_index(const protocol::table_schema& schema, const std::string& column);

} // namespace tidesync::testing
