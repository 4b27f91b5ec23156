#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

struct sqlite3;
struct sqlite3_stmt;

namespace tidesync::storage {

/// An open SQLite database file. Every SQLite failure becomes a storage_error
/// whose message starts with `label` (e.g. "SQLite database /var/app.db").
class sqlite_db {
public:
  /// Opens `path` with SQLite open flags; waits up to 5 s on a locked file.
  sqlite_db(const std::string& path, int flags);
  ~sqlite_db();
  sqlite_db(const sqlite_db&) = delete;
  sqlite_db& operator=(const sqlite_db&) = delete;

  sqlite3* handle() const { return db_; }
  const std::string& label() const { return label_; }

  /// Runs one or more statements that return no rows.
  void exec(const std::string& sql, std::string_view context);

  /// Throws storage_error for result code `rc` with SQLite's message.
  [[noreturn]] void fail(int rc, std::string_view context) const;

  /// Statements kept prepared for their next use, per connection. Parsing is
  /// most of what a small query costs (SQLite parses the SQL and looks up
  /// every name each time); the catalog queries an agent runs for each table
  /// take the table's name as a parameter, so they hit.
  static constexpr std::size_t statement_cache_size = 16;
  /// Statements kept prepared now.
  std::size_t cached_statements() const { return cache_.size(); }

private:
  friend class sqlite_statement;
  /// A statement for `sql`: a cached one when there is, else freshly prepared.
  sqlite3_stmt* prepare(const std::string& sql, std::string_view context);
  /// Takes back a statement its user is done with: reset and kept, the least
  /// recently used beyond statement_cache_size finalized.
  void recycle(std::string sql, sqlite3_stmt* stmt) noexcept;

  struct cached_statement {
    std::string sql;
    sqlite3_stmt* stmt;
  };

  sqlite3* db_ = nullptr;
  std::string label_;
  std::vector<cached_statement> cache_;  // most recently used last
};

/// A prepared statement; parameters are 1-based, columns 0-based.
class sqlite_statement {
public:
  sqlite_statement(sqlite_db& db, const std::string& sql, std::string_view context);
  ~sqlite_statement();
  sqlite_statement(const sqlite_statement&) = delete;
  sqlite_statement& operator=(const sqlite_statement&) = delete;

  void bind_null(int index);
  void bind_int(int index, std::int64_t value);
  void bind_double(int index, double value);
  void bind_text(int index, std::string_view value);
  void bind_blob(int index, std::string_view bytes);

  /// Advances; true while there is a row.
  bool step();
  /// Back to before the first step, bindings cleared, to run again.
  void reset();

  int column_count() const;
  /// SQLITE_INTEGER, SQLITE_FLOAT, SQLITE_TEXT, SQLITE_BLOB or SQLITE_NULL.
  int column_type(int column) const;
  std::int64_t column_int(int column) const;
  double column_double(int column) const;
  std::string column_text(int column) const;
  std::string column_blob(int column) const;

private:
  void check_bind(int rc);

  sqlite_db& db_;
  std::string sql_;
  sqlite3_stmt* stmt_ = nullptr;
  std::string context_;
};

} // namespace tidesync::storage
