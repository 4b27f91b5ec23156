#include "actors/row_quarantine.hpp"

#include "actors/wire_body.hpp"
#include "protocol/cell_check.hpp"
#include "protocol/pg_text_syntax.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <cstdio>

namespace tidesync::actors {

namespace json = boost::json;

namespace {

constexpr std::string_view site_key_member = "site_key";
constexpr std::string_view hex_member = "hex";

bool is_key_column(const protocol::table_schema& schema, const std::string& name) {
  return std::find(schema.key.begin(), schema.key.end(), name) != schema.key.end();
}

bool key_encodes(const protocol::table_schema& schema, const sync::row_key& key) {
  auto types = key_types(schema);
  for (std::size_t i = 0; i < key.size() && i < types.size(); ++i)
    if (protocol::pg_text_refusal(key[i], types[i]))
      return false;
  return true;
}

std::string hex_of(std::string_view bytes) {
  std::string out;
  char pair[3];
  for (unsigned char c : bytes) {
    std::snprintf(pair, sizeof pair, "%02x", c);
    out.append(pair, 2);
  }
  return out;
}

std::string bytes_of_hex(std::string_view hex) {
  if (hex.size() % 2 != 0)
    throw std::invalid_argument("site key: odd hex length");
  std::string out;
  for (std::size_t i = 0; i < hex.size(); i += 2)
    out.push_back(static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  return out;
}

json::value site_cell(const std::string& text) {
  if (protocol::pg_text_syntax::is_valid_text(text))
    return json::string(text);
  return json::object{{hex_member, hex_of(text)}};
}

std::string cell_of_site(const json::value& cell) {
  if (cell.is_string())
    return std::string(cell.get_string());
  return bytes_of_hex(cell.as_object().at(hex_member).as_string());
}

} // namespace

std::optional<std::string> unencodable_reason(const protocol::table_schema& schema,
                                              const storage::text_row& row) {
  for (std::size_t i = 0; i < row.size() && i < schema.columns.size(); ++i) {
    if (!row[i])
      continue;
    const auto& column = schema.columns[i];
    if (auto refusal = protocol::pg_text_refusal(*row[i], column.type))
      return (is_key_column(schema, column.name) ? "key column " : "column ") +
             protocol::printable_text(column.name) + ": " + *refusal;
  }
  return std::nullopt;
}

std::string quarantine_key(const protocol::table_schema& schema, const sync::row_key& key) {
  if (key_encodes(schema, key))
    return key_json(schema, key);
  json::array cells;
  for (const auto& cell : key)
    cells.push_back(site_cell(cell));
  return json::serialize(json::object{{site_key_member, std::move(cells)}});
}

sync::row_key quarantine_key_cells(const protocol::table_schema& schema,
                                   const std::string& text) {
  if (!text.starts_with("{"))
    return key_from_json(schema, text);
  const auto document = json::parse(text);
  sync::row_key key;
  for (const auto& cell : document.as_object().at(site_key_member).as_array())
    key.push_back(cell_of_site(cell));
  return key;
}

} // namespace tidesync::actors
