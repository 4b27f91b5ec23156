#include "protocol/manifest_cursor.hpp"

#include "protocol/cell_codec.hpp"
#include "protocol/error.hpp"

#include <boost/json/array.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <string_view>

namespace tidesync::protocol {

namespace {

constexpr std::string_view alphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

[[noreturn]] void malformed() {
  throw api_error(error_code::bad_request,
                  "after: malformed position; expected the base64url of the JSON array "
                  "[version, key cells…], e.g. the \"next\" of the previous page");
}

std::string base64url_encode(std::string_view bytes) {
  std::string out;
  std::uint32_t buffer = 0;
  int bits = 0;
  for (unsigned char c : bytes) {
    buffer = (buffer << 8) | c;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out += alphabet[(buffer >> bits) & 0x3f];
    }
  }
  if (bits > 0)
    out += alphabet[(buffer << (6 - bits)) & 0x3f];
  return out;
}

std::string base64url_decode(std::string_view text) {
  std::string out;
  std::uint32_t buffer = 0;
  int bits = 0;
  for (char c : text) {
    auto digit = alphabet.find(c);
    if (digit == std::string_view::npos)
      malformed();
    buffer = (buffer << 6) | static_cast<std::uint32_t>(digit);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((buffer >> bits) & 0xff);
    }
  }
  return out;
}

boost::json::array parse_array(const std::string& json) {
  boost::system::error_code ec;
  auto value = boost::json::parse(json, ec);
  if (ec || !value.is_array())
    malformed();
  return std::move(value.as_array());
}

} // namespace

std::string encode_cursor(std::int64_t version, const std::vector<boost::json::value>& key) {
  boost::json::array cursor;
  cursor.push_back(version);
  for (const auto& cell : key)
    cursor.push_back(cell);
  return base64url_encode(boost::json::serialize(cursor));
}

manifest_cursor decode_cursor(const std::string& text, const table_schema& schema) {
  auto cells = parse_array(base64url_decode(text));
  if (cells.size() != schema.key.size() + 1 || !cells[0].is_int64())
    malformed();
  manifest_cursor cursor{cells[0].get_int64(), {}};
  for (std::size_t i = 0; i < schema.key.size(); ++i) {
    std::optional<std::string> key;
    try {
      key = cell_to_pg_text(cells[i + 1], schema.find(schema.key[i])->type);
    } catch (const api_error&) {
      malformed();
    }
    if (!key)
      malformed();
    cursor.key_text.push_back(std::move(*key));
  }
  return cursor;
}

} // namespace tidesync::protocol
