#include "storage/sqlite_source.hpp"

#include "storage/sqlite_db.hpp"
#include "storage/tracking_sql.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <map>
#include <set>
#include <stdexcept>

namespace tidesync::storage {

namespace {

// SQLite's default limit is 32766 parameters; stay well below it.
constexpr std::size_t keys_per_query = 1000;
// PostgreSQL prints a double in exponent form below 1e-4 and from 1e15 (DBL_DIG).
constexpr int pg_min_fixed_exponent = -4;
constexpr int pg_max_fixed_exponent = 15;

bool contains(const std::string& text, std::string_view part) {
  return text.find(part) != std::string::npos;
}

std::string upper(std::string_view text) {
  std::string out{text};
  for (auto& c : out)
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

std::string hex_text(std::string_view bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out = "\\x";
  out.reserve(2 + bytes.size() * 2);
  for (unsigned char byte : bytes) {
    out.push_back(digits[byte >> 4]);
    out.push_back(digits[byte & 0x0f]);
  }
  return out;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

std::string bytes_of_hex(std::string_view text) {
  if (text.size() < 2 || text.substr(0, 2) != "\\x" || text.size() % 2 != 0)
    throw storage_error(storage_errc::invalid, "bytea key \"" + std::string{text} +
                                                 "\" is not in \\x hex form");
  std::string out;
  for (std::size_t i = 2; i < text.size(); i += 2) {
    int high = hex_value(text[i]);
    int low = hex_value(text[i + 1]);
    if (high < 0 || low < 0)
      throw storage_error(storage_errc::invalid, "bytea key has a bad hex digit");
    out.push_back(static_cast<char>(high * 16 + low));
  }
  return out;
}

// Correctly rounded and independent of the process locale, unlike strtod.
double double_of_text(const std::string& text) {
  if (text == "NaN")
    return std::numeric_limits<double>::quiet_NaN();
  if (text == "Infinity")
    return std::numeric_limits<double>::infinity();
  if (text == "-Infinity")
    return -std::numeric_limits<double>::infinity();
  double value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size())
    throw std::invalid_argument("not a float literal");
  return value;
}

std::string boolean_text(std::string text) {
  auto value = upper(text);
  if (value == "1" || value == "T" || value == "TRUE" || value == "Y" || value == "YES")
    return "t";
  if (value == "0" || value == "F" || value == "FALSE" || value == "N" || value == "NO")
    return "f";
  return text;  // the cell codec refuses it, naming the row
}

// SQLite stores values by storage class, not declared type: convert each to
// the text PostgreSQL would print for the column's type.
text_cell cell_text(const sqlite_statement& st, int column, protocol::column_type type) {
  using protocol::column_type;
  bool floating = type == column_type::double_precision || type == column_type::real;
  switch (st.column_type(column)) {
    case SQLITE_NULL:
      return std::nullopt;
    case SQLITE_INTEGER: {
      auto value = st.column_int(column);
      if (type == column_type::boolean)
        return value != 0 ? "t" : "f";
      return floating ? pg_double_text(static_cast<double>(value)) : std::to_string(value);
    }
    case SQLITE_FLOAT: {
      auto value = st.column_double(column);
      if (type == column_type::boolean)
        return value != 0 ? "t" : "f";
      return pg_double_text(value);
    }
    case SQLITE_BLOB: {
      auto bytes = st.column_blob(column);
      if (type == column_type::text || type == column_type::json)
        return bytes;
      return hex_text(bytes);
    }
    default: {
      auto text = st.column_text(column);
      if (type == column_type::bytea)
        return hex_text(text);
      return type == column_type::boolean ? boolean_text(std::move(text)) : text;
    }
  }
}

// Whether `text` is wholly the number a numeric column's param should bind as.
template <class Number> bool parses_as(const std::string& text) {
  Number value{};
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  return ec == std::errc{} && end == text.data() + text.size();
}

// Binds a parameter as the storage class its column holds, so comparisons
// with stored values follow the column's order. A number column that holds
// text (SQLite allows it; the agent holds such a row back) binds it as text,
// so the row can still be found by its key and paged past.
void bind_param(sqlite_statement& st, int index, const detail::sql_param& param) {
  using protocol::column_type;
  try {
    switch (param.type) {
      case column_type::smallint:
      case column_type::integer:
      case column_type::bigint:
        if (!parses_as<std::int64_t>(param.text))
          return st.bind_text(index, param.text);
        return st.bind_int(index, std::stoll(param.text));
      case column_type::real:
      case column_type::double_precision:
        if (!parses_as<double>(param.text) && param.text != "NaN" && param.text != "Infinity" &&
            param.text != "-Infinity")
          return st.bind_text(index, param.text);
        return st.bind_double(index, double_of_text(param.text));
      case column_type::boolean:
        return st.bind_int(index, boolean_text(param.text) == "t" ? 1 : 0);
      case column_type::bytea:
        return st.bind_blob(index, bytes_of_hex(param.text));
      default:
        return st.bind_text(index, param.text);
    }
  } catch (const std::logic_error&) {
    throw storage_error(storage_errc::invalid, "key value \"" + param.text + "\" is not a " +
                                                 std::string{protocol::type_name(param.type)});
  }
}

void bind_all(sqlite_statement& st, const detail::sql_query& query) {
  for (std::size_t i = 0; i < query.params.size(); ++i)
    bind_param(st, static_cast<int>(i + 1), query.params[i]);
}

void read_row(sqlite_statement& st, const protocol::table_schema& schema, text_row& row) {
  row.clear();
  row.reserve(schema.columns.size());
  for (std::size_t i = 0; i < schema.columns.size(); ++i)
    row.push_back(cell_text(st, static_cast<int>(i), schema.columns[i].type));
}

std::vector<text_row> collect_rows(sqlite_statement& st, const protocol::table_schema& schema) {
  std::vector<text_row> rows;
  while (st.step()) {
    text_row row;
    read_row(st, schema, row);
    rows.push_back(std::move(row));
  }
  return rows;
}

protocol::column_type column_type_of(const protocol::table_schema& schema,
                                     const std::string& name) {
  const auto* def = schema.find(name);
  return def == nullptr ? protocol::column_type::text : def->type;
}

} // namespace

std::optional<protocol::column_type> sqlite_column_type(std::string_view declared) {
  using protocol::column_type;
  auto name = upper(declared);
  if (contains(name, "BOOL"))
    return column_type::boolean;
  if (contains(name, "DATETIME") || contains(name, "TIMESTAMP"))
    return column_type::timestamp;
  if (contains(name, "DATE"))
    return column_type::date;
  if (contains(name, "UUID"))
    return column_type::uuid;
  if (contains(name, "JSON"))
    return column_type::json;
  if (contains(name, "INT"))
    return column_type::bigint;
  if (contains(name, "CHAR") || contains(name, "CLOB") || contains(name, "TEXT"))
    return column_type::text;
  if (contains(name, "BLOB"))
    return column_type::bytea;
  if (contains(name, "REAL") || contains(name, "FLOA") || contains(name, "DOUB"))
    return column_type::double_precision;
  if (contains(name, "NUMERIC") || contains(name, "DECIMAL"))
    return column_type::numeric;
  return std::nullopt;
}

std::string pg_double_text(double value) {
  if (std::isnan(value))
    return "NaN";
  if (std::isinf(value))
    return value > 0 ? "Infinity" : "-Infinity";
  if (value == 0)
    return std::signbit(value) ? "-0" : "0";
  char buffer[64];
  auto sci = std::to_chars(buffer, buffer + sizeof buffer, value, std::chars_format::scientific);
  std::string scientific{buffer, sci.ptr};
  int exponent = std::atoi(scientific.c_str() + scientific.find('e') + 1);
  if (exponent < pg_min_fixed_exponent || exponent >= pg_max_fixed_exponent)
    return scientific;
  auto fixed = std::to_chars(buffer, buffer + sizeof buffer, value, std::chars_format::fixed);
  return std::string{buffer, fixed.ptr};
}

std::optional<detail::catalog_table> read_sqlite_catalog(sqlite_db& db, const std::string& table) {
  sqlite_statement exists{db, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1",
                          "look up table " + table};
  exists.bind_text(1, table);
  if (!exists.step())
    return std::nullopt;
  sqlite_statement info{db, "SELECT name, type, \"notnull\", pk FROM pragma_table_info(?1) "
                            "ORDER BY cid",
                        "describe table " + table};
  info.bind_text(1, table);
  detail::catalog_table catalog;
  std::vector<std::pair<std::int64_t, std::string>> key;
  while (info.step()) {
    detail::catalog_column column;
    column.name = info.column_text(0);
    column.declared_type = info.column_text(1);
    column.type = sqlite_column_type(column.declared_type);
    column.not_null = info.column_int(2) != 0;
    if (info.column_int(3) > 0)
      key.emplace_back(info.column_int(3), column.name);
    catalog.columns.push_back(std::move(column));
  }
  std::sort(key.begin(), key.end());
  for (auto& [position, name] : key)
    catalog.primary_key.push_back(std::move(name));
  return catalog;
}

sqlite_source::sqlite_source(const std::string& path)
  : db_(std::make_unique<sqlite_db>(path, SQLITE_OPEN_READONLY)) {}

struct sqlite_source::marks_queries {
  std::vector<table_ref> tables;  // the tables `maxima` reads, in its order
  sqlite_statement maxima;   // one row: each table's highest version
  sqlite_statement deletes;  // each table's stamp of its last delete
  sqlite_statement schema;   // the file's schema version
  sqlite_statement data_version;  // moves with every other connection's commit
  /// The tables whose delete trigger stamps their own row, as of `checked_at`.
  std::set<std::string> stamped;
  std::string checked_at;  // a schema version; empty before the first look
  /// The last marks read, with the file's data version and this connection's
  /// own change count at that read: while neither moves, nothing committed
  /// since, and the marks are still true.
  std::optional<change_marks> last;
  std::int64_t last_data_version = 0;
  std::int64_t last_own_changes = 0;
};

sqlite_source::~sqlite_source() = default;

namespace {

// A table whose prepare hasn't finished (its triggers or its version index
// are missing, or rows still lack a version) is not ready: never read it as
// empty, which would delete its cloud copy. Prepare builds the index last, so
// once it exists the NULL probe below is an index lookup, not a scan.
void check_sqlite_prepared(sqlite_db& db, const std::string& table,
                           const detail::catalog_table& catalog,
                           const std::string& version_column) {
  bool has_column = std::any_of(catalog.columns.begin(), catalog.columns.end(),
                                [&](const auto& column) { return column.name == version_column; });
  if (!has_column)
    return;  // build_schema names the missing column
  sqlite_statement triggers{db,
                            "SELECT count(DISTINCT CASE WHEN sql LIKE '% AFTER INSERT ON %' "
                            "THEN 'insert' WHEN sql LIKE '% AFTER UPDATE ON %' THEN 'update' END) "
                            "FROM sqlite_master WHERE type = 'trigger' AND tbl_name = ?1 AND "
                            "sql LIKE '%tidesync_counter%'",
                            "inspect table " + table};
  triggers.bind_text(1, table);
  triggers.step();
  sqlite_statement index{db,
                         "SELECT 1 FROM pragma_index_list(?1) AS l, pragma_index_info(l.name) AS i "
                         "WHERE i.seqno = 0 AND i.name = ?2",
                         "inspect table " + table};
  index.bind_text(1, table);
  index.bind_text(2, version_column);
  std::string missing;
  if (triggers.column_int(0) < 2)
    missing = "its tidesync triggers are missing";
  else if (!index.step())
    missing = "its version index is not built yet";
  else {
    sqlite_statement unversioned{db,
                                 "SELECT 1 FROM " + detail::quote_identifier(table, "table") +
                                   " WHERE " +
                                   detail::quote_identifier(version_column, "version column") +
                                   " IS NULL LIMIT 1",
                                 "inspect table " + table};
    if (unversioned.step())
      missing = "rows without a version remain";
  }
  if (!missing.empty())
    throw storage_error(storage_errc::not_found,
                        "table " + table + " in " + db.label() +
                          " is not ready: preparing it has not finished (" + missing +
                          "); run `tidesync prepare` to finish; nothing is uploaded or deleted "
                          "for it until then");
}

} // namespace

protocol::table_schema sqlite_source::describe(const std::string& table,
                                               const std::vector<std::string>& key,
                                               const std::string& version_column,
                                               const std::optional<std::string>& modified_column,
                                               const std::vector<std::string>& excluded) {
  auto catalog = read_sqlite_catalog(*db_, table);
  if (!catalog)
    throw storage_error(storage_errc::not_found, "table " + table + " not found in " +
                                                   db_->label());
  check_sqlite_prepared(*db_, table, *catalog, version_column);
  return detail::build_schema(db_->label(), table, *catalog, key, version_column, modified_column,
                              excluded);
}

// As on PostgreSQL: the condition as a generated column of an empty copy,
// which SQLite refuses when it holds a subquery, a parameter or a
// non-deterministic function. The copy lives in the connection's temporary
// schema, even on a read-only file, and is dropped again.
void sqlite_source::check_row_condition(const std::string& table, const std::string& condition) {
  const auto name = detail::quote_identifier(table, "table");
  const auto context = "check the where of table " + table;
  db_->exec("DROP TABLE IF EXISTS temp.tidesync_row_condition", context);
  try {
    db_->exec("CREATE TEMP TABLE tidesync_row_condition AS SELECT * FROM " + name + " WHERE 0",
              context);
    db_->exec("ALTER TABLE temp.tidesync_row_condition ADD COLUMN tidesync_kept "
              "GENERATED ALWAYS AS ((" + condition + ")) VIRTUAL",
              context);
  } catch (const storage_error& e) {
    db_->exec("DROP TABLE IF EXISTS temp.tidesync_row_condition", context);
    if (e.code() == storage_errc::unavailable)
      throw;
    throw storage_error(storage_errc::invalid, e.what());
  }
  db_->exec("DROP TABLE IF EXISTS temp.tidesync_row_condition", context);
}

protocol::table_version sqlite_source::summary(const std::string& table,
                                               const protocol::table_schema& schema) {
  detail::check_schema_names(table, schema);
  sqlite_statement st{*db_, detail::summary_query(table, schema, ""), "summary of table " + table};
  st.step();
  protocol::table_version version;
  version.count = st.column_int(0);
  if (st.column_type(1) != SQLITE_NULL)
    version.max_version = st.column_int(1);
  auto modified_type = schema.modified_column
                         ? column_type_of(schema, *schema.modified_column)
                         : protocol::column_type::text;
  version.max_modified = cell_text(st, 2, modified_type);
  return version;
}

std::int64_t sqlite_source::safe_version() {
  sqlite_statement exists{*db_, "SELECT 1 FROM sqlite_master WHERE name = 'tidesync_counter'",
                          "safe version"};
  if (!exists.step())
    throw storage_error(storage_errc::not_found,
                        db_->label() + " has no tidesync_counter table: run `tidesync prepare` "
                                       "to install version tracking");
  sqlite_statement st{*db_, "SELECT coalesce(max(value), 0) FROM tidesync_counter",
                      "safe version"};
  st.step();
  return st.column_int(0) + 1;
}

change_marks sqlite_source::read_change_marks(const std::vector<table_ref>& tables) {
  if (tables.empty())
    return {};
  // A file restored by moving another into its place leaves this connection
  // on the old one, which no longer changes: it must be opened again. The
  // listing job drops a connection that answers "unavailable".
  int moved = 0;
  if (sqlite3_file_control(db_->handle(), "main", SQLITE_FCNTL_HAS_MOVED, &moved) == SQLITE_OK &&
      moved)
    throw storage_error(storage_errc::unavailable,
                        db_->label() + " was replaced by another file; opening it again");
  // An insert or update stamps its row above every version (the one counter),
  // so the highest version moves with both; a delete stamps the table's row
  // of tidesync_deletes from the same counter;
  // the file's schema version moves with any table's definition. Each part
  // only grows or changes, so parts read one after another still show any
  // commit after their read at the next one. SQLite has one writer at a
  // time and counts inside its transaction: no writer is ever left running
  // behind a token.
  if (!marks_ || !std::ranges::equal(marks_->tables, tables, [](const auto& a, const auto& b) {
        return a.name == b.name && a.version_column == b.version_column;
      })) {
    std::string sql = "SELECT ";
    for (std::size_t i = 0; i < tables.size(); ++i)
      sql += (i ? ", " : "") + std::string{"(SELECT max("} +
             detail::quote_identifier(tables[i].version_column, "version column") + ") FROM " +
             detail::quote_identifier(tables[i].name, "table") + ")";
    marks_.reset();
    sqlite_statement exists{*db_, "SELECT 1 FROM sqlite_master WHERE name = 'tidesync_deletes'",
                            "change counters"};
    if (!exists.step())
      return {};
    marks_.reset(new marks_queries{
      tables, sqlite_statement{*db_, sql, "change counters"},
      sqlite_statement{*db_, "SELECT table_name, deletes FROM tidesync_deletes",
                       "change counters"},
      sqlite_statement{*db_, "PRAGMA schema_version", "change counters"},
      sqlite_statement{*db_, "PRAGMA data_version", "change counters"},
      {}, {}, std::nullopt, 0, 0});
  }
  change_marks marks;
  try {
    // An idle site's cycle ends here: one statement instead of a look at
    // every table's highest version.
    marks_->data_version.step();
    auto data_version = marks_->data_version.column_int(0);
    marks_->data_version.reset();
    auto own_changes = static_cast<std::int64_t>(sqlite3_total_changes64(db_->handle()));
    if (marks_->last && data_version == marks_->last_data_version &&
        own_changes == marks_->last_own_changes)
      return *marks_->last;
    std::map<std::string, std::string> deletes;
    while (marks_->deletes.step())
      deletes.emplace(marks_->deletes.column_text(0), marks_->deletes.column_text(1));
    marks_->deletes.reset();
    marks_->schema.step();
    auto schema = marks_->schema.column_text(0);
    marks_->schema.reset();
    if (schema != marks_->checked_at) {
      // A renamed table keeps its delete trigger, whose body still stamps
      // the row of its old name: such a table has no token.
      marks_->stamped.clear();
      sqlite_statement triggers{*db_, "SELECT tbl_name, sql FROM sqlite_master WHERE type = "
                                      "'trigger' AND sql LIKE '%tidesync_deletes%'",
                                "change counters"};
      while (triggers.step()) {
        auto table = triggers.column_text(0);
        if (triggers.column_text(1).find(detail::sqlite_stamp_deletes_sql(table)) !=
            std::string::npos)
          marks_->stamped.insert(table);
      }
      marks_->checked_at = schema;
    }
    marks_->maxima.step();
    for (std::size_t i = 0; i < tables.size(); ++i)
      if (auto found = deletes.find(tables[i].name);
          found != deletes.end() && marks_->stamped.contains(tables[i].name))
        marks.tokens.emplace(tables[i].name, marks_->maxima.column_text(static_cast<int>(i)) +
                                               ":" + found->second + ":" + schema);
    marks_->maxima.reset();  // ends its read transaction
    // The version read before the marks: a commit in between shows as a
    // new version next time, and the marks are read again.
    marks_->last = marks;
    marks_->last_data_version = data_version;
    marks_->last_own_changes = own_changes;
  } catch (...) {
    marks_.reset();  // prepared again, after a new look, next time
    throw;
  }
  return marks;
}

std::vector<text_row> sqlite_source::read_rows(const std::string& table,
                                               const protocol::table_schema& schema,
                                               const std::optional<row_position>& after,
                                               std::optional<std::int64_t> min_version,
                                               std::int64_t limit) {
  auto query = detail::page_query('?', table, schema, detail::page_select::rows,
                                  {after, min_version, std::nullopt, limit});
  sqlite_statement st{*db_, query.sql, "read rows of table " + table};
  bind_all(st, query);
  return collect_rows(st, schema);
}

std::vector<key_version> sqlite_source::read_keys(const std::string& table,
                                                  const protocol::table_schema& schema,
                                                  std::optional<std::int64_t> min_version,
                                                  std::optional<std::int64_t> max_version,
                                                  std::int64_t limit,
                                                  const std::optional<row_position>& after) {
  auto query = detail::page_query('?', table, schema, detail::page_select::keys,
                                  {after, min_version, max_version, limit});
  sqlite_statement st{*db_, query.sql, "read keys of table " + table};
  bind_all(st, query);
  std::vector<key_version> out;
  while (st.step()) {
    key_version entry;
    entry.version = st.column_int(0);
    for (std::size_t i = 0; i < schema.key.size(); ++i)
      entry.key.push_back(
        cell_text(st, static_cast<int>(i + 1), column_type_of(schema, schema.key[i])).value_or(""));
    out.push_back(std::move(entry));
  }
  return out;
}

std::vector<text_row> sqlite_source::read_rows_by_keys(const std::string& table,
                                                       const protocol::table_schema& schema,
                                                       const std::vector<key_cells>& keys) {
  std::vector<text_row> out;
  for (std::size_t first = 0; first < keys.size(); first += keys_per_query) {
    auto last = std::min(keys.size(), first + keys_per_query);
    auto query = detail::keys_query('?', table, schema, keys, first, last);
    sqlite_statement st{*db_, query.sql, "read rows by key of table " + table};
    bind_all(st, query);
    auto rows = collect_rows(st, schema);
    std::move(rows.begin(), rows.end(), std::back_inserter(out));
  }
  if (keys.size() > keys_per_query)
    std::stable_sort(out.begin(), out.end(), [&](const text_row& a, const text_row& b) {
      return position_of(schema, a).version < position_of(schema, b).version;
    });
  return out;
}

void sqlite_source::scan_key_range(const std::string& table, const protocol::table_schema& schema,
                                   const std::optional<key_cells>& from,
                                   const std::optional<key_cells>& to,
                                   const std::function<bool(const text_row&)>& visit) {
  auto query = detail::key_range_query('?', table, schema, from, to);
  sqlite_statement st{*db_, query.sql, "read rows of table " + table + " in key order"};
  bind_all(st, query);
  text_row row;
  while (st.step()) {
    read_row(st, schema, row);
    if (!visit(row))
      return;
  }
}

} // namespace tidesync::storage
