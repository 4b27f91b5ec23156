#include "storage/source_sql.hpp"

#include <algorithm>

namespace tidesync::storage::detail {

namespace {

class param_list {
public:
  explicit param_list(char placeholder) : placeholder_(placeholder) {}

  /// Adds a parameter and returns its placeholder text.
  std::string add(sql_param param) {
    params_.push_back(std::move(param));
    return placeholder_ + std::to_string(params_.size());
  }

  std::vector<sql_param> take() { return std::move(params_); }

private:
  char placeholder_;
  std::vector<sql_param> params_;
};

protocol::column_type key_type(const protocol::table_schema& schema, const std::string& column) {
  const auto* def = schema.find(column);
  if (def == nullptr)
    throw storage_error(storage_errc::invalid, "key column " + column + " is not in the schema");
  return def->type;
}

std::string joined(const std::vector<std::string>& parts) {
  std::string out;
  for (const auto& part : parts) {
    if (!out.empty())
      out += ", ";
    out += part;
  }
  return out;
}

// Version first, then the key: the order every page follows.
std::vector<std::string> order_columns(const protocol::table_schema& schema) {
  std::vector<std::string> out{quote_identifier(schema.version_column, "version column")};
  for (const auto& column : schema.key)
    out.push_back(quote_identifier(column, "key column"));
  return out;
}

// How text sorts bytewise in each dialect ('$' PostgreSQL, '?' SQLite): the
// order sync/ compares in, whatever collation the database or column has.
std::string_view bytewise_collation(char placeholder) {
  return placeholder == '$' ? " COLLATE \"C\"" : " COLLATE BINARY";
}

// The version and key columns as ORDER BY and row-value comparisons must name
// them: text key columns with the bytewise collation.
std::vector<std::string> order_terms(char placeholder, const protocol::table_schema& schema) {
  auto out = order_columns(schema);
  for (std::size_t i = 0; i < schema.key.size(); ++i)
    if (key_type(schema, schema.key[i]) == protocol::column_type::text)
      out[i + 1] += bytewise_collation(placeholder);
  return out;
}

std::string all_columns(const protocol::table_schema& schema) {
  std::vector<std::string> names;
  for (const auto& column : schema.columns)
    names.push_back(quote_identifier(column.name, "column"));
  return joined(names);
}

// Rows with a NULL key cell can't be placed in the order (SQLite lets
// primary-key columns hold NULL); they are left out.
std::string key_not_null(const std::vector<std::string>& order) {
  std::string out;
  for (std::size_t i = 1; i < order.size(); ++i)
    out += " AND " + order[i] + " IS NOT NULL";
  return out;
}

// SQLite keeps a uuid or timestamp as the text it was given and compares it
// bytewise: "0B…" would sort before "0a…", and every "…T…" timestamp of a day
// after every "… …" one. Folded to one spelling, key cells sort as their values
// do, the order the store cuts the same digest ranges in.
std::string value_order_term(char placeholder, protocol::column_type type, std::string term) {
  if (placeholder != '?')
    return term;
  switch (type) {
  case protocol::column_type::uuid:
    return "lower(" + term + ")";
  case protocol::column_type::timestamp:
  case protocol::column_type::timestamptz:
    return "replace(" + term + ", 'T', ' ')";
  default:
    return term;
  }
}

std::string after_condition(const protocol::table_schema& schema, const row_position& after,
                            const std::vector<std::string>& order, param_list& params) {
  if (after.key.size() != schema.key.size())
    throw storage_error(storage_errc::invalid,
                        "position has " + std::to_string(after.key.size()) +
                          " key cells, the key has " + std::to_string(schema.key.size()));
  auto version = params.add(int_param(after.version));
  std::vector<std::string> values{version};
  for (std::size_t i = 0; i < after.key.size(); ++i)
    values.push_back(params.add({key_type(schema, schema.key[i]), after.key[i]}));
  return "(" + joined(order) + ") > (" + joined(values) + ")";
}

} // namespace

std::string quote_identifier(std::string_view name, std::string_view what) {
  if (!protocol::is_valid_identifier(name))
    throw storage_error(storage_errc::invalid,
                        std::string{what} + " name \"" + std::string{name} +
                          "\" is not a valid identifier (ASCII letters, digits and _, "
                          "at most 63 bytes, not starting with a digit)");
  return "\"" + std::string{name} + "\"";
}

// The rows of `table` a schema replicates: the table itself, or only those
// its site filter keeps, as a subquery both databases fold into the query
// around it (indexes on the table still serve the outer conditions).
std::string source_relation(const std::string& table, const protocol::table_schema& schema) {
  auto name = quote_identifier(table, "table");
  if (!schema.site_filter)
    return name;
  return "(SELECT * FROM " + name + " WHERE (" + *schema.site_filter + ")) AS " + name;
}

sql_param int_param(std::int64_t value) {
  return {protocol::column_type::bigint, std::to_string(value)};
}

void check_schema_names(const std::string& table, const protocol::table_schema& schema) {
  quote_identifier(table, "table");
  all_columns(schema);
  order_columns(schema);
  if (schema.key.empty())
    throw storage_error(storage_errc::invalid, "table " + table + " has no key columns");
  if (schema.modified_column)
    quote_identifier(*schema.modified_column, "modified column");
}

sql_query page_query(char placeholder, const std::string& table,
                     const protocol::table_schema& schema, page_select select,
                     const page_bounds& bounds) {
  // SQLite reads a negative LIMIT as "no limit".
  if (bounds.limit <= 0)
    throw storage_error(storage_errc::invalid,
                        "page limit must be positive, got " + std::to_string(bounds.limit));
  param_list params{placeholder};
  auto order = order_terms(placeholder, schema);
  auto columns = select == page_select::rows ? all_columns(schema) : joined(order_columns(schema));
  // Exactly one lower bound on the version: given two, SQLite ranges its
  // index on the plain comparison and filters the row value (a scan of the
  // whole version per page); a NULL version never matches a bound.
  std::string where;
  bool after_is_tighter =
    bounds.after && (!bounds.min_version || bounds.after->version >= *bounds.min_version);
  if (after_is_tighter)
    where = after_condition(schema, *bounds.after, order, params);
  else if (bounds.min_version)
    where = order.front() + " >= " + params.add(int_param(*bounds.min_version));
  else
    where = order.front() + " IS NOT NULL";
  where += key_not_null(order_columns(schema));
  if (bounds.max_version)
    where += " AND " + order.front() + " <= " + params.add(int_param(*bounds.max_version));
  auto limit = params.add(int_param(bounds.limit));
  sql_query query;
  query.sql = "SELECT " + columns + " FROM " + source_relation(table, schema) + " WHERE " +
              where + " ORDER BY " + joined(order) + " LIMIT " + limit;
  query.params = params.take();
  return query;
}

sql_query keys_query(char placeholder, const std::string& table,
                     const protocol::table_schema& schema, const std::vector<key_cells>& keys,
                     std::size_t first, std::size_t last) {
  param_list params{placeholder};
  std::vector<std::string> key_columns;
  for (const auto& column : schema.key)
    key_columns.push_back(quote_identifier(column, "key column"));
  std::vector<std::string> tuples;
  for (std::size_t row = first; row < last; ++row) {
    if (keys[row].size() != schema.key.size())
      throw storage_error(storage_errc::invalid, "key " + std::to_string(row) + " has " +
                                                   std::to_string(keys[row].size()) +
                                                   " cells, the key has " +
                                                   std::to_string(schema.key.size()));
    std::vector<std::string> values;
    for (std::size_t i = 0; i < schema.key.size(); ++i)
      values.push_back(params.add({key_type(schema, schema.key[i]), keys[row][i]}));
    tuples.push_back("(" + joined(values) + ")");
  }
  // SQLite takes a list of row values only as a subquery; PostgreSQL would
  // type the parameters of a VALUES list as text, so it gets the plain list.
  bool values_list = placeholder == '?' && key_columns.size() > 1;
  sql_query query;
  query.sql = "SELECT " + all_columns(schema) + " FROM " + source_relation(table, schema) +
              " WHERE (" + joined(key_columns) + ") IN (" + (values_list ? "VALUES " : "") +
              joined(tuples) + ") ORDER BY " + joined(order_terms(placeholder, schema));
  query.params = params.take();
  return query;
}

sql_query key_range_query(char placeholder, const std::string& table,
                          const protocol::table_schema& schema,
                          const std::optional<key_cells>& from,
                          const std::optional<key_cells>& to) {
  param_list params{placeholder};
  auto order = order_terms(placeholder, schema);
  std::vector<std::string> key_terms(order.begin() + 1, order.end());
  auto folded = [&](std::size_t i, const std::string& term) {
    return value_order_term(placeholder, key_type(schema, schema.key[i]), term);
  };
  for (std::size_t i = 0; i < key_terms.size(); ++i)
    key_terms[i] = folded(i, key_terms[i]);
  auto bound = [&](const key_cells& key, std::string_view op) {
    if (key.size() != schema.key.size())
      throw storage_error(storage_errc::invalid,
                          "range bound has " + std::to_string(key.size()) +
                            " key cells, the key has " + std::to_string(schema.key.size()));
    std::vector<std::string> values;
    for (std::size_t i = 0; i < key.size(); ++i) {
      auto value = params.add({key_type(schema, schema.key[i]), key[i]});
      values.push_back(folded(i, value));
    }
    return " AND (" + joined(key_terms) + ") " + std::string{op} + " (" + joined(values) + ")";
  };
  auto order_columns_only = order_columns(schema);
  std::string where = order_columns_only.front() + " IS NOT NULL" + key_not_null(order_columns_only);
  if (from)
    where += bound(*from, ">=");
  if (to)
    where += bound(*to, "<");
  sql_query query;
  query.sql = "SELECT " + all_columns(schema) + " FROM " + source_relation(table, schema) +
              " WHERE " + where + " ORDER BY " + joined(key_terms);
  query.params = params.take();
  return query;
}

std::string summary_query(const std::string& table, const protocol::table_schema& schema,
                          std::string_view modified_cast) {
  auto modified = schema.modified_column
                    ? "max(" + quote_identifier(*schema.modified_column, "modified column") +
                        ")" + std::string{modified_cast}
                    : std::string{"NULL"};
  return "SELECT count(*), max(" + quote_identifier(schema.version_column, "version column") +
         "), " + modified + " FROM " + source_relation(table, schema);
}

} // namespace tidesync::storage::detail

namespace tidesync::storage::detail {

namespace {

std::string where_table(std::string_view database, const std::string& table) {
  return "table " + table + " in " + std::string{database};
}

const catalog_column* find_column(const catalog_table& catalog, const std::string& name) {
  for (const auto& column : catalog.columns)
    if (column.name == name)
      return &column;
  return nullptr;
}

bool is_excluded(const std::vector<std::string>& excluded, const std::string& column) {
  return std::find(excluded.begin(), excluded.end(), column) != excluded.end();
}

std::vector<protocol::column_def> column_defs(std::string_view database, const std::string& table,
                                              const catalog_table& catalog,
                                              const std::vector<std::string>& excluded) {
  refuse_unreplicable_columns(database, table, catalog, excluded);
  std::vector<protocol::column_def> out;
  for (const auto& column : catalog.columns) {
    if (is_excluded(excluded, column.name))
      continue;
    quote_identifier(column.name, "column of " + where_table(database, table));
    out.push_back({column.name, *column.type, !column.not_null});
  }
  return out;
}

std::vector<std::string> key_columns(std::string_view database, const std::string& table,
                                     const catalog_table& catalog,
                                     const std::vector<std::string>& key) {
  if (key.empty() && catalog.primary_key.empty())
    throw storage_error(storage_errc::invalid,
                        where_table(database, table) +
                          " has no primary key: add `key:` with the columns that identify a "
                          "row to the table's entry in the agent configuration");
  for (const auto& column : key) {
    const auto* found = find_column(catalog, column);
    if (found == nullptr)
      throw storage_error(storage_errc::not_found, "key column " + column + " configured for " +
                                                     where_table(database, table) +
                                                     " does not exist");
    if (!found->not_null)
      throw storage_error(storage_errc::invalid,
                          "key column " + column + " configured for " +
                            where_table(database, table) +
                            " allows NULL: make it NOT NULL or choose other key columns");
  }
  return key.empty() ? catalog.primary_key : key;
}

void mark_not_null(std::vector<protocol::column_def>& columns, const std::string& name) {
  for (auto& column : columns)
    if (column.name == name)
      column.nullable = false;
}

} // namespace

// An excluded column must exist and must not be one the table's replication
// stands on: the key, the version column, the modified column.
void check_excluded_columns(std::string_view database, const std::string& table,
                            const catalog_table& catalog, const std::vector<std::string>& key,
                            const std::string& version_column,
                            const std::optional<std::string>& modified_column,
                            const std::vector<std::string>& excluded) {
  const auto& key_names = key.empty() ? catalog.primary_key : key;
  for (const auto& name : excluded) {
    if (find_column(catalog, name) == nullptr)
      throw storage_error(storage_errc::not_found, "exclude_columns names " + name + ", which " +
                                                       where_table(database, table) +
                                                       " does not have");
    std::string role;
    if (is_excluded(key_names, name))
      role = "a key column";
    else if (name == version_column)
      role = "its version column";
    else if (modified_column && name == *modified_column)
      role = "its modified column";
    if (!role.empty())
      throw storage_error(storage_errc::invalid, "exclude_columns names " + name + ", " + role +
                                                     " of " + where_table(database, table) +
                                                     ": a row can't be replicated "
                                                     "without it; exclude other columns");
  }
}

void refuse_unreplicable_columns(std::string_view database, const std::string& table,
                                 const catalog_table& catalog,
                                 const std::vector<std::string>& excluded) {
  std::vector<const catalog_column*> refused;
  for (const auto& column : catalog.columns)
    if (!column.type && !is_excluded(excluded, column.name))
      refused.push_back(&column);
  if (refused.empty())
    return;
  std::string listed;
  std::string names;
  for (const auto* column : refused) {
    listed += (listed.empty() ? "" : ", ") + column->name + " (" +
              (column->declared_type.empty() ? "no declared type" : column->declared_type) + ")";
    names += (names.empty() ? "" : ", ") + column->name;
  }
  throw storage_error(
      storage_errc::unsupported,
      where_table(database, table) + " has " +
          (refused.size() == 1 ? "a column" : std::to_string(refused.size()) + " columns") +
          " of a type tidesync can't replicate: " + listed + ". Leave " +
          (refused.size() == 1 ? "it" : "them") + " out with `exclude_columns: [" + names +
          "]` in the table's entry of the agent "
          "configuration, or keep " +
          (refused.size() == 1 ? "its value" : "each one's value") +
          " in a column of a type tidesync replicates that a trigger or the application fills "
          "(e.g. text or jsonb; a generated column only where the cast is immutable, such as "
          "extract(epoch FROM a_column) for an interval) and exclude the original. "
          "Supported: "
          "integers, numeric, real, double precision, boolean, text, bytea, date, timestamp, "
          "timestamptz, uuid, json, jsonb");
}

protocol::table_schema build_schema(std::string_view database, const std::string& table,
                                    const catalog_table& catalog,
                                    const std::vector<std::string>& key,
                                    const std::string& version_column,
                                    const std::optional<std::string>& modified_column,
                                    const std::vector<std::string>& excluded) {
  quote_identifier(table, "table");
  quote_identifier(version_column, "version column");
  const auto* version = find_column(catalog, version_column);
  if (version == nullptr)
    throw storage_error(storage_errc::not_found,
                        where_table(database, table) + " has no version column " +
                          version_column + ": run `tidesync prepare` to install version tracking");
  if (version->type != protocol::column_type::bigint)
    throw storage_error(storage_errc::unsupported,
                        "version column " + version_column + " of " +
                          where_table(database, table) + " has type " + version->declared_type +
                          "; it must be a 64-bit integer (bigint)");
  if (modified_column && find_column(catalog, *modified_column) == nullptr)
    throw storage_error(storage_errc::not_found, "modified column " + *modified_column +
                                                   " configured for " +
                                                   where_table(database, table) +
                                                   " does not exist");
  check_excluded_columns(database, table, catalog, key, version_column, modified_column, excluded);
  protocol::table_schema schema;
  schema.columns = column_defs(database, table, catalog, excluded);
  schema.key = key_columns(database, table, catalog, key);
  schema.version_column = version_column;
  schema.modified_column = modified_column;
  // Tracking gives every row a version; SQLite lets primary-key columns hold
  // NULL, but such rows can't be replicated and reads leave them out.
  mark_not_null(schema.columns, version_column);
  for (const auto& column : schema.key)
    mark_not_null(schema.columns, column);
  try {
    protocol::validate(schema);
  } catch (const std::exception& e) {
    throw storage_error(storage_errc::invalid, where_table(database, table) + ": " + e.what());
  }
  return schema;
}

} // namespace tidesync::storage::detail
