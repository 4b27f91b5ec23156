#include "storage/state_store.hpp"

#include "storage/source.hpp"
#include "storage/sqlite_db.hpp"

#include <sqlite3.h>

#include <pthread.h>

#include <filesystem>
#include <system_error>

namespace tidesync::storage {

namespace {

constexpr int schema_version = 1;

// WAL with synchronous=NORMAL: a commit survives the agent crashing at once,
// and is flushed to disk with the next checkpoint rather than by an fsync of
// its own, so thousands of tables saving progress cost no fsync each. A power
// loss may take back the last commits; everything here is then found again:
// the remote summary says where uploads resume (a batch sent twice writes
// nothing), an older upload position sends again pages the server has, an
// older late-commit mark only widens the window looked at, a
// database registers again under the same id, a lost cursor or batch history
// costs a rescan or the tuning.
constexpr std::string_view schema_sql = R"sql(
PRAGMA journal_mode = WAL;
PRAGMA synchronous = NORMAL;
CREATE TABLE IF NOT EXISTS database_ids (
  database TEXT PRIMARY KEY,
  database_id TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS table_state (
  database TEXT NOT NULL,
  table_name TEXT NOT NULL,
  scan_cursor TEXT,
  safe_version_mark INTEGER,
  batch_history TEXT,
  schema_hash TEXT,
  upload_resume TEXT,
  PRIMARY KEY (database, table_name)
);
CREATE TABLE IF NOT EXISTS refused_columns (
  database TEXT NOT NULL,
  table_name TEXT NOT NULL,
  columns_json TEXT NOT NULL,
  PRIMARY KEY (database, table_name)
);
CREATE TABLE IF NOT EXISTS table_errors (
  database TEXT NOT NULL,
  table_name TEXT NOT NULL,
  error TEXT NOT NULL,
  since TEXT NOT NULL,
  PRIMARY KEY (database, table_name)
);
CREATE TABLE IF NOT EXISTS skipped_rows (
  database TEXT NOT NULL,
  table_name TEXT NOT NULL,
  key_json TEXT NOT NULL,
  version INTEGER NOT NULL,
  reason TEXT NOT NULL,
  first_seen TEXT NOT NULL,
  attempts INTEGER NOT NULL,
  PRIMARY KEY (database, table_name, key_json)
);
)sql";

std::string prepared_directory(const std::string& state_dir) {
  std::error_code ec;
  std::filesystem::create_directories(state_dir, ec);
  if (ec)
    throw storage_error(storage_errc::invalid, "state directory " + state_dir +
                                                 " can't be created: " + ec.message());
  return (std::filesystem::path{state_dir} / state_store::file_name).string();
}

std::optional<std::string> optional_text(const sqlite_statement& st, int column) {
  if (st.column_type(column) == SQLITE_NULL)
    return std::nullopt;
  return st.column_text(column);
}

skipped_row skipped_row_at(const sqlite_statement& st) {
  return {st.column_text(0), st.column_text(1), st.column_text(2), st.column_int(3),
          st.column_text(4), st.column_text(5), st.column_int(6)};
}

// A read-only SQLite URI for the state file. Without a -wal file no agent has
// it open: `immutable` then reads it without creating -wal and -shm files
// (which, made by another user, would lock the agent out of its own state).
std::string read_only_uri(const std::filesystem::path& path) {
  std::string uri = "file:";
  for (char c : path.string()) {
    if (c == '%' || c == '?' || c == '#')
      uri += c == '%' ? "%25" : c == '?' ? "%3f" : "%23";
    else
      uri += c;
  }
  auto wal = path;
  wal += "-wal";
  return uri + (std::filesystem::exists(wal) ? "?mode=ro" : "?mode=ro&immutable=1");
}

std::map<std::string, std::string> read_database_ids(sqlite_db& db) {
  std::map<std::string, std::string> out;
  sqlite_statement st{db, "SELECT database, database_id FROM database_ids",
                      "read database ids"};
  while (st.step())
    if (auto id = st.column_text(1); !id.empty())
      out[st.column_text(0)] = id;
  return out;
}

std::vector<skipped_row> read_all_skipped_rows(sqlite_db& db) {
  sqlite_statement st{db,
                      "SELECT database, table_name, key_json, version, reason, first_seen, "
                      "attempts FROM skipped_rows ORDER BY first_seen, table_name, key_json",
                      "read skipped rows"};
  std::vector<skipped_row> out;
  while (st.step())
    out.push_back(skipped_row_at(st));
  return out;
}

// Files written before the table existed have none: nothing was refused then.
std::map<std::pair<std::string, std::string>, std::string> read_all_refused_columns(sqlite_db& db) {
  std::map<std::pair<std::string, std::string>, std::string> out;
  sqlite_statement exists{db,
                          "SELECT 1 FROM sqlite_master WHERE type = 'table'"
                          " AND name = 'refused_columns'",
                          "read refused columns"};
  if (!exists.step())
    return out;
  sqlite_statement st{db, "SELECT database, table_name, columns_json FROM refused_columns",
                      "read refused columns"};
  while (st.step())
    out[{st.column_text(0), st.column_text(1)}] = st.column_text(2);
  return out;
}

std::map<std::pair<std::string, std::string>, table_error>
read_all_table_errors(sqlite_db& db) {
  std::map<std::pair<std::string, std::string>, table_error> out;
  sqlite_statement exists{db,
                          "SELECT 1 FROM sqlite_master WHERE type = 'table'"
                          " AND name = 'table_errors'",
                          "read table errors"};
  if (!exists.step())
    return out;  // a state file of an earlier release
  sqlite_statement st{db, "SELECT database, table_name, error, since FROM table_errors",
                      "read table errors"};
  while (st.step())
    out[{st.column_text(0), st.column_text(1)}] = {st.column_text(2), st.column_text(3)};
  return out;
}

} // namespace

state_snapshot state_store::read_snapshot(const std::string& state_dir) {
  auto path = std::filesystem::path{state_dir} / file_name;
  if (!std::filesystem::exists(path))
    return {};
  sqlite_db db{read_only_uri(path), SQLITE_OPEN_READONLY | SQLITE_OPEN_URI};
  return {read_database_ids(db), read_all_skipped_rows(db), read_all_refused_columns(db),
          read_all_table_errors(db)};
}

state_store::state_store(const std::string& state_dir) : path_(prepared_directory(state_dir)) {
  try {
    db_ = std::make_unique<sqlite_db>(path_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
    db_->exec(std::string{schema_sql}, "create the agent state");
    add_missing_columns();
    db_->exec("PRAGMA user_version = " + std::to_string(schema_version), "create the agent state");
    // What is saved is what set_table_error compares with: a table whose
    // error of a previous run is gone clears it at its first good cycle.
    for (auto& [table, saved] : read_all_table_errors(*db_))
      table_errors_[table] = std::move(saved.error);
  } catch (const storage_error& e) {
    throw storage_error(e.code(), std::string{e.what()} + " (the state directory " + state_dir +
                                    " must be writable by the agent)");
  }
}

state_store::~state_store() {
  if (writer_.joinable()) {
    writer_.request_stop();
    writer_.join();
  }
  try {
    flush();
  } catch (const std::exception&) {
    // Nothing to tell it to: the records are progress the next run redoes.
  }
}

void state_store::write_behind(std::chrono::milliseconds interval,
                               std::function<void(const std::exception&)> on_error) {
  std::lock_guard lock{mutex_};
  if (writing_behind_)
    return;
  writing_behind_ = true;
  writer_ = std::jthread([this, interval, on_error = std::move(on_error)](std::stop_token stop) {
    pthread_setname_np(pthread_self(), "ts-state");
    std::unique_lock lock{mutex_};
    while (!stop.stop_requested()) {
      wake_.wait_for(lock, stop, interval, [] { return false; });
      try {
        flush_locked();
      } catch (const std::exception& e) {
        if (on_error)
          on_error(e);
      }
    }
  });
}

void state_store::flush() {
  std::lock_guard lock{mutex_};
  flush_locked();
}

std::size_t state_store::unflushed() const {
  std::lock_guard lock{mutex_};
  return held_.size();
}

void state_store::flush_locked() {
  if (held_.empty())
    return;
  db_->exec("BEGIN IMMEDIATE", "commit table progress");
  try {
    for (const auto& [key, value] : held_)
      write_table_value(std::get<0>(key), std::get<1>(key), std::get<2>(key), value.text,
                        value.number);
    db_->exec("COMMIT", "commit table progress");
  } catch (...) {
    try {
      db_->exec("ROLLBACK", "commit table progress");
    } catch (const storage_error&) {
      // The transaction is gone already (SQLite rolls back on some errors).
    }
    throw;
  }
  held_.clear();
}

void state_store::add_missing_columns() {
  // A state file written before upload_resume existed gains it; its value
  // starts NULL (no upload to resume), which is what such a file means.
  sqlite_statement has{*db_,
                       "SELECT 1 FROM pragma_table_info('table_state') WHERE name = 'upload_resume'",
                       "read the agent state's columns"};
  if (!has.step())
    db_->exec("ALTER TABLE table_state ADD COLUMN upload_resume TEXT",
              "add upload_resume to the agent state");
}

std::optional<std::string> state_store::database_id(const std::string& database) {
  std::lock_guard lock{mutex_};
  sqlite_statement st{*db_, "SELECT database_id FROM database_ids WHERE database = ?1",
                      "read database id of " + database};
  st.bind_text(1, database);
  return st.step() ? optional_text(st, 0) : std::nullopt;
}

void state_store::set_database_id(const std::string& database, const std::string& database_id) {
  std::lock_guard lock{mutex_};
  sqlite_statement st{*db_,
                      "INSERT INTO database_ids (database, database_id) VALUES (?1, ?2) "
                      "ON CONFLICT (database) DO UPDATE SET database_id = excluded.database_id",
                      "store database id of " + database};
  st.bind_text(1, database);
  st.bind_text(2, database_id);
  st.step();
}

bool state_store::clear_database_id(const std::string& database) {
  std::lock_guard lock{mutex_};
  sqlite_statement st{*db_, "DELETE FROM database_ids WHERE database = ?1",
                      "forget database id of " + database};
  st.bind_text(1, database);
  st.step();
  return sqlite3_changes(db_->handle()) > 0;
}

std::optional<std::string> state_store::table_text(const std::string& database,
                                                   const std::string& table,
                                                   std::string_view column) {
  std::lock_guard lock{mutex_};
  if (auto held = held_.find(held_key{database, table, std::string{column}}); held != held_.end()) {
    if (held->second.number)
      return std::to_string(*held->second.number);
    return held->second.text;
  }
  sqlite_statement st{*db_,
                      "SELECT " + std::string{column} +
                        " FROM table_state WHERE database = ?1 AND table_name = ?2",
                      "read " + std::string{column} + " of " + database + "." + table};
  st.bind_text(1, database);
  st.bind_text(2, table);
  return st.step() ? optional_text(st, 0) : std::nullopt;
}

void state_store::set_table_value(const std::string& database, const std::string& table,
                                  std::string_view column, const std::optional<std::string>& text,
                                  std::optional<std::int64_t> number) {
  std::lock_guard lock{mutex_};
  if (writing_behind_) {
    held_[held_key{database, table, std::string{column}}] = held_value{text, number};
    return;
  }
  write_table_value(database, table, std::string{column}, text, number);
}

void state_store::write_table_value(const std::string& database, const std::string& table,
                                    const std::string& name,
                                    const std::optional<std::string>& text,
                                    std::optional<std::int64_t> number) {
  sqlite_statement st{*db_,
                      "INSERT INTO table_state (database, table_name, " + name +
                        ") VALUES (?1, ?2, ?3) ON CONFLICT (database, table_name) DO UPDATE SET " +
                        name + " = excluded." + name,
                      "store " + name + " of " + database + "." + table};
  st.bind_text(1, database);
  st.bind_text(2, table);
  if (number)
    st.bind_int(3, *number);
  else if (text)
    st.bind_text(3, *text);
  else
    st.bind_null(3);
  st.step();
}

std::optional<std::string> state_store::scan_cursor(const std::string& database,
                                                    const std::string& table) {
  return table_text(database, table, "scan_cursor");
}

void state_store::set_scan_cursor(const std::string& database, const std::string& table,
                                  const std::optional<std::string>& cursor) {
  set_table_value(database, table, "scan_cursor", cursor, std::nullopt);
}

std::optional<std::string> state_store::upload_resume(const std::string& database,
                                                      const std::string& table) {
  return table_text(database, table, "upload_resume");
}

void state_store::set_upload_resume(const std::string& database, const std::string& table,
                                    const std::optional<std::string>& resume) {
  set_table_value(database, table, "upload_resume", resume, std::nullopt);
}

std::optional<std::int64_t> state_store::safe_version_mark(const std::string& database,
                                                           const std::string& table) {
  auto text = table_text(database, table, "safe_version_mark");
  if (!text)
    return std::nullopt;
  return std::stoll(*text);
}

void state_store::set_safe_version_mark(const std::string& database, const std::string& table,
                                        std::int64_t mark) {
  set_table_value(database, table, "safe_version_mark", std::nullopt, mark);
}

std::optional<std::string> state_store::batch_history(const std::string& database,
                                                      const std::string& table) {
  return table_text(database, table, "batch_history");
}

void state_store::set_batch_history(const std::string& database, const std::string& table,
                                    const std::string& history) {
  set_table_value(database, table, "batch_history", history, std::nullopt);
}

std::optional<std::string> state_store::schema_hash(const std::string& database,
                                                    const std::string& table) {
  return table_text(database, table, "schema_hash");
}

void state_store::set_schema_hash(const std::string& database, const std::string& table,
                                  const std::string& hash) {
  set_table_value(database, table, "schema_hash", hash, std::nullopt);
}

std::optional<std::string> state_store::refused_columns(const std::string& database,
                                                        const std::string& table) {
  std::lock_guard lock{mutex_};
  sqlite_statement st{*db_,
                      "SELECT columns_json FROM refused_columns"
                      " WHERE database = ?1 AND table_name = ?2",
                      "read refused columns of " + database + "." + table};
  st.bind_text(1, database);
  st.bind_text(2, table);
  return st.step() ? optional_text(st, 0) : std::nullopt;
}

void state_store::set_refused_columns(const std::string& database, const std::string& table,
                                      const std::optional<std::string>& columns_json) {
  std::lock_guard lock{mutex_};
  sqlite_statement st{*db_,
                      columns_json ? "INSERT INTO refused_columns (database, table_name,"
                                     " columns_json) VALUES (?1, ?2, ?3) ON CONFLICT"
                                     " (database, table_name) DO UPDATE"
                                     " SET columns_json = excluded.columns_json"
                                   : "DELETE FROM refused_columns"
                                     " WHERE database = ?1 AND table_name = ?2",
                      "store refused columns of " + database + "." + table};
  st.bind_text(1, database);
  st.bind_text(2, table);
  if (columns_json)
    st.bind_text(3, *columns_json);
  st.step();
}

void state_store::set_table_error(const std::string& database, const std::string& table,
                                  const std::optional<std::string>& error) {
  std::lock_guard lock{mutex_};
  // Written when it changes only: a table failing every cycle with the same
  // error, or in sync every cycle, writes nothing.
  auto& known = table_errors_[{database, table}];
  if (known == error)
    return;
  sqlite_statement st{*db_,
                      error ? "INSERT INTO table_errors (database, table_name, error, since)"
                              " VALUES (?1, ?2, ?3, strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))"
                              " ON CONFLICT (database, table_name) DO UPDATE"
                              " SET error = excluded.error, since = excluded.since"
                            : "DELETE FROM table_errors WHERE database = ?1 AND table_name = ?2",
                      "store the error of " + database + "." + table};
  st.bind_text(1, database);
  st.bind_text(2, table);
  if (error)
    st.bind_text(3, *error);
  st.step();
  known = error;
}

void state_store::add_skipped_row(const std::string& database, const std::string& table,
                                  const std::string& key_json, std::int64_t version,
                                  const std::string& reason) {
  std::lock_guard lock{mutex_};
  sqlite_statement st{
    *db_,
    "INSERT INTO skipped_rows (database, table_name, key_json, version, reason, first_seen, "
    "attempts) VALUES (?1, ?2, ?3, ?4, ?5, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), 1) "
    "ON CONFLICT (database, table_name, key_json) DO UPDATE SET version = excluded.version, "
    "reason = excluded.reason, attempts = attempts + 1",
    "remember skipped row of " + database + "." + table};
  st.bind_text(1, database);
  st.bind_text(2, table);
  st.bind_text(3, key_json);
  st.bind_int(4, version);
  st.bind_text(5, reason);
  st.step();
}

std::vector<skipped_row> state_store::skipped_rows(const std::string& database,
                                                   const std::string& table) {
  std::lock_guard lock{mutex_};
  sqlite_statement st{*db_,
                      "SELECT database, table_name, key_json, version, reason, first_seen, "
                      "attempts FROM skipped_rows WHERE database = ?1 AND (?2 = '' OR "
                      "table_name = ?2) ORDER BY first_seen, table_name, key_json",
                      "list skipped rows of " + database};
  st.bind_text(1, database);
  st.bind_text(2, table);
  std::vector<skipped_row> out;
  while (st.step())
    out.push_back(skipped_row_at(st));
  return out;
}

bool state_store::remove_skipped_row(const std::string& database, const std::string& table,
                                     const std::string& key_json) {
  std::lock_guard lock{mutex_};
  sqlite_statement st{*db_,
                      "DELETE FROM skipped_rows WHERE database = ?1 AND table_name = ?2 "
                      "AND key_json = ?3",
                      "forget skipped row of " + database + "." + table};
  st.bind_text(1, database);
  st.bind_text(2, table);
  st.bind_text(3, key_json);
  st.step();
  return sqlite3_changes(db_->handle()) > 0;
}

std::int64_t state_store::clear_skipped_rows(const std::string& database,
                                             const std::string& table) {
  std::lock_guard lock{mutex_};
  sqlite_statement st{*db_,
                      "DELETE FROM skipped_rows WHERE database = ?1 AND (?2 = '' OR "
                      "table_name = ?2)",
                      "clear skipped rows of " + database};
  st.bind_text(1, database);
  st.bind_text(2, table);
  st.step();
  return sqlite3_changes(db_->handle());
}

} // namespace tidesync::storage
