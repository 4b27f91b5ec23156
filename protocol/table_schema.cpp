#include "protocol/table_schema.hpp"

#include "protocol/error.hpp"
#include "protocol/json_fields.hpp"

#include <boost/json/value.hpp>

#include <algorithm>
#include <set>

namespace tidesync::protocol {

namespace {

namespace jf = json_fields;

/// PostgreSQL truncates identifiers longer than this, so two long names could collide.
constexpr std::size_t max_identifier_bytes = 63;

constexpr std::string_view reserved_columns[] = {"client_id", "database_id"};

[[noreturn]] void reject(std::string message) {
  throw api_error(error_code::bad_request, std::move(message));
}

bool is_ascii_letter(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

bool is_ascii_digit(char c) {
  return c >= '0' && c <= '9';
}

void check_name(std::string_view name, std::string_view path) {
  if (!is_valid_identifier(name))
    reject(std::string(path) + ": invalid name " + jf::quoted(name) +
           "; use 1-63 ASCII letters, digits and _, not starting with a digit");
}

void check_columns(const table_schema& schema) {
  if (schema.columns.empty())
    reject("columns: a table needs at least one column");
  std::set<std::string_view> seen;
  for (std::size_t i = 0; i < schema.columns.size(); ++i) {
    const auto& name = schema.columns[i].name;
    auto path = jf::index_path("columns", i) + ".name";
    check_name(name, path);
    if (std::find(std::begin(reserved_columns), std::end(reserved_columns), name) !=
        std::end(reserved_columns))
      reject(path + ": " + jf::quoted(name) + " is reserved for the tenant columns");
    if (!seen.insert(name).second)
      reject(path + ": duplicate column " + jf::quoted(name));
  }
}

void check_key(const table_schema& schema) {
  if (schema.key.empty())
    reject("key: a table needs a primary key of at least one column");
  std::set<std::string_view> seen;
  for (std::size_t i = 0; i < schema.key.size(); ++i) {
    const auto& name = schema.key[i];
    auto path = jf::index_path("key", i);
    const auto* column = schema.find(name);
    if (column == nullptr)
      reject(path + ": key column " + jf::quoted(name) + " is not among the columns");
    if (column->nullable)
      reject(path + ": key column " + jf::quoted(name) + " must not be nullable");
    if (!seen.insert(name).second)
      reject(path + ": key column " + jf::quoted(name) + " appears twice");
  }
}

void check_version_column(const table_schema& schema) {
  const auto* column = schema.find(schema.version_column);
  if (column == nullptr)
    reject("version_column: " + jf::quoted(schema.version_column) + " is not among the columns");
  if (column->type != column_type::bigint)
    reject("version_column: " + jf::quoted(schema.version_column) + " must be bigint, not " +
           std::string(type_name(column->type)));
}

void check_modified_column(const table_schema& schema) {
  if (!schema.modified_column)
    return;
  const auto* column = schema.find(*schema.modified_column);
  if (column == nullptr)
    reject("modified_column: " + jf::quoted(*schema.modified_column) + " is not among the columns");
  auto type = column->type;
  if (type != column_type::date && type != column_type::timestamp &&
      type != column_type::timestamptz)
    reject("modified_column: " + jf::quoted(*schema.modified_column) +
           " must be a date, timestamp or timestamptz, not " + std::string(type_name(type)));
}

column_def column_from_json(const boost::json::value& json, const std::string& path) {
  const auto& object = jf::as_object(json, path);
  jf::reject_unknown(object, {"name", "type", "nullable"}, path);
  column_def column;
  auto name_path = jf::member_path(path, "name");
  column.name = jf::as_string(jf::required(object, "name", path), name_path);
  auto type_path = jf::member_path(path, "type");
  auto type_text = jf::as_string(jf::required(object, "type", path), type_path);
  auto type = parse_column_type(type_text);
  if (!type)
    reject(type_path + ": unknown type " + jf::quoted(type_text));
  column.type = *type;
  if (const auto* nullable = jf::optional(object, "nullable")) {
    if (!nullable->is_bool())
      reject(jf::member_path(path, "nullable") + ": expected true or false, got " +
             jf::describe(*nullable));
    column.nullable = nullable->get_bool();
  }
  return column;
}

std::vector<std::string> names_from_json(const boost::json::value& json, std::string_view path) {
  std::vector<std::string> names;
  const auto& array = jf::as_array(json, path);
  for (std::size_t i = 0; i < array.size(); ++i)
    names.push_back(jf::as_string(array[i], jf::index_path(path, i)));
  return names;
}

} // namespace

const column_def* table_schema::find(std::string_view name) const {
  for (const auto& column : columns)
    if (column.name == name)
      return &column;
  return nullptr;
}

bool is_valid_identifier(std::string_view name) {
  if (name.empty() || name.size() > max_identifier_bytes || is_ascii_digit(name.front()))
    return false;
  return std::all_of(name.begin(), name.end(),
                     [](char c) { return is_ascii_letter(c) || is_ascii_digit(c) || c == '_'; });
}

void validate(const table_schema& schema) {
  check_columns(schema);
  check_key(schema);
  check_version_column(schema);
  check_modified_column(schema);
}

boost::json::value to_json(const table_schema& schema) {
  boost::json::array columns;
  for (const auto& column : schema.columns) {
    boost::json::object entry;
    entry["name"] = column.name;
    entry["type"] = type_name(column.type);
    entry["nullable"] = column.nullable;
    columns.push_back(std::move(entry));
  }
  boost::json::array key;
  for (const auto& name : schema.key)
    key.push_back(boost::json::string(name));
  boost::json::object out;
  out["columns"] = std::move(columns);
  out["key"] = std::move(key);
  out["version_column"] = schema.version_column;
  if (schema.modified_column)
    out["modified_column"] = *schema.modified_column;
  else
    out["modified_column"] = nullptr;
  return out;
}

table_schema table_schema_from_json(const boost::json::value& json) {
  const auto& object = jf::as_object(json, "schema");
  jf::reject_unknown(object, {"columns", "key", "version_column", "modified_column"}, "schema");
  table_schema schema;
  const auto& columns = jf::as_array(jf::required(object, "columns", ""), "columns");
  for (std::size_t i = 0; i < columns.size(); ++i)
    schema.columns.push_back(column_from_json(columns[i], jf::index_path("columns", i)));
  schema.key = names_from_json(jf::required(object, "key", ""), "key");
  schema.version_column =
      jf::as_string(jf::required(object, "version_column", ""), "version_column");
  if (const auto* modified = jf::optional(object, "modified_column"))
    schema.modified_column = jf::as_string(*modified, "modified_column");
  validate(schema);
  return schema;
}

} // namespace tidesync::protocol
