#include "actors/wire_body.hpp"

#include "protocol/cell_codec.hpp"
#include "protocol/json_parse.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <cstdint>
#include <cstdio>

namespace tidesync::actors {

namespace json = boost::json;

namespace {

json::array key_cells(const std::vector<protocol::column_type>& types, const sync::row_key& key) {
  json::array cells;
  for (std::size_t i = 0; i < key.size() && i < types.size(); ++i)
    cells.push_back(protocol::cell_from_pg_text(key[i], types[i]));
  return cells;
}

} // namespace

std::vector<protocol::column_type> key_types(const protocol::table_schema& schema) {
  std::vector<protocol::column_type> types;
  for (const auto& name : schema.key)
    if (const auto* column = schema.find(name))
      types.push_back(column->type);
  return types;
}

std::string upload_body(const protocol::table_schema& schema,
                        std::span<const storage::text_row> rows) {
  // Written straight as text: a page of 50,000 rows as a JSON document tree
  // would be half a million small allocations made only to be serialized.
  std::string body = R"({"columns":[)";
  for (std::size_t i = 0; i < schema.columns.size(); ++i) {
    if (i != 0)
      body.push_back(',');
    protocol::append_json_string(body, schema.columns[i].name);
  }
  body.append(R"(],"rows":[)");
  // Sized from the first row, so the text grows a few times at most; a
  // first row of megabytes does not reserve that much for every row.
  const auto header_bytes = body.size();
  bool sized = false;
  for (std::size_t r = 0; r < rows.size(); ++r) {
    const auto& row = rows[r];
    if (r != 0)
      body.push_back(',');
    body.push_back('[');
    for (std::size_t i = 0; i < row.size() && i < schema.columns.size(); ++i) {
      if (i != 0)
        body.push_back(',');
      if (row[i])
        protocol::append_wire_cell(body, *row[i], schema.columns[i].type);
      else
        body.append("null");
    }
    body.push_back(']');
    if (!sized) {
      sized = true;
      constexpr std::size_t max_reserve = 64 << 20;
      const auto row_bytes = body.size() - header_bytes + 1;
      body.reserve(std::min(max_reserve, body.size() + row_bytes * (rows.size() - 1) + 2));
    }
  }
  body.append("]}");
  return body;
}

std::string delete_keys_body(const protocol::table_schema& schema,
                             std::span<const sync::row_key> keys) {
  auto types = key_types(schema);
  json::array out;
  for (const auto& key : keys)
    out.emplace_back(key_cells(types, key));
  json::object body{{"keys", std::move(out)}};
  return json::serialize(body);
}

std::string delete_bulk_body(const sync::remote_delete& request) {
  json::object body;
  if (request.all)
    body["all"] = true;
  else
    body["above_version"] = request.above_version;
  return json::serialize(body);
}

std::string key_json(const protocol::table_schema& schema, const sync::row_key& key) {
  return json::serialize(key_cells(key_types(schema), key));
}

sync::row_key key_from_json(const protocol::table_schema& schema, const std::string& text) {
  auto types = key_types(schema);
  const auto document = protocol::parse_json_exact(text);
  const auto& cells = document.as_array();
  sync::row_key key;
  for (std::size_t i = 0; i < cells.size() && i < types.size(); ++i)
    key.push_back(protocol::cell_to_pg_text(cells[i], types[i]).value_or(""));
  return key;
}

std::string schema_hash(const protocol::table_schema& schema) {
  std::uint64_t hash = 14695981039346656037ULL;
  for (unsigned char c : json::serialize(protocol::to_json(schema))) {
    hash ^= c;
    hash *= 1099511628211ULL;
  }
  char text[17];
  std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(hash));
  return text;
}

} // namespace tidesync::actors
