#include "storage/postgres_source.hpp"

#include "storage/tracking_sql.hpp"

#include <pqxx/pqxx>

#include <algorithm>
#include <utility>

namespace tidesync::storage {

namespace {

// Parameters beyond this many keys go in another query (PostgreSQL's limit is 65535).
constexpr std::size_t keys_per_query = 1000;

// The database's name from a libpq URL, for error messages (never the password).
std::string database_label(const std::string& url) {
  auto scheme = url.find("://");
  auto slash = url.find('/', scheme == std::string::npos ? 0 : scheme + 3);
  std::string name = slash == std::string::npos ? "" : url.substr(slash + 1);
  name = name.substr(0, name.find('?'));
  return "PostgreSQL database " + (name.empty() ? std::string{"(default)"} : name);
}

storage_errc code_for_sqlstate(const std::string& state) {
  if (state == "42P01" || state == "42703")
    return storage_errc::not_found;
  if (state.rfind("08", 0) == 0 || state == "57P01" || state == "57P02" || state == "57P03")
    return storage_errc::unavailable;
  // A lock the site holds past lock_timeout, a read past statement_timeout:
  // the table is busy now, like a lost connection it is tried next cycle.
  if (state == "55P03" || state == "57014")
    return storage_errc::unavailable;
  if (state.rfind("22", 0) == 0)
    return storage_errc::invalid;
  return storage_errc::failed;
}

// How long the agent's reads wait: for a lock the site's application holds
// (an ALTER TABLE, a LOCK TABLE), for one statement, for a connection. A
// locked or unreachable database then holds a worker and a connection for
// bounded time, and its cycle ends with an error the next one retries.
constexpr const char* source_lock_timeout = "'5s'";
constexpr const char* source_statement_timeout = "'5min'";
constexpr int source_connect_timeout_seconds = 10;

// The URL with libpq's client-side limits added, each unless it sets its own:
// connect_timeout, else an unreachable host holds the connecting worker for
// the kernel's TCP timeout; keepalives and tcp_user_timeout, else a read from
// a host that went silent mid-statement (a frozen VM, a cut link) waits for
// ever, since the server-side timeouts above can't end it.
std::string with_client_limits(std::string url) {
  const bool uri = url.rfind("postgres://", 0) == 0 || url.rfind("postgresql://", 0) == 0;
  auto add = [&](const std::string& key, const std::string& value) {
    if (url.find(key + "=") != std::string::npos)
      return;
    if (uri)
      url += (url.find('?') == std::string::npos ? "?" : "&") + key + "=" + value;
    else
      url += " " + key + "=" + value;
  };
  add("connect_timeout", std::to_string(source_connect_timeout_seconds));
  add("keepalives_idle", "30");
  add("keepalives_interval", "10");
  add("keepalives_count", "3");
  add("tcp_user_timeout", "60000");
  return url;
}

std::string trimmed(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' '))
    text.pop_back();
  return text;
}

std::vector<std::string> param_texts(const detail::sql_query& query) {
  std::vector<std::string> out;
  out.reserve(query.params.size());
  for (const auto& param : query.params)
    out.push_back(param.text);
  return out;
}

text_cell cell_of(const pqxx::field& field) {
  if (field.is_null())
    return std::nullopt;
  return std::string{field.c_str(), field.size()};
}

std::vector<text_row> rows_of(const pqxx::result& result) {
  std::vector<text_row> rows;
  rows.reserve(result.size());
  for (const auto& row : result) {
    text_row out;
    out.reserve(row.size());
    for (const auto& field : row)
      out.push_back(cell_of(field));
    rows.push_back(std::move(out));
  }
  return rows;
}

// Version first, then the key cells.
std::vector<key_version> keys_of(const pqxx::result& result) {
  std::vector<key_version> out;
  out.reserve(result.size());
  for (const auto& row : result) {
    key_version entry;
    entry.version = row[0].as<std::int64_t>();
    for (pqxx::row::size_type i = 1; i < row.size(); ++i)
      entry.key.emplace_back(row[i].c_str(), row[i].size());
    out.push_back(std::move(entry));
  }
  return out;
}

std::optional<std::int64_t> optional_int(const pqxx::field& field) {
  if (field.is_null())
    return std::nullopt;
  return field.as<std::int64_t>();
}

} // namespace

struct postgres_source::impl {
  std::string url;
  std::string label;
  std::unique_ptr<pqxx::connection> conn;

  pqxx::connection& connection() {
    if (!conn) {
      auto fresh = std::make_unique<pqxx::connection>(with_client_limits(url));
      // pqxx restores these variables if it ever reconnects on its own.
      fresh->set_client_encoding("UTF8");
      fresh->set_variable("TimeZone", "'UTC'");
      fresh->set_variable("DateStyle", "'ISO, YMD'");
      fresh->set_variable("bytea_output", "'hex'");
      // 3: servers before PostgreSQL 12 then print every double exactly (17
      // digits); 12 and later print the shortest exact text for any value above 0.
      fresh->set_variable("extra_float_digits", "3");
      fresh->set_variable("application_name", "'tidesync agent'");
      fresh->set_variable("lock_timeout", source_lock_timeout);
      fresh->set_variable("statement_timeout", source_statement_timeout);
      conn = std::move(fresh);
    }
    return *conn;
  }

  /// Runs `work` on the connection; every libpqxx failure becomes a storage_error.
  template <class Work>
  auto guarded(const std::string& context, Work&& work) -> decltype(work(connection())) {
    try {
      return work(connection());
    } catch (const storage_error&) {
      throw;
    } catch (const pqxx::broken_connection& e) {
      conn.reset();
      throw storage_error(storage_errc::unavailable,
                          label + ": " + context + ": connection failed: " + trimmed(e.what()));
    } catch (const pqxx::sql_error& e) {
      auto code = code_for_sqlstate(e.sqlstate());
      if (code == storage_errc::unavailable)
        conn.reset();
      throw storage_error(code, label + ": " + context + ": " + trimmed(e.what()));
    } catch (const std::exception& e) {
      throw storage_error(storage_errc::failed, label + ": " + context + ": " + trimmed(e.what()));
    }
  }

  /// Runs `query` and hands the result to `convert`, both inside the guard.
  template <class Convert>
  auto run(const std::string& context, const detail::sql_query& query, Convert&& convert) {
    return guarded(context, [&](pqxx::connection& c) {
      pqxx::nontransaction tx{c};
      auto params = param_texts(query);
      return convert(tx.exec_params(query.sql, pqxx::prepare::make_dynamic_params(params)));
    });
  }
};

postgres_source::postgres_source(std::string url) : impl_(std::make_unique<impl>()) {
  impl_->label = database_label(url);
  impl_->url = std::move(url);
}

postgres_source::~postgres_source() = default;

std::optional<detail::catalog_table> read_pg_catalog(pqxx::transaction_base& tx,
                                                     const std::string& table) {
  auto oid = tx.exec_params("SELECT c.oid FROM pg_class c WHERE c.oid = to_regclass($1) "
                            "AND c.relkind IN ('r', 'p')",
                            detail::quote_identifier(table, "table"));
  if (oid.empty())
    return std::nullopt;
  auto columns = tx.exec_params(
      // A type is known by its name in pg_catalog only: an enum or domain
      // called int8 or text in another schema is not the built-in type.
      "SELECT a.attname, CASE WHEN t.typnamespace = 'pg_catalog'::regnamespace THEN t.typname "
      "  END, format_type(a.atttypid, a.atttypmod), a.attnotnull, "
      "  (SELECT k.n FROM pg_index i, unnest(i.indkey::int2[]) WITH ORDINALITY k(att, n) "
      "   WHERE i.indrelid = a.attrelid AND i.indisprimary AND k.att = a.attnum) "
      "FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid "
      "WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum",
      oid[0][0].as<std::string>());
  detail::catalog_table catalog;
  std::vector<std::pair<std::int64_t, std::string>> key;
  for (const auto& row : columns) {
    detail::catalog_column column;
    column.name = row[0].as<std::string>();
    if (!row[1].is_null())
      column.type = protocol::parse_column_type(row[1].as<std::string>());
    column.declared_type = row[2].as<std::string>();
    column.not_null = row[3].as<bool>();
    if (!row[4].is_null())
      key.emplace_back(row[4].as<std::int64_t>(), column.name);
    catalog.columns.push_back(std::move(column));
  }
  std::sort(key.begin(), key.end());
  for (auto& [position, name] : key)
    catalog.primary_key.push_back(std::move(name));
  return catalog;
}

// A table whose prepare hasn't finished (rows may still lack a version, or
// writes may go unversioned) is not ready: never read it as empty, which
// would delete its cloud copy.
void postgres_source::check_prepared(const std::string& table,
                                     const detail::catalog_table& catalog,
                                     const std::string& version_column, bool tracked) const {
  const detail::catalog_column* version = nullptr;
  for (const auto& column : catalog.columns)
    if (column.name == version_column)
      version = &column;
  std::string missing;
  if (version != nullptr && !version->not_null)
    missing = "its version column " + version_column + " still allows NULL";
  else if (version != nullptr && !tracked)
    missing = "its tidesync_version trigger is missing";
  if (!missing.empty())
    throw storage_error(storage_errc::not_found,
                        "table " + table + " in " + impl_->label +
                          " is not ready: preparing it has not finished (" + missing +
                          "); run `tidesync prepare` to finish; nothing is uploaded or deleted "
                          "for it until then");
}

protocol::table_schema postgres_source::describe(const std::string& table,
                                                 const std::vector<std::string>& key,
                                                 const std::string& version_column,
                                                 const std::optional<std::string>& modified_column,
                                                 const std::vector<std::string>& excluded) {
  bool tracked = false;
  auto catalog = impl_->guarded("describe table " + table, [&](pqxx::connection& c) {
    pqxx::read_transaction tx{c};
    tracked = !tx.exec_params("SELECT 1 FROM pg_trigger WHERE tgrelid = to_regclass($1) AND "
                              "tgname = 'tidesync_version'",
                              detail::quote_identifier(table, "table"))
                 .empty();
    return read_pg_catalog(tx, table);
  });
  if (!catalog)
    throw storage_error(storage_errc::not_found,
                        "table " + table + " not found in " + impl_->label +
                          " (looked up through the connection's search_path)");
  check_prepared(table, *catalog, version_column, tracked);
  return detail::build_schema(impl_->label, table, *catalog, key, version_column, modified_column,
                              excluded);
}

// The condition becomes a stored generated column of an empty copy of the
// table, in a transaction rolled back: PostgreSQL then refuses what a row
// filter must not be (volatile or clock-reading functions, subqueries) and
// names what it can't resolve. Nothing is kept, no row is read.
void postgres_source::check_row_condition(const std::string& table, const std::string& condition) {
  const auto name = detail::quote_identifier(table, "table");
  try {
    impl_->guarded("check the where of table " + table, [&](pqxx::connection& c) {
      pqxx::work tx{c};
      tx.exec("CREATE TEMP TABLE tidesync_row_condition (LIKE " + name + ") ON COMMIT DROP");
      tx.exec("ALTER TABLE tidesync_row_condition ADD COLUMN tidesync_kept boolean "
              "GENERATED ALWAYS AS ((" + condition + ")) STORED");
      tx.abort();
    });
  } catch (const storage_error& e) {
    if (e.code() == storage_errc::unavailable)
      throw;
    throw storage_error(storage_errc::invalid, e.what());
  }
}

protocol::table_version postgres_source::summary(const std::string& table,
                                                 const protocol::table_schema& schema) {
  detail::check_schema_names(table, schema);
  detail::sql_query query{detail::summary_query(table, schema, "::text"), {}};
  return impl_->run("summary of table " + table, query, [](const pqxx::result& result) {
    protocol::table_version version;
    version.count = result[0][0].as<std::int64_t>();
    version.max_version = optional_int(result[0][1]);
    if (!result[0][2].is_null())
      version.max_modified = result[0][2].as<std::string>();
    return version;
  });
}

std::int64_t postgres_source::safe_version() {
  return impl_->guarded("safe version", [](pqxx::connection& c) {
    pqxx::nontransaction tx{c};
    return tx.exec("SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint")[0][0]
      .as<std::int64_t>();
  });
}

change_marks postgres_source::read_change_marks(const std::vector<table_ref>& tables) {
  // Names are identifiers (checked), so they go in array literals as they are.
  // Quoted elements: an unquoted NULL (a table named "null") would be a null.
  std::string names = "{", counters = "{";
  for (const auto& table : tables) {
    detail::quote_identifier(table.name, "table");
    names += (names.size() > 1 ? ",\"" : "\"") + table.name + "\"";
    counters += (counters.size() > 1 ? ",\"" : "\"") +
                detail::derived_bare_name(table.name, detail::changes_suffix) + "\"";
  }
  names += "}";
  counters += "}";
  return impl_->guarded("change counters", [&](pqxx::connection& c) {
    pqxx::nontransaction tx{c};
    change_marks marks;
    // A counter counts only while the notify trigger that moves it fires
    // always (replica mode too) and has it as its argument: a table renamed
    // into a configured name keeps counting into its old counter. Besides
    // the counter's value, the token holds what moves when the counter is
    // replaced (oid) or restarted (relfilenode), when the trigger is
    // disabled and enabled again (its row's xmin), and when the table's
    // definition changes (the xmins of its pg_class and pg_attribute rows).
    auto rows = tx.exec_params(
      "SELECT u.name, CASE WHEN has_sequence_privilege(s.oid, 'SELECT') THEN "
      "concat_ws(':', pg_sequence_last_value(s.oid), s.oid, s.relfilenode, t.xmin, c.xmin, "
      "(SELECT sum(a.xmin::text::bigint) FROM pg_attribute a WHERE a.attrelid = c.oid)) END "
      "FROM unnest($1::text[], $2::text[]) AS u(name, counter) "
      "JOIN pg_class c ON c.oid = to_regclass(quote_ident(u.name)) AND c.relkind = 'r' "
      "JOIN pg_namespace n ON n.oid = c.relnamespace "
      "JOIN pg_trigger t ON t.tgrelid = c.oid AND t.tgname = $3 AND t.tgenabled = 'A' "
      "AND t.tgnargs = 1 "
      "JOIN pg_class s ON s.relnamespace = c.relnamespace AND s.relname = u.counter "
      "AND s.relkind = 'S' "
      "AND t.tgargs = convert_to(quote_ident(n.nspname) || '.\"' || u.counter || '\"', "
      "'UTF8') || '\\x00'::bytea",
      names, counters, std::string{detail::pg_notify_trigger});
    for (const auto& row : rows)
      if (!row[1].is_null())
        marks.tokens.emplace(row[0].as<std::string>(), row[1].as<std::string>());
    // Read after the counters. A statement takes its table's write lock
    // before its trigger moves the counter, and the transaction keeps the
    // lock until after its commit is visible: a writer that moved a counter
    // and has not committed yet is in this list.
    auto locks = tx.exec_params(
      "SELECT u.name, l.virtualtransaction FROM unnest($1::text[]) AS u(name) "
      "JOIN pg_locks l ON l.locktype = 'relation' AND l.granted "
      "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
      "AND l.relation = to_regclass(quote_ident(u.name)) "
      "AND l.mode IN ('RowExclusiveLock', 'ShareRowExclusiveLock', 'ExclusiveLock', "
      "'AccessExclusiveLock') ORDER BY 1, 2",
      names);
    for (const auto& row : locks)
      marks.writers[row[0].as<std::string>()].push_back(row[1].as<std::string>());
    return marks;
  });
}

std::vector<text_row> postgres_source::read_rows(const std::string& table,
                                                 const protocol::table_schema& schema,
                                                 const std::optional<row_position>& after,
                                                 std::optional<std::int64_t> min_version,
                                                 std::int64_t limit) {
  auto query = detail::page_query('$', table, schema, detail::page_select::rows,
                                  {after, min_version, std::nullopt, limit});
  return impl_->run("read rows of table " + table, query, rows_of);
}

std::vector<key_version> postgres_source::read_keys(const std::string& table,
                                                    const protocol::table_schema& schema,
                                                    std::optional<std::int64_t> min_version,
                                                    std::optional<std::int64_t> max_version,
                                                    std::int64_t limit,
                                                    const std::optional<row_position>& after) {
  auto query = detail::page_query('$', table, schema, detail::page_select::keys,
                                  {after, min_version, max_version, limit});
  return impl_->run("read keys of table " + table, query, keys_of);
}

std::vector<text_row> postgres_source::read_rows_by_keys(const std::string& table,
                                                         const protocol::table_schema& schema,
                                                         const std::vector<key_cells>& keys) {
  std::vector<text_row> out;
  for (std::size_t first = 0; first < keys.size(); first += keys_per_query) {
    auto last = std::min(keys.size(), first + keys_per_query);
    auto query = detail::keys_query('$', table, schema, keys, first, last);
    auto rows = impl_->run("read rows by key of table " + table, query, rows_of);
    std::move(rows.begin(), rows.end(), std::back_inserter(out));
  }
  if (keys.size() > keys_per_query) {
    // Each chunk is ordered; the whole answer must at least be ordered by version.
    std::stable_sort(out.begin(), out.end(), [&](const text_row& a, const text_row& b) {
      return position_of(schema, a).version < position_of(schema, b).version;
    });
  }
  return out;
}

void postgres_source::scan_key_range(const std::string& table,
                                     const protocol::table_schema& schema,
                                     const std::optional<key_cells>& from,
                                     const std::optional<key_cells>& to,
                                     const std::function<bool(const text_row&)>& visit) {
  // Rows in key order (text bytewise) may need a sort: a cursor sorts once
  // and hands the rows over a page at a time.
  constexpr int fetch_rows = 10'000;
  auto query = detail::key_range_query('$', table, schema, from, to);
  impl_->guarded("read rows of table " + table + " in key order", [&](pqxx::connection& c) {
    pqxx::read_transaction tx{c};
    auto params = param_texts(query);
    tx.exec_params("DECLARE tidesync_key_scan NO SCROLL CURSOR FOR " + query.sql,
                   pqxx::prepare::make_dynamic_params(params));
    text_row out;
    for (;;) {
      auto rows = tx.exec("FETCH FORWARD " + std::to_string(fetch_rows) + " FROM tidesync_key_scan");
      for (const auto& row : rows) {
        out.clear();
        for (const auto& field : row)
          out.push_back(cell_of(field));
        if (!visit(out))
          return;
      }
      if (rows.size() < static_cast<std::size_t>(fetch_rows))
        return;
    }
  });
}

} // namespace tidesync::storage
