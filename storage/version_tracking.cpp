#include "storage/version_tracking.hpp"

#include "storage/postgres_source.hpp"
#include "storage/source_sql.hpp"
#include "storage/sqlite_db.hpp"
#include "storage/sqlite_source.hpp"

#include <pqxx/pqxx>
#include <sqlite3.h>

namespace tidesync::storage {

namespace {

using detail::quote_identifier;

constexpr std::size_t max_identifier_bytes = 63;
constexpr std::string_view pg_function = "tidesync_set_version";
constexpr std::string_view pg_trigger = "tidesync_version";
constexpr std::string_view pg_notify_function = "tidesync_notify";
constexpr std::string_view pg_notify_trigger = "tidesync_notify";

// A name tidesync derives from a table name, cut to PostgreSQL's 63 bytes.
std::string derived_name(const std::string& table, std::string_view suffix) {
  auto name = "tidesync_" + table;
  name = name.substr(0, max_identifier_bytes - suffix.size()) + std::string{suffix};
  return "\"" + name + "\"";
}

const detail::catalog_column* find_column(const detail::catalog_table& catalog,
                                          const std::string& name) {
  for (const auto& column : catalog.columns)
    if (column.name == name)
      return &column;
  return nullptr;
}

// (version, key…): the order every page reads in. Text key columns take
// `text_collation`, the bytewise one page queries order by, or the index
// can't serve them.
std::string index_columns(const table_ref& ref, const detail::catalog_table& catalog,
                          std::string_view text_collation) {
  std::string out = quote_identifier(ref.version_column, "version column");
  for (const auto& column : ref.key.empty() ? catalog.primary_key : ref.key) {
    out += ", " + quote_identifier(column, "key column");
    const auto* found = find_column(catalog, column);
    if (found != nullptr && found->type == protocol::column_type::text)
      out += text_collation;
  }
  return out;
}

void require_bigint(const detail::catalog_column& column, const std::string& table,
                    const std::string& label) {
  if (column.type != protocol::column_type::bigint)
    throw storage_error(storage_errc::unsupported,
                        "version column " + column.name + " of table " + table + " in " + label +
                          " has type " + column.declared_type + "; it must be bigint");
}

// --- PostgreSQL -------------------------------------------------------------

std::string pg_function_sql() {
  // One function for every table: the column name comes as the trigger's argument.
  return "CREATE OR REPLACE FUNCTION " + std::string{pg_function} +
         "() RETURNS trigger LANGUAGE plpgsql AS $$\n"
         "BEGIN\n"
         "  NEW := jsonb_populate_record(NEW, jsonb_build_object(TG_ARGV[0], "
         "pg_current_xact_id()::text::bigint));\n"
         "  RETURN NEW;\n"
         "END\n"
         "$$";
}

// Wakes a listening agent once per transaction and table: PostgreSQL folds
// notifications with the same channel and payload within a transaction into
// one. The payload (the table's name) only says which table to read; the
// agent trusts nothing else from it.
//
// PostgreSQL serialises the commits of notifying transactions (one global
// lock, held through the commit's WAL flush), which cut a site's concurrent
// single-row write rate to a fraction. So a session announces a table at most
// once per 250 ms (its last announcement is kept in a session setting, which
// a rolled-back transaction reverts): a busy writer announces a few commits a
// second instead of each (abs(): a clock stepped back must not silence it).
// The agent looks at a woken table once more a moment
// after it read it, which finds a commit this left unannounced.
std::string pg_notify_function_sql() {
  return "CREATE OR REPLACE FUNCTION " + std::string{pg_notify_function} +
         "() RETURNS trigger LANGUAGE plpgsql AS $$\n"
         "DECLARE\n"
         "  setting text := 'tidesync.notified_' || TG_RELID;\n"
         "  now_ms bigint := floor(extract(epoch FROM clock_timestamp()) * 1000);\n"
         "BEGIN\n"
         "  IF abs(now_ms - coalesce(nullif(current_setting(setting, true), ''), '0')::bigint) "
         ">= 250 THEN\n"
         "    PERFORM set_config(setting, now_ms::text, false);\n"
         "    PERFORM pg_notify('" + std::string{version_notify_channel} + "', TG_TABLE_NAME);\n"
         "  END IF;\n"
         "  RETURN NULL;\n"
         "END\n"
         "$$";
}

bool pg_exists(pqxx::transaction_base& tx, const std::string& sql, const std::string& a,
               const std::string& b = "") {
  return !tx.exec_params(sql, a, b).empty();
}

// An index led by the version whose text columns sort in "C", as page queries
// do; one from an earlier prepare with the default collation is replaced.
void plan_pg_index(pqxx::transaction_base& tx, const table_ref& ref,
                   const detail::catalog_table& catalog, bool new_column,
                   std::vector<std::string>& out) {
  auto table = quote_identifier(ref.name, "table");
  auto index = derived_name(ref.name, "_version");
  if (!new_column &&
      pg_exists(tx,
                "SELECT 1 FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid "
                "AND a.attnum = i.indkey[0] WHERE i.indrelid = to_regclass($1) AND a.attname = $2 "
                "AND NOT EXISTS (SELECT 1 FROM unnest(i.indcollation::oid[]) c "
                "WHERE c <> 0 AND c <> 'pg_catalog.\"C\"'::regcollation)",
                table, ref.version_column))
    return;
  if (!new_column && !tx.exec_params("SELECT to_regclass($1)", index)[0][0].is_null())
    out.push_back("DROP INDEX " + index);
  out.push_back("CREATE INDEX " + index + " ON " + table + " (" +
                index_columns(ref, catalog, " COLLATE \"C\"") + ")");
}

void plan_pg_table(pqxx::transaction_base& tx, const table_ref& ref, const std::string& label,
                   std::vector<std::string>& out) {
  auto table = quote_identifier(ref.name, "table");
  auto version = quote_identifier(ref.version_column, "version column");
  auto catalog = read_pg_catalog(tx, ref.name);
  if (!catalog)
    throw storage_error(storage_errc::not_found, "table " + ref.name + " not found in " + label);
  const auto* column = find_column(*catalog, ref.version_column);
  if (column != nullptr)
    require_bigint(*column, ref.name, label);
  if (column == nullptr)
    out.push_back("ALTER TABLE " + table + " ADD COLUMN " + version + " bigint");
  if (!pg_exists(tx, "SELECT 1 FROM pg_trigger WHERE tgrelid = to_regclass($1) AND tgname = $2",
                 table, std::string{pg_trigger}))
    out.push_back("CREATE TRIGGER " + std::string{pg_trigger} + " BEFORE INSERT OR UPDATE ON " +
                  table + " FOR EACH ROW EXECUTE FUNCTION " + std::string{pg_function} + "('" +
                  ref.version_column + "')");
  if (!pg_exists(tx, "SELECT 1 FROM pg_trigger WHERE tgrelid = to_regclass($1) AND tgname = $2",
                 table, std::string{pg_notify_trigger}))
    out.push_back("CREATE TRIGGER " + std::string{pg_notify_trigger} +
                  " AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON " + table +
                  " FOR EACH STATEMENT EXECUTE FUNCTION " + std::string{pg_notify_function} +
                  "()");
  if (column == nullptr ||
      !tx.exec("SELECT 1 FROM " + table + " WHERE " + version + " IS NULL LIMIT 1").empty())
    out.push_back("UPDATE " + table + " SET " + version +
                  " = pg_current_xact_id()::text::bigint WHERE " + version + " IS NULL");
  if (column == nullptr || !column->not_null)
    out.push_back("ALTER TABLE " + table + " ALTER COLUMN " + version + " SET NOT NULL");
  plan_pg_index(tx, ref, *catalog, column == nullptr, out);
}

std::vector<std::string> plan_pg(pqxx::transaction_base& tx, const std::vector<table_ref>& tables,
                                 const std::string& label) {
  std::vector<std::string> out;
  if (tx.exec_params("SELECT to_regprocedure($1)", std::string{pg_function} + "()")[0][0]
        .is_null())
    out.push_back(pg_function_sql());
  if (tx.exec_params("SELECT to_regprocedure($1)", std::string{pg_notify_function} + "()")[0][0]
        .is_null())
    out.push_back(pg_notify_function_sql());
  for (const auto& ref : tables)
    plan_pg_table(tx, ref, label, out);
  return out;
}

template <class Work>
std::vector<std::string> with_pg(const std::string& url, Work&& work) {
  std::string label = "PostgreSQL database " + url.substr(url.rfind('/') + 1);
  label = label.substr(0, label.find('?'));
  try {
    pqxx::connection conn{url};
    return work(conn, label);
  } catch (const storage_error&) {
    throw;
  } catch (const pqxx::broken_connection& e) {
    throw storage_error(storage_errc::unavailable, label + ": " + e.what());
  } catch (const std::exception& e) {
    throw storage_error(storage_errc::failed, label + ": version tracking: " + e.what());
  }
}

// --- SQLite -----------------------------------------------------------------

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

// Rows are found by rowid, or by primary key in a WITHOUT ROWID table.
std::string sqlite_row_match(sqlite_db& db, const table_ref& ref,
                             const detail::catalog_table& catalog) {
  try {
    sqlite_statement probe{db, "SELECT rowid FROM " + quote_identifier(ref.name, "table"),
                           "probe rowid"};
    return "rowid = NEW.rowid";
  } catch (const storage_error&) {
    std::string out;
    for (const auto& column : catalog.primary_key) {
      auto quoted = quote_identifier(column, "key column");
      out += (out.empty() ? "" : " AND ") + quoted + " = NEW." + quoted;
    }
    return out;
  }
}

std::string sqlite_trigger(const table_ref& ref, const std::string& match, bool insert) {
  auto table = quote_identifier(ref.name, "table");
  auto version = quote_identifier(ref.version_column, "version column");
  // The WHEN clause keeps the trigger's own UPDATE (which changes the
  // version) from firing it again, even with recursive_triggers on.
  return "CREATE TRIGGER " + derived_name(ref.name, insert ? "_insert" : "_update") +
         (insert ? " AFTER INSERT ON " : " AFTER UPDATE ON ") + table +
         (insert ? "" : " FOR EACH ROW WHEN NEW." + version + " IS OLD." + version) +
         " BEGIN UPDATE tidesync_counter SET value = value + 1 WHERE id = 1; UPDATE " + table +
         " SET " + version + " = (SELECT value FROM tidesync_counter WHERE id = 1) WHERE " +
         match + "; END";
}

void plan_sqlite_versions(sqlite_db& db, const table_ref& ref, bool has_column,
                          std::int64_t& counter, std::vector<std::string>& out) {
  auto table = quote_identifier(ref.name, "table");
  auto version = quote_identifier(ref.version_column, "version column");
  if (!has_column) {
    out.push_back("ALTER TABLE " + table + " ADD COLUMN " + version + " INTEGER");
  } else {
    // A counter behind existing versions would hand out versions already used.
    auto highest = sqlite_int(db, "SELECT coalesce(max(" + version + "), 0) FROM " + table);
    if (highest > counter) {
      out.push_back("UPDATE tidesync_counter SET value = max(value, " + std::to_string(highest) +
                    ") WHERE id = 1");
      counter = highest;
    }
  }
  if (!has_column ||
      sqlite_int(db, "SELECT count(*) FROM (SELECT 1 FROM " + table + " WHERE " + version +
                       " IS NULL LIMIT 1)") > 0) {
    out.push_back("UPDATE tidesync_counter SET value = value + 1 WHERE id = 1");
    out.push_back("UPDATE " + table + " SET " + version +
                  " = (SELECT value FROM tidesync_counter WHERE id = 1) WHERE " + version +
                  " IS NULL");
    ++counter;
  }
}

void plan_sqlite_table(sqlite_db& db, const table_ref& ref, std::int64_t& counter,
                       std::vector<std::string>& out) {
  auto catalog = read_sqlite_catalog(db, ref.name);
  if (!catalog)
    throw storage_error(storage_errc::not_found,
                        "table " + ref.name + " not found in " + db.label());
  const auto* column = find_column(*catalog, ref.version_column);
  if (column != nullptr)
    require_bigint(*column, ref.name, db.label());
  plan_sqlite_versions(db, ref, column != nullptr, counter, out);
  auto match = sqlite_row_match(db, ref, *catalog);
  auto trigger_exists = [&](std::string_view suffix) {
    auto name = derived_name(ref.name, suffix);
    return sqlite_exists(db, "SELECT 1 FROM sqlite_master WHERE type = 'trigger' AND name = ?1",
                         name.substr(1, name.size() - 2));
  };
  if (!trigger_exists("_insert"))
    out.push_back(sqlite_trigger(ref, match, true));
  if (!trigger_exists("_update"))
    out.push_back(sqlite_trigger(ref, match, false));
  if (column == nullptr ||
      !sqlite_exists(db,
                     "SELECT 1 FROM pragma_index_list(?1) AS l, pragma_index_info(l.name) AS i "
                     "WHERE i.seqno = 0 AND i.name = ?2",
                     ref.name, ref.version_column))
    out.push_back("CREATE INDEX " + derived_name(ref.name, "_version") + " ON " +
                  quote_identifier(ref.name, "table") + " (" + index_columns(ref, *catalog, "") +
                  ")");
}

std::vector<std::string> plan_sqlite(sqlite_db& db, const std::vector<table_ref>& tables) {
  std::vector<std::string> out;
  std::int64_t counter = 0;
  if (!sqlite_exists(db, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1",
                     "tidesync_counter"))
    out.push_back("CREATE TABLE tidesync_counter (id INTEGER PRIMARY KEY CHECK (id = 1), "
                  "value INTEGER NOT NULL)");
  else
    counter = sqlite_int(db, "SELECT coalesce(max(value), -1) FROM tidesync_counter");
  if (out.size() == 1 || counter < 0) {
    out.push_back("INSERT INTO tidesync_counter (id, value) VALUES (1, 0)");
    counter = 0;
  }
  for (const auto& ref : tables)
    plan_sqlite_table(db, ref, counter, out);
  return out;
}

std::vector<std::string> apply_sqlite(const std::string& path,
                                      const std::vector<table_ref>& tables) {
  sqlite_db db{path, SQLITE_OPEN_READWRITE};
  // IMMEDIATE takes the write lock first, so the plan can't go stale.
  db.exec("BEGIN IMMEDIATE", "start version tracking");
  try {
    auto statements = plan_sqlite(db, tables);
    for (const auto& statement : statements)
      db.exec(statement, "install version tracking");
    db.exec("COMMIT", "commit version tracking");
    return statements;
  } catch (...) {
    sqlite3_exec(db.handle(), "ROLLBACK", nullptr, nullptr, nullptr);
    throw;
  }
}

} // namespace

std::vector<std::string> plan_version_tracking(const std::string& url,
                                               const std::vector<table_ref>& tables) {
  if (source_kind(url) == "sqlite") {
    sqlite_db db{sqlite_path(url), SQLITE_OPEN_READONLY};
    return plan_sqlite(db, tables);
  }
  return with_pg(url, [&](pqxx::connection& conn, const std::string& label) {
    pqxx::read_transaction tx{conn};
    return plan_pg(tx, tables, label);
  });
}

std::vector<std::string> apply_version_tracking(const std::string& url,
                                                const std::vector<table_ref>& tables) {
  if (source_kind(url) == "sqlite")
    return apply_sqlite(sqlite_path(url), tables);
  return with_pg(url, [&](pqxx::connection& conn, const std::string& label) {
    pqxx::work tx{conn};
    auto statements = plan_pg(tx, tables, label);
    for (const auto& statement : statements)
      tx.exec(statement);
    tx.commit();
    return statements;
  });
}

} // namespace tidesync::storage
