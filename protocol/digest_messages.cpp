#include "protocol/digest_messages.hpp"

#include "protocol/cell_codec.hpp"
#include "protocol/error.hpp"
#include "protocol/json_fields.hpp"

#include <boost/json/value.hpp>

#include <algorithm>

namespace tidesync::protocol {

namespace {

namespace jf = json_fields;
namespace json = boost::json;

json::value key_to_json(const std::optional<key_text>& key, std::span<const column_type> types) {
  if (!key)
    return nullptr;
  json::array cells;
  for (std::size_t i = 0; i < key->size() && i < types.size(); ++i)
    cells.push_back(cell_from_pg_text((*key)[i], types[i]));
  return cells;
}

key_text key_from_json(const json::value& value, std::span<const column_type> types,
                       std::string_view path) {
  const auto& cells = jf::as_array(value, path);
  if (cells.size() != types.size())
    throw api_error(error_code::bad_request, std::string{path} + ": expected " +
                                                 std::to_string(types.size()) +
                                                 " key cells, got " + std::to_string(cells.size()));
  key_text key;
  for (std::size_t i = 0; i < cells.size(); ++i) {
    auto cell_path = jf::index_path(path, i);
    if (cells[i].is_null())
      throw api_error(error_code::bad_request, cell_path + ": a key cell cannot be null");
    try {
      key.push_back(*cell_to_pg_text(cells[i], types[i]));
    } catch (const api_error& e) {
      throw api_error(error_code::bad_request, cell_path + ": " + e.what());
    }
  }
  return key;
}

std::optional<key_text> optional_key(const json::object& object, std::string_view name,
                                     std::span<const column_type> types, std::string_view path) {
  const auto* value = jf::optional(object, name);
  if (value == nullptr)
    return std::nullopt;
  return key_from_json(*value, types, jf::member_path(path, name));
}

json::value range_to_json(const key_range& range, std::span<const column_type> types) {
  return json::object{{"from", key_to_json(range.from, types)},
                      {"to", key_to_json(range.to, types)}};
}

key_range range_from_json(const json::value& value, std::span<const column_type> types,
                          std::string_view path) {
  const auto& object = jf::as_object(value, path);
  jf::reject_unknown(object, {"from", "to"}, path);
  return {optional_key(object, "from", types, path), optional_key(object, "to", types, path)};
}

std::vector<std::string> columns_from_json(const json::object& object, std::string_view path) {
  const auto& array = jf::as_array(jf::required(object, "columns", path), "columns");
  if (array.size() > max_digest_columns)
    throw api_error(error_code::bad_request, "columns: expected at most " +
                                                 std::to_string(max_digest_columns) + " columns");
  std::vector<std::string> columns;
  for (std::size_t i = 0; i < array.size(); ++i) {
    auto path = jf::index_path("columns", i);
    auto name = jf::as_string(array[i], path);
    // A column digested twice would still digest alike on both sides, but
    // says the client is confused; refuse it rather than guess.
    if (std::find(columns.begin(), columns.end(), name) != columns.end())
      throw api_error(error_code::bad_request, path + ": " + jf::quoted(name) + " is listed twice");
    columns.push_back(std::move(name));
  }
  return columns;
}

json::array columns_to_json(const std::vector<std::string>& columns) {
  return json::array(columns.begin(), columns.end());
}

digest_request::row_list list_from_json(const json::value& value,
                                        std::span<const column_type> types) {
  const auto& object = jf::as_object(value, "rows");
  jf::reject_unknown(object, {"from", "to", "after", "limit"}, "rows");
  digest_request::row_list list;
  list.range = {optional_key(object, "from", types, "rows"),
                optional_key(object, "to", types, "rows")};
  list.after = optional_key(object, "after", types, "rows");
  if (const auto* limit = jf::optional(object, "limit"))
    list.limit = jf::as_int64(*limit, "rows.limit");
  if (list.limit < 1 || list.limit > max_listed_rows)
    throw api_error(error_code::bad_request,
                    "rows.limit: expected 1 to " + std::to_string(max_listed_rows));
  return list;
}

} // namespace

json::value to_json(const digest_request& request, std::span<const column_type> key_types) {
  json::object out{{"columns", columns_to_json(request.columns)}};
  if (request.list) {
    auto list = range_to_json(request.list->range, key_types).as_object();
    if (request.list->after)
      list["after"] = key_to_json(request.list->after, key_types);
    list["limit"] = request.list->limit;
    out["rows"] = std::move(list);
    return out;
  }
  json::array ranges;
  for (const auto& range : request.ranges)
    ranges.push_back(range_to_json(range, key_types));
  out["ranges"] = std::move(ranges);
  return out;
}

digest_request digest_request_from_json(const json::value& body,
                                        std::span<const column_type> key_types) {
  const auto& object = jf::as_object(body, "digest request");
  jf::reject_unknown(object, {"columns", "ranges", "rows"}, "");
  digest_request request;
  request.columns = columns_from_json(object, "");
  const auto* ranges = jf::optional(object, "ranges");
  const auto* rows = jf::optional(object, "rows");
  if ((ranges == nullptr) == (rows == nullptr))
    throw api_error(error_code::bad_request, "expected exactly one of \"ranges\" and \"rows\"");
  if (rows != nullptr) {
    request.list = list_from_json(*rows, key_types);
    return request;
  }
  const auto& array = jf::as_array(*ranges, "ranges");
  if (array.empty() || array.size() > max_digest_ranges)
    throw api_error(error_code::bad_request,
                    "ranges: expected 1 to " + std::to_string(max_digest_ranges) + " ranges");
  for (std::size_t i = 0; i < array.size(); ++i)
    request.ranges.push_back(range_from_json(array[i], key_types, jf::index_path("ranges", i)));
  return request;
}

json::value to_json(const digest_answer& answer, std::span<const column_type> key_types) {
  json::object out{{"columns", columns_to_json(answer.columns)}};
  if (!answer.ranges.empty() || answer.rows.empty()) {
    json::array ranges;
    for (const auto& range : answer.ranges)
      ranges.push_back(json::object{{"count", range.count}, {"digest", range.digest}});
    out["ranges"] = std::move(ranges);
  }
  if (!answer.rows.empty() || answer.ranges.empty()) {
    json::array rows;
    for (const auto& row : answer.rows)
      rows.push_back(
          json::object{{"key", key_to_json(row.key, key_types)}, {"digest", row.digest}});
    out["rows"] = std::move(rows);
    out["next"] = key_to_json(answer.next, key_types);
  }
  return out;
}

digest_answer digest_answer_from_json(const json::value& body,
                                      std::span<const column_type> key_types) {
  const auto& object = jf::as_object(body, "digest answer");
  digest_answer answer;
  answer.columns = columns_from_json(object, "");
  if (const auto* ranges = jf::optional(object, "ranges")) {
    const auto& array = jf::as_array(*ranges, "ranges");
    for (std::size_t i = 0; i < array.size(); ++i) {
      auto path = jf::index_path("ranges", i);
      const auto& range = jf::as_object(array[i], path);
      answer.ranges.push_back(
          {jf::as_int64(jf::required(range, "count", path), jf::member_path(path, "count")),
           jf::as_string(jf::required(range, "digest", path), jf::member_path(path, "digest"))});
    }
  }
  if (const auto* rows = jf::optional(object, "rows")) {
    const auto& array = jf::as_array(*rows, "rows");
    for (std::size_t i = 0; i < array.size(); ++i) {
      auto path = jf::index_path("rows", i);
      const auto& row = jf::as_object(array[i], path);
      answer.rows.push_back(
          {key_from_json(jf::required(row, "key", path), key_types, jf::member_path(path, "key")),
           jf::as_string(jf::required(row, "digest", path), jf::member_path(path, "digest"))});
    }
  }
  answer.next = optional_key(object, "next", key_types, "");
  return answer;
}

} // namespace tidesync::protocol
