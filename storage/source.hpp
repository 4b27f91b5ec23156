#pragma once

#include "protocol/table_schema.hpp"
#include "protocol/table_version.hpp"

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace tidesync::storage {

/// What kind of failure a storage_error reports, so callers can tell "retry
/// later" from "fix the configuration".
enum class storage_errc {
  unavailable,  // the database can't be reached or the connection broke: retry
  not_found,    // a table or column the configuration names doesn't exist
  unsupported,  // a column type or table shape tidesync can't replicate
  invalid,      // bad input: a URL, a name, a key that doesn't fit the schema
  failed,       // anything else the database refused
};

/// The one exception type that leaves storage/ for local sources, version
/// tracking and the state store. The message names the database, table and
/// column involved and, where there is one, what to do about it.
class storage_error : public std::runtime_error {
public:
  storage_error(storage_errc code, const std::string& message)
    : std::runtime_error(message), code_(code) {}

  storage_errc code() const noexcept { return code_; }

private:
  storage_errc code_;
};

/// One cell in PostgreSQL's text form; std::nullopt is NULL. This is what
/// protocol::cell_from_pg_text turns into a wire cell.
using text_cell = std::optional<std::string>;

/// One row: cells in the schema's column order.
using text_row = std::vector<text_cell>;

/// Key cells in PostgreSQL's text form, in the schema's key order.
using key_cells = std::vector<std::string>;

/// A place in a table's `(version, key)` order; reads continue strictly after it.
struct row_position {
  std::int64_t version = 0;
  key_cells key;

  friend bool operator==(const row_position&, const row_position&) = default;
};

/// A row's key and version, as the differencing scan compares them.
struct key_version {
  key_cells key;
  std::int64_t version = 0;

  friend bool operator==(const key_version&, const key_version&) = default;
};

/// How a table is found and tracked, as the agent's configuration names it.
struct table_ref {
  std::string name;
  std::vector<std::string> key;  // empty: the table's primary key
  std::string version_column = "tidesync_version";
  std::optional<std::string> modified_column;
  std::vector<std::string> exclude_columns;  // never read or sent
};

/// What a database's change counters said, read in one cheap query. A
/// table's token moves whenever a statement writes the table (committed or
/// not) and when its definition changes: an unchanged token means nothing
/// was written since, except by the table's `writers` of that time if they
/// are still running.
struct change_marks {
  /// One token per table that has a change counter; a table missing here
  /// (not prepared by a tidesync that installs one, a partitioned table, no
  /// privilege to read it) has no cheap check and is read every cycle.
  std::map<std::string, std::string> tokens;
  /// Per table, the transactions (ids unique while they run) holding a write
  /// lock on it once the tokens were read: one of them may have moved the
  /// token already and commit later. Sorted; PostgreSQL only, since SQLite
  /// counts inside its one writer's transaction.
  std::map<std::string, std::vector<std::string>> writers;
};

/// A local database the agent replicates from. Every read orders rows by
/// `(version, key)`, binds values as parameters and quotes identifiers.
///
/// One instance owns one connection and is not thread-safe. Every failure is
/// a storage_error; a lost connection (storage_errc::unavailable) is
/// re-established by the next call.
class source {
public:
  virtual ~source() = default;

  /// "postgresql" or "sqlite".
  virtual std::string_view kind() const = 0;

  /// Discovers the table's columns, their types and nullability, and its key:
  /// `key` when given (order kept), else the primary key. The version column
  /// must exist (`tidesync prepare` adds it). Columns `excluded` are left out
  /// of the schema, so nothing reads them.
  virtual protocol::table_schema describe(const std::string& table,
                                          const std::vector<std::string>& key,
                                          const std::string& version_column,
                                          const std::optional<std::string>& modified_column,
                                          const std::vector<std::string>& excluded = {}) = 0;

  /// Checks a row condition (a table's `where`) without reading a row: it
  /// must be one expression over the table's own columns that the database
  /// accepts as deterministic (no subquery, parameter, volatile function
  /// such as random() or set_config(), nor one that reads the clock on
  /// PostgreSQL), as a generated column's expression must be. Throws
  /// storage_error(invalid) with the database's reason.
  virtual void check_row_condition(const std::string& table, const std::string& condition) = 0;

  /// Count, highest version and highest modified value (as text).
  virtual protocol::table_version summary(const std::string& table,
                                          const protocol::table_schema& schema) = 0;

  /// Versions below this are final: no transaction still running can commit
  /// a row with a smaller one.
  virtual std::int64_t safe_version() = 0;

  /// The change tokens of those of `tables` that have a counter, with their
  /// writers once they were read. A source without counters answers none.
  virtual change_marks read_change_marks(const std::vector<table_ref>& tables) {
    (void)tables;
    return {};
  }

  /// Up to `limit` rows with version >= `min_version` (when given) and strictly
  /// after `after` (when given), ordered by `(version, key)`.
  virtual std::vector<text_row> read_rows(const std::string& table,
                                          const protocol::table_schema& schema,
                                          const std::optional<row_position>& after,
                                          std::optional<std::int64_t> min_version,
                                          std::int64_t limit) = 0;

  /// Up to `limit` keys with `min_version <= version <= max_version` (each
  /// bound when given), strictly after `after`, ordered by `(version, key)`.
  virtual std::vector<key_version> read_keys(const std::string& table,
                                             const protocol::table_schema& schema,
                                             std::optional<std::int64_t> min_version,
                                             std::optional<std::int64_t> max_version,
                                             std::int64_t limit,
                                             const std::optional<row_position>& after) = 0;

  /// The rows whose keys are given (those that still exist), ordered by
  /// version (and by key within a version for up to 1000 keys).
  virtual std::vector<text_row> read_rows_by_keys(const std::string& table,
                                                  const protocol::table_schema& schema,
                                                  const std::vector<key_cells>& keys) = 0;

  /// Calls `visit` with every row whose key lies in `[from, to)` (each bound
  /// when given), in the store's key order (text bytewise, uuids by their
  /// bytes whatever case a SQLite file spells them in), reading the table once
  /// without holding it all in memory. Stops early when `visit` returns false.
  virtual void scan_key_range(const std::string& table, const protocol::table_schema& schema,
                              const std::optional<key_cells>& from,
                              const std::optional<key_cells>& to,
                              const std::function<bool(const text_row&)>& visit) = 0;
};

/// Opens the source a URL names: `postgresql://…` or `postgres://…` (libpq
/// URL), or `sqlite:///absolute/path.db`. Throws storage_error.
std::unique_ptr<source> open_source(const std::string& url);

/// The position of `row` (a row read_rows returned for `schema`), for
/// continuing after it.
row_position position_of(const protocol::table_schema& schema, const text_row& row);

/// The source's kind for a URL ("postgresql" or "sqlite"); invalid otherwise.
std::string_view source_kind(const std::string& url);

/// The path of a `sqlite:///abs/path.db` URL.
std::string sqlite_path(const std::string& url);

} // namespace tidesync::storage
