#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

namespace tidesync::storage {

class sqlite_db;

/// A row the server refused, remembered so it is counted and retried later.
struct skipped_row {
  std::string database;
  std::string table;
  std::string key_json;  // the key's wire cells as a JSON array
  std::int64_t version = 0;
  std::string reason;
  std::string first_seen;  // ISO 8601 UTC, set when first added
  std::int64_t attempts = 1;

  friend bool operator==(const skipped_row&, const skipped_row&) = default;
};

/// What `state_store::read_snapshot` reads: the saved ids and the skipped rows.
/// Why a table's last cycle failed, and since when (ISO 8601, UTC).
struct table_error {
  std::string error;
  std::string since;
};

struct state_snapshot {
  /// The server's id of each database, by configured name (empty ids left out).
  std::map<std::string, std::string> database_ids;
  /// Every database's skipped rows, oldest first (then by table and key).
  std::vector<skipped_row> skipped_rows;
  /// The columns the server refused, by (database, table), as saved.
  std::map<std::pair<std::string, std::string>, std::string> refused_columns;
  /// Why each failing table's last cycle failed, by (database, table).
  std::map<std::pair<std::string, std::string>, table_error> table_errors;
};

/// The agent's durable state: `<state_dir>/agent-state.db`, a SQLite file in
/// WAL mode with synchronous=NORMAL where every write is its own transaction,
/// so a `kill -9` at any moment loses nothing that was written; a power loss
/// may take back the last writes, which the agent finds again (see
/// state_store.cpp). With write_behind() on, a table's progress records (scan
/// cursor, upload resume, safe-version mark, batch history, schema hash) are
/// held in memory and committed together by one writer: a crash then loses
/// at most the last interval's records, each of which only makes the agent
/// redo work the server's idempotent answers absorb.
///
/// Holds the remote id of each database (by configured name), per table the
/// scan cursor, the safe-version mark, the batch-size history and the hash of
/// the declared schema, and the skipped rows. Thread-safe (one lock).
/// Failures are storage_error.
class state_store {
public:
  /// File name inside the state directory.
  static constexpr std::string_view file_name = "agent-state.db";

  /// Creates `state_dir` if missing and opens (or creates) the file.
  /// storage_error naming the path when it can't be created or written.
  explicit state_store(const std::string& state_dir);
  ~state_store();
  state_store(const state_store&) = delete;
  state_store& operator=(const state_store&) = delete;

  /// Reads the state of `state_dir` and changes nothing, so it may run beside
  /// a running agent: no file when there is none (an empty snapshot), no schema,
  /// no pragma that writes, and without a -wal file (no agent has it open) the
  /// file is read `immutable`, so no -wal or -shm file appears. storage_error
  /// when the file can't be read.
  static state_snapshot read_snapshot(const std::string& state_dir);

  /// Path of the state file.
  const std::string& path() const { return path_; }

  /// From now on, table progress records are kept in memory (reads see them
  /// at once) and one writer thread commits whatever is held every
  /// `interval` in a single transaction, instead of a transaction per record.
  /// A commit that fails keeps the records for the next one and is passed to
  /// `on_error`. The destructor commits what is left.
  void write_behind(std::chrono::milliseconds interval,
                    std::function<void(const std::exception&)> on_error);
  /// Commits the records held in memory now; storage_error when it fails
  /// (they are kept).
  void flush();
  /// Records held in memory, not committed yet.
  std::size_t unflushed() const;

  std::optional<std::string> database_id(const std::string& database);
  void set_database_id(const std::string& database, const std::string& database_id);
  /// Forgets the remote id of `database` (the server no longer knows it), so
  /// the next contact registers it again; false when none was saved.
  bool clear_database_id(const std::string& database);

  /// Where the differencing scan continues (opaque to the store).
  std::optional<std::string> scan_cursor(const std::string& database, const std::string& table);
  void set_scan_cursor(const std::string& database, const std::string& table,
                       const std::optional<std::string>& cursor);

  /// Where an interrupted upload resumes (opaque to the store); NULL when
  /// no upload is under way.
  std::optional<std::string> upload_resume(const std::string& database, const std::string& table);
  void set_upload_resume(const std::string& database, const std::string& table,
                         const std::optional<std::string>& resume);

  /// The safe version below which this table is known to be in the cloud.
  std::optional<std::int64_t> safe_version_mark(const std::string& database,
                                                const std::string& table);
  void set_safe_version_mark(const std::string& database, const std::string& table,
                             std::int64_t mark);

  /// The batch-size policy's history (opaque to the store).
  std::optional<std::string> batch_history(const std::string& database, const std::string& table);
  void set_batch_history(const std::string& database, const std::string& table,
                         const std::string& history);

  /// Hash of the schema last declared to the server.
  std::optional<std::string> schema_hash(const std::string& database, const std::string& table);
  void set_schema_hash(const std::string& database, const std::string& table,
                       const std::string& hash);

  /// The columns the server refused at the last declaration (opaque to the
  /// store), or nothing when it took them all; setting nothing clears it.
  std::optional<std::string> refused_columns(const std::string& database,
                                             const std::string& table);
  void set_refused_columns(const std::string& database, const std::string& table,
                           const std::optional<std::string>& columns_json);

  /// Why the table's last cycle failed, for `tidesync status`; nothing
  /// clears it once a cycle ends well. Written only when it changes.
  void set_table_error(const std::string& database, const std::string& table,
                       const std::optional<std::string>& error);

  /// Adds a skipped row; adding the same (database, table, key) again counts
  /// one more attempt and updates version and reason, keeping first_seen.
  void add_skipped_row(const std::string& database, const std::string& table,
                       const std::string& key_json, std::int64_t version,
                       const std::string& reason);

  /// Skipped rows of a table (of every table when `table` is empty), oldest first.
  std::vector<skipped_row> skipped_rows(const std::string& database,
                                        const std::string& table = "");

  /// Removes one skipped row; false when it wasn't there.
  bool remove_skipped_row(const std::string& database, const std::string& table,
                          const std::string& key_json);

  /// Removes a table's skipped rows (every table's when `table` is empty);
  /// returns how many.
  std::int64_t clear_skipped_rows(const std::string& database, const std::string& table = "");

private:
  void add_missing_columns();
  std::optional<std::string> table_text(const std::string& database, const std::string& table,
                                        std::string_view column);
  void set_table_value(const std::string& database, const std::string& table,
                       std::string_view column, const std::optional<std::string>& text,
                       std::optional<std::int64_t> number);

  void write_table_value(const std::string& database, const std::string& table,
                         const std::string& column, const std::optional<std::string>& text,
                         std::optional<std::int64_t> number);
  void flush_locked();

  /// A record held for the writer: its text, or its number, or NULL.
  struct held_value {
    std::optional<std::string> text;
    std::optional<std::int64_t> number;
  };
  using held_key = std::tuple<std::string, std::string, std::string>;  // database, table, column

  std::string path_;
  mutable std::mutex mutex_;
  /// The error each table last had as written, so an unchanged one is not written again.
  std::map<std::pair<std::string, std::string>, std::optional<std::string>> table_errors_;
  std::unique_ptr<sqlite_db> db_;
  bool writing_behind_ = false;
  std::map<held_key, held_value> held_;
  std::condition_variable_any wake_;
  std::jthread writer_;  // last: stops (and commits) before the rest goes
};

} // namespace tidesync::storage
