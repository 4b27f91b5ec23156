// Version tracking on SQLite: plan, run, and remove. SQLite has one writer at
// a time, so each step is a short BEGIN IMMEDIATE transaction and the site's
// own writer gets in between them.
#include "storage/tracking_sql.hpp"

#include "storage/sqlite_db.hpp"
#include "storage/sqlite_source.hpp"

#include <sqlite3.h>

#include <chrono>
#include <thread>

namespace tidesync::storage::detail {

namespace {

// Rows per backfill transaction: a few milliseconds of writing.
constexpr int backfill_batch_rows = 5000;
// A pause between backfill batches, so a writer waiting in its busy handler
// takes the lock before the next batch does.
constexpr std::chrono::milliseconds backfill_pause{10};
// The busy handler's wait (sqlite_db), and the pause before asking again.
constexpr std::chrono::seconds busy_retry_after{5};
constexpr std::chrono::seconds busy_pause{1};

bool sqlite_exists(sqlite_db& db, const std::string& sql, const std::string& a,
                   const std::string& b = "") {
  sqlite_statement st{db, sql, "inspect version tracking"};
  st.bind_text(1, a);
  if (sql.find("?2") != std::string::npos)
    st.bind_text(2, b);
  return st.step();
}

std::int64_t sqlite_int(sqlite_db& db, const std::string& sql) {
  sqlite_statement st{db, sql, "inspect version tracking"};
  return st.step() ? st.column_int(0) : 0;
}

bool is_without_rowid(sqlite_db& db, const table_ref& ref) {
  try {
    sqlite_statement probe{db, "SELECT rowid FROM " + quote_identifier(ref.name, "table"),
                           "probe rowid"};
    return false;
  } catch (const storage_error&) {
    return true;
  }
}

// Rows are found by rowid, or by primary key in a WITHOUT ROWID table.
std::string sqlite_row_match(sqlite_db& db, const table_ref& ref, const catalog_table& catalog) {
  if (!is_without_rowid(db, ref))
    return "rowid = NEW.rowid";
  std::string out;
  for (const auto& column : catalog.primary_key) {
    auto quoted = quote_identifier(column, "key column");
    out += (out.empty() ? "" : " AND ") + quoted + " = NEW." + quoted;
  }
  return out;
}

// The columns that name a row, for the backfill's `(…) IN (SELECT …)`.
std::string sqlite_row_columns(sqlite_db& db, const table_ref& ref,
                               const catalog_table& catalog) {
  if (!is_without_rowid(db, ref))
    return "rowid";
  std::string out;
  for (const auto& column : catalog.primary_key)
    out += (out.empty() ? "" : ", ") + quote_identifier(column, "key column");
  return out;
}

// Those of the names an object of `type` on `table` has. Only `table`'s
// count: a name cut short could belong to another table's object.
std::vector<std::string> sqlite_objects_on(sqlite_db& db, const std::string& type,
                                           const std::string& table, std::string_view suffix) {
  std::vector<std::string> out;
  for (const auto& name : derived_bare_names(table, suffix)) {
    sqlite_statement st{db,
                        "SELECT 1 FROM sqlite_master WHERE type = ?1 AND name = ?2 AND "
                        "tbl_name = ?3",
                        "inspect version tracking"};
    st.bind_text(1, type);
    st.bind_text(2, name);
    st.bind_text(3, table);
    if (st.step())
      out.push_back(name);
  }
  return out;
}

std::string sqlite_trigger(const table_ref& ref, const std::string& match, bool insert) {
  auto table = quote_identifier(ref.name, "table");
  auto version = quote_identifier(ref.version_column, "version column");
  // The WHEN clause keeps the trigger's own UPDATE (which changes the
  // version) from firing it again, even with recursive_triggers on.
  return "CREATE TRIGGER " +
         derived_name(ref.name, insert ? sqlite_insert_suffix : sqlite_update_suffix) +
         (insert ? " AFTER INSERT ON " : " AFTER UPDATE ON ") + table +
         (insert ? "" : " FOR EACH ROW WHEN NEW." + version + " IS OLD." + version) +
         " BEGIN UPDATE tidesync_counter SET value = value + 1 WHERE id = 1; UPDATE " + table +
         " SET " + version + " = (SELECT value FROM tidesync_counter WHERE id = 1) WHERE " +
         match + "; END";
}

// Stamps the table's row in tidesync_deletes with a fresh counter value on
// every delete: with the highest version (which every insert and update
// moves) it tells the agent's idle cycle that the table changed, and a
// stamp never comes back, whatever happens to the row. Two short statements,
// the smallest trigger that does it: each connection keeps every trigger
// parsed, and an agent holds one or two per file. Without its row the
// table counts nothing and is read every cycle.
std::string sqlite_delete_trigger(const table_ref& ref) {
  return "CREATE TRIGGER " + derived_name(ref.name, sqlite_delete_suffix) + " AFTER DELETE ON " +
         quote_identifier(ref.name, "table") + " BEGIN " + sqlite_stamp_deletes_sql(ref.name) +
         " END";
}

bool sqlite_trigger_exists(sqlite_db& db, const std::string& table, std::string_view suffix) {
  return !sqlite_objects_on(db, "trigger", table, suffix).empty();
}

// A new column takes the next counter value as its default: SQLite keeps the
// default in the schema and never rewrites the rows, so every existing row
// reads it at once. The triggers stamp every later write with a higher value.
void plan_sqlite_column(sqlite_db& db, const table_ref& ref, const catalog_table& catalog,
                        bool has_column, std::int64_t& counter, tracking_step& step,
                        std::vector<tracking_step>& later) {
  auto table = quote_identifier(ref.name, "table");
  auto version = quote_identifier(ref.version_column, "version column");
  if (!has_column) {
    ++counter;
    step.statements.push_back("UPDATE tidesync_counter SET value = max(value + 1, " +
                              std::to_string(counter) + ") WHERE id = 1");
    step.statements.push_back("ALTER TABLE " + table + " ADD COLUMN " + version +
                              " INTEGER DEFAULT " + std::to_string(counter));
    return;
  }
  // A counter behind existing versions would hand out versions already used.
  auto highest = sqlite_int(db, "SELECT coalesce(max(" + version + "), 0) FROM " + table);
  if (highest > counter) {
    step.statements.push_back("UPDATE tidesync_counter SET value = max(value, " +
                              std::to_string(highest) + ") WHERE id = 1");
    counter = highest;
  }
  auto missing = sqlite_int(db, "SELECT count(*) FROM " + table + " WHERE " + version +
                                  " IS NULL");
  if (missing == 0)
    return;
  // Existing rows without a version: versioned a few thousand at a time.
  auto row = sqlite_row_columns(db, ref, catalog);
  later.push_back({ref.name, "give existing rows a version, in short transactions",
                   step_mode::backfill,
                   {"UPDATE tidesync_counter SET value = value + 1 WHERE id = 1",
                    "UPDATE " + table + " SET " + version +
                      " = (SELECT value FROM tidesync_counter WHERE id = 1) WHERE (" + row +
                      ") IN (SELECT " + row + " FROM " + table + " WHERE " + version +
                      " IS NULL LIMIT " + std::to_string(backfill_batch_rows) + ")"},
                   missing});
  ++counter;
}

void plan_sqlite_table(sqlite_db& db, const table_ref& ref, std::int64_t& counter,
                       std::vector<tracking_step>& out) {
  auto catalog = read_sqlite_catalog(db, ref.name);
  if (!catalog)
    throw storage_error(storage_errc::not_found,
                        "table " + ref.name + " not found in " + db.label());
  // Said before anything runs: the agent could not sync the table as it is.
  detail::refuse_unreplicable_columns(db.label(), ref.name, *catalog, ref.exclude_columns);
  detail::check_excluded_columns(db.label(), ref.name, *catalog, ref.key, ref.version_column,
                                 ref.modified_column, ref.exclude_columns);
  const auto* column = find_column(*catalog, ref.version_column);
  if (column != nullptr)
    require_bigint(*column, ref.name, db.label());
  tracking_step step{ref.name, "add the version column and the triggers",
                     step_mode::transaction, {}, 0};
  std::vector<tracking_step> later;
  plan_sqlite_column(db, ref, *catalog, column != nullptr, counter, step, later);
  auto match = sqlite_row_match(db, ref, *catalog);
  if (!sqlite_trigger_exists(db, ref.name, sqlite_insert_suffix))
    step.statements.push_back(sqlite_trigger(ref, match, true));
  if (!sqlite_trigger_exists(db, ref.name, sqlite_update_suffix))
    step.statements.push_back(sqlite_trigger(ref, match, false));
  if (!sqlite_trigger_exists(db, ref.name, sqlite_delete_suffix))
    step.statements.push_back(sqlite_delete_trigger(ref));
  // The count starts with the trigger: a table without a row is read every cycle.
  if (!sqlite_exists(db, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1",
                     std::string{sqlite_deletes}) ||
      !sqlite_exists(db, "SELECT 1 FROM tidesync_deletes WHERE table_name = ?1", ref.name))
    // The counter's value, not 0: a row made again (after someone deleted
    // it) must not start below a stamp an agent may still hold.
    step.statements.push_back("INSERT OR IGNORE INTO tidesync_deletes (table_name, deletes) "
                              "VALUES ('" + ref.name +
                              "', (SELECT value FROM tidesync_counter WHERE id = 1))");
  if (!step.statements.empty())
    out.push_back(std::move(step));
  for (auto& backfill : later)
    out.push_back(std::move(backfill));
  // SQLite has no concurrent index build: one statement, writers wait for it.
  if (column == nullptr ||
      !sqlite_exists(db,
                     "SELECT 1 FROM pragma_index_list(?1) AS l, pragma_index_info(l.name) AS i "
                     "WHERE i.seqno = 0 AND i.name = ?2",
                     ref.name, ref.version_column))
    out.push_back({ref.name, "build the version index (one statement)", step_mode::transaction,
                   {"CREATE INDEX " + derived_name(ref.name, index_suffix) + " ON " +
                    quote_identifier(ref.name, "table") + " (" +
                    index_columns(ref, *catalog, "") + ")"},
                   0});
}

// IMMEDIATE takes the write lock first, waiting in the busy handler. A site
// writer that holds the lock longer than that (a batch job, a long
// transaction) makes the step wait again, as prepare waits behind a long
// transaction on PostgreSQL, instead of failing half way.
void begin_immediate(sqlite_db& db, const std::string& table, const tracking_progress& progress) {
  for (;;) {
    int rc = sqlite3_exec(db.handle(), "BEGIN IMMEDIATE", nullptr, nullptr, nullptr);
    if (rc == SQLITE_OK)
      return;
    if ((rc & 0xff) != SQLITE_BUSY)
      db.fail(rc, "begin a version tracking step");
    progress(table, "waiting for the write lock of " + db.label() +
                      ": another connection has held it over " +
                      std::to_string(busy_retry_after.count()) + " s; retrying in " +
                      std::to_string(busy_pause.count()) + " s");
    std::this_thread::sleep_for(busy_pause);
  }
}

void run_in_transaction(sqlite_db& db, const tracking_step& step, std::string_view context,
                        const tracking_progress& progress) {
  const auto& statements = step.statements;
  begin_immediate(db, step.table, progress);
  try {
    for (const auto& statement : statements)
      db.exec(statement, context);
    db.exec("COMMIT", context);
  } catch (...) {
    sqlite3_exec(db.handle(), "ROLLBACK", nullptr, nullptr, nullptr);
    throw;
  }
}

void run_backfill(sqlite_db& db, const tracking_step& step, const tracking_progress& progress) {
  std::int64_t done = 0;
  auto began = std::chrono::steady_clock::now();
  auto last_report = began;
  for (;;) {
    run_in_transaction(db, step, "give existing rows a version", progress);
    auto changed = sqlite3_changes(db.handle());
    if (changed == 0)
      break;
    done += changed;
    auto now = std::chrono::steady_clock::now();
    if (now - last_report > std::chrono::seconds{2}) {
      last_report = now;
      progress(step.table, "versioned " + std::to_string(done) + " of ~" +
                             std::to_string(step.rows) + " rows");
    }
    std::this_thread::sleep_for(backfill_pause);
  }
  progress(step.table, "gave " + std::to_string(done) + " rows a version");
}

} // namespace

std::vector<tracking_step> plan_sqlite_tracking(const std::string& path,
                                                const std::vector<table_ref>& tables) {
  sqlite_db db{path, SQLITE_OPEN_READONLY};
  std::vector<tracking_step> out;
  std::int64_t counter = 0;
  tracking_step setup{"", "create the version counter", step_mode::transaction, {}, 0};
  if (!sqlite_exists(db, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1",
                     std::string{sqlite_counter}))
    setup.statements.push_back("CREATE TABLE tidesync_counter (id INTEGER PRIMARY KEY CHECK "
                               "(id = 1), value INTEGER NOT NULL)");
  else
    counter = sqlite_int(db, "SELECT coalesce(max(value), -1) FROM tidesync_counter");
  if (!setup.statements.empty() || counter < 0) {
    setup.statements.push_back("INSERT INTO tidesync_counter (id, value) VALUES (1, 0)");
    counter = 0;
  }
  if (!sqlite_exists(db, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1",
                     std::string{sqlite_deletes}))
    setup.statements.push_back("CREATE TABLE tidesync_deletes (table_name TEXT PRIMARY KEY, "
                               "deletes INTEGER NOT NULL) WITHOUT ROWID");
  if (!setup.statements.empty())
    out.push_back(std::move(setup));
  for (const auto& ref : tables)
    plan_sqlite_table(db, ref, counter, out);
  return out;
}

void run_sqlite_steps(const std::string& path, const std::vector<tracking_step>& steps,
                      const tracking_progress& progress) {
  sqlite_db db{path, SQLITE_OPEN_READWRITE};
  for (const auto& step : steps) {
    progress(step.table, step.summary);
    if (step.mode == step_mode::backfill)
      run_backfill(db, step, progress);
    else
      run_in_transaction(db, step, "install version tracking", progress);
  }
}

std::vector<tracking_step> plan_sqlite_removal(const std::string& path,
                                               const std::vector<table_ref>& tables,
                                               const removal_options& options) {
  sqlite_db db{path, SQLITE_OPEN_READONLY};
  std::vector<tracking_step> out;
  std::string removed;
  for (const auto& ref : tables) {
    auto catalog = read_sqlite_catalog(db, ref.name);
    if (!catalog)
      throw storage_error(storage_errc::not_found,
                          "table " + ref.name + " not found in " + db.label());
    quote_identifier(ref.name, "table");  // safe to list in the counter's check below
    removed += (removed.empty() ? "'" : ", '") + ref.name + "'";
    tracking_step step{ref.name, "drop the triggers and the version index",
                       step_mode::transaction, {}, 0};
    for (auto suffix : {sqlite_insert_suffix, sqlite_update_suffix, sqlite_delete_suffix})
      for (const auto& name : sqlite_objects_on(db, "trigger", ref.name, suffix))
        step.statements.push_back("DROP TRIGGER \"" + name + "\"");
    if (sqlite_exists(db, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1",
                      std::string{sqlite_deletes}) &&
        sqlite_exists(db, "SELECT 1 FROM tidesync_deletes WHERE table_name = ?1", ref.name))
      step.statements.push_back("DELETE FROM tidesync_deletes WHERE table_name = '" + ref.name +
                                "'");
    for (const auto& name : sqlite_objects_on(db, "index", ref.name, index_suffix))
      step.statements.push_back("DROP INDEX \"" + name + "\"");
    if (options.drop_columns && find_column(*catalog, ref.version_column) != nullptr)
      step.statements.push_back("ALTER TABLE " + quote_identifier(ref.name, "table") +
                                " DROP COLUMN " +
                                quote_identifier(ref.version_column, "version column"));
    if (!step.statements.empty())
      out.push_back(std::move(step));
  }
  // The counters go once no trigger of another table moves them.
  if (sqlite_int(db, "SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND "
                     "(sql LIKE '%tidesync_counter%' OR sql LIKE '%tidesync_deletes%') AND "
                     "tbl_name NOT IN (" +
                       (removed.empty() ? std::string{"''"} : removed) + ")") == 0) {
    tracking_step drop{"", "drop the version counter no table uses any more",
                       step_mode::transaction, {}, 0};
    for (auto name : {sqlite_counter, sqlite_deletes})
      if (sqlite_exists(db, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1",
                        std::string{name}))
        drop.statements.push_back("DROP TABLE " + std::string{name});
    if (!drop.statements.empty())
      out.push_back(std::move(drop));
  }
  return out;
}

} // namespace tidesync::storage::detail
