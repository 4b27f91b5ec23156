#include "protocol/column_refusal.hpp"

#include "protocol/error.hpp"
#include "protocol/json_fields.hpp"
#include "protocol/json_parse.hpp"

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <algorithm>

namespace tidesync::protocol {

namespace {

bool is_refused(const std::vector<refused_column>& refused, std::string_view name) {
  return std::any_of(refused.begin(), refused.end(),
                     [&](const refused_column& c) { return c.name == name; });
}

std::string string_field(const boost::json::object& object, std::string_view field,
                         const std::string& path) {
  const auto* value = object.if_contains(field);
  if (value == nullptr || !value->is_string())
    throw api_error(error_code::bad_request,
                    path + "." + std::string(field) + ": a string is required");
  return std::string(value->as_string());
}

} // namespace

boost::json::value to_json(const std::vector<refused_column>& columns) {
  boost::json::array out;
  for (const auto& column : columns)
    out.push_back(boost::json::object{{"name", column.name}, {"reason", column.reason}});
  return out;
}

std::vector<refused_column> refused_columns_from_json(const boost::json::value& json) {
  if (!json.is_array())
    throw api_error(error_code::bad_request, "refused_columns: an array is required");
  std::vector<refused_column> out;
  const auto& items = json.as_array();
  for (std::size_t i = 0; i < items.size(); ++i) {
    auto path = json_fields::index_path("refused_columns", i);
    if (!items[i].is_object())
      throw api_error(error_code::bad_request, path + ": an object is required");
    const auto& item = items[i].as_object();
    out.push_back({string_field(item, "name", path), string_field(item, "reason", path)});
  }
  return out;
}

std::vector<refused_column> refused_columns_from_text(std::string_view json_text) {
  boost::json::error_code ec;
  auto json = parse_json_exact(json_text, ec);
  if (ec)
    throw api_error(error_code::bad_request, "refused_columns: not JSON: " + ec.message());
  return refused_columns_from_json(json);
}

std::string columns_refused_body(std::string_view message,
                                 const std::vector<refused_column>& columns) {
  boost::json::object error;
  error["code"] = code_name(error_code::columns_refused);
  error["message"] = message;
  error["refused_columns"] = to_json(columns);
  return boost::json::serialize(boost::json::object{{"error", std::move(error)}});
}

std::vector<refused_column> refused_columns_of(std::string_view error_body) {
  try {
    auto body = parse_json_exact(error_body);
    const auto* error = body.as_object().if_contains("error");
    if (error == nullptr)
      return {};
    const auto* columns = error->as_object().if_contains("refused_columns");
    return columns ? refused_columns_from_json(*columns) : std::vector<refused_column>{};
  } catch (const std::exception&) {
    return {};
  }
}

table_schema without_columns(const table_schema& schema,
                             const std::vector<refused_column>& refused) {
  auto out = schema;
  std::erase_if(out.columns, [&](const column_def& column) {
    bool structural = column.name == schema.version_column ||
                      std::find(schema.key.begin(), schema.key.end(), column.name) !=
                          schema.key.end();
    return !structural && is_refused(refused, column.name);
  });
  if (out.modified_column && is_refused(refused, *out.modified_column))
    out.modified_column.reset();
  return out;
}

bool refuses_key_or_version(const table_schema& schema,
                            const std::vector<refused_column>& refused) {
  if (is_refused(refused, schema.version_column))
    return true;
  return std::any_of(schema.key.begin(), schema.key.end(),
                     [&](const std::string& key) { return is_refused(refused, key); });
}

std::string describe(const std::vector<refused_column>& refused) {
  std::string out;
  for (const auto& column : refused)
    out += (out.empty() ? "" : ", ") + column.name + " (" + column.reason + ")";
  return out;
}

} // namespace tidesync::protocol
