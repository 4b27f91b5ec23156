#include "protocol/cell_codec.hpp"

#include "protocol/error.hpp"
#include "protocol/json_fields.hpp"
#include "protocol/pg_text_syntax.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>
#include <system_error>

namespace tidesync::protocol {

namespace {

namespace syntax = pg_text_syntax;

[[noreturn]] void expected(std::string_view what, const boost::json::value& cell) {
  std::string message("expected ");
  message.append(what);
  message.append(", got ");
  message.append(json_fields::describe(cell));
  throw api_error(error_code::bad_request, std::move(message));
}

std::string_view string_of(const boost::json::value& cell) {
  const auto& text = cell.get_string();
  return {text.data(), text.size()};
}

struct integer_range {
  std::int64_t min;
  std::int64_t max;
};

integer_range range_of(column_type type) {
  switch (type) {
  case column_type::smallint:
    return {std::numeric_limits<std::int16_t>::min(), std::numeric_limits<std::int16_t>::max()};
  case column_type::integer:
    return {std::numeric_limits<std::int32_t>::min(), std::numeric_limits<std::int32_t>::max()};
  default:
    return {std::numeric_limits<std::int64_t>::min(), std::numeric_limits<std::int64_t>::max()};
  }
}

std::string integer_to_pg(const boost::json::value& cell, column_type type) {
  auto range = range_of(type);
  if (!cell.is_int64() || cell.get_int64() < range.min || cell.get_int64() > range.max)
    expected("an integer between " + std::to_string(range.min) + " and " +
                 std::to_string(range.max),
             cell);
  return std::to_string(cell.get_int64());
}

std::string numeric_to_pg(const boost::json::value& cell) {
  // A JSON double would already have lost digits, so numeric takes strings or integers.
  if (cell.is_int64())
    return std::to_string(cell.get_int64());
  if (cell.is_uint64())
    return std::to_string(cell.get_uint64());
  if (!cell.is_string() || !syntax::is_numeric(string_of(cell)))
    expected("a JSON string holding a numeric", cell);
  return std::string(string_of(cell));
}

// PostgreSQL refuses a real that would round to infinity or, from non-zero, to zero.
bool fits_real(double value) {
  constexpr double overflow = 0x1p128 - 0x1p103; // halfway past FLT_MAX
  constexpr double underflow = 0x1p-150;         // halfway below the smallest denormal
  auto magnitude = std::fabs(value);
  return !std::isfinite(value) || value == 0 || (magnitude < overflow && magnitude > underflow);
}

std::string float_to_pg(const boost::json::value& cell, column_type type) {
  constexpr std::string_view what = "a JSON number or \"NaN\", \"Infinity\", \"-Infinity\"";
  if (cell.is_string()) {
    auto text = string_of(cell);
    if (text != "NaN" && text != "Infinity" && text != "-Infinity")
      expected(what, cell);
    return std::string(text);
  }
  if (cell.is_int64())
    return std::to_string(cell.get_int64());
  if (cell.is_uint64())
    return std::to_string(cell.get_uint64());
  if (!cell.is_double())
    expected(what, cell);
  auto value = cell.get_double();
  if (type == column_type::real && !fits_real(value))
    expected("a number within the range of real", cell);
  return json_fields::shortest_text(value);
}

std::string text_to_pg(const boost::json::value& cell) {
  if (!cell.is_string())
    expected("a JSON string", cell);
  if (!syntax::is_valid_text(string_of(cell)))
    expected("a JSON string without NUL characters", cell);
  return std::string(string_of(cell));
}

// Checks a string cell against `valid` and passes its text through unchanged.
template <class Check>
std::string checked_string(const boost::json::value& cell, std::string_view what, Check valid) {
  if (!cell.is_string() || !valid(string_of(cell)))
    expected(what, cell);
  return std::string(string_of(cell));
}

bool holds_nul(const boost::json::value& value) {
  if (value.is_string())
    return string_of(value).find('\0') != std::string_view::npos;
  if (value.is_array()) {
    for (const auto& element : value.get_array())
      if (holds_nul(element))
        return true;
  }
  if (value.is_object()) {
    for (const auto& member : value.get_object())
      if (member.key().find('\0') != std::string_view::npos || holds_nul(member.value()))
        return true;
  }
  return false;
}

// The document's text is kept as sent: json preserves it byte for byte.
std::string json_to_pg(const boost::json::value& cell, column_type type) {
  constexpr std::string_view what = "a JSON string holding a JSON document";
  if (!cell.is_string())
    expected(what, cell);
  std::error_code ec;
  auto document = boost::json::parse(string_of(cell), ec);
  if (ec)
    expected(what, cell);
  // jsonb stores strings as text, which cannot hold \u0000.
  if (type == column_type::jsonb && holds_nul(document))
    expected("a JSON document without \\u0000 for jsonb", cell);
  return std::string(string_of(cell));
}

std::string to_pg(const boost::json::value& cell, column_type type) {
  switch (type) {
  case column_type::smallint:
  case column_type::integer:
  case column_type::bigint:
    return integer_to_pg(cell, type);
  case column_type::numeric:
    return numeric_to_pg(cell);
  case column_type::real:
  case column_type::double_precision:
    return float_to_pg(cell, type);
  case column_type::boolean:
    if (!cell.is_bool())
      expected("true or false", cell);
    return cell.get_bool() ? "true" : "false";
  case column_type::text:
    return text_to_pg(cell);
  case column_type::bytea:
    return checked_string(cell, "a JSON string in PostgreSQL hex form \"\\\\x0aff\"",
                          syntax::is_bytea_hex);
  case column_type::date:
    return checked_string(cell, "a JSON string holding a date \"YYYY-MM-DD\"", syntax::is_date);
  case column_type::timestamp:
    return checked_string(cell,
                          "a JSON string holding a timestamp \"YYYY-MM-DD HH:MM:SS[.ffffff]\"",
                          [](std::string_view text) { return syntax::is_timestamp(text, false); });
  case column_type::timestamptz:
    return checked_string(
        cell, "a JSON string holding a timestamp \"YYYY-MM-DD HH:MM:SS[.ffffff][+HH[:MM]]\"",
        [](std::string_view text) { return syntax::is_timestamp(text, true); });
  case column_type::uuid:
    return checked_string(cell, "a JSON string holding a uuid \"8-4-4-4-12\" hex", syntax::is_uuid);
  case column_type::json:
  case column_type::jsonb:
    return json_to_pg(cell, type);
  }
  expected("a supported column type", cell);
}

[[noreturn]] void unexpected_pg_text(std::string_view text, column_type type) {
  throw api_error(error_code::bad_request, "expected PostgreSQL " + std::string(type_name(type)) +
                                               " text, got " + json_fields::quoted(text));
}

boost::json::value integer_from_pg(std::string_view text, column_type type) {
  std::int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size())
    unexpected_pg_text(text, type);
  return value;
}

boost::json::value float_from_pg(std::string_view text, column_type type) {
  if (text == "NaN" || text == "Infinity" || text == "-Infinity")
    return boost::json::string(text);
  double value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size())
    unexpected_pg_text(text, type);
  return value;
}

boost::json::value boolean_from_pg(std::string_view text) {
  if (text == "t" || text == "true")
    return true;
  if (text == "f" || text == "false")
    return false;
  unexpected_pg_text(text, column_type::boolean);
}

} // namespace

std::optional<std::string> cell_to_pg_text(const boost::json::value& cell, column_type type) {
  if (cell.is_null())
    return std::nullopt;
  return to_pg(cell, type);
}

boost::json::value cell_from_pg_text(std::string_view text, column_type type) {
  switch (type) {
  case column_type::smallint:
  case column_type::integer:
  case column_type::bigint:
    return integer_from_pg(text, type);
  case column_type::real:
  case column_type::double_precision:
    return float_from_pg(text, type);
  case column_type::boolean:
    return boolean_from_pg(text);
  default:
    return boost::json::string(text);
  }
}

void append_copy_escaped(std::string& out, std::string_view text) {
  for (char c : text) {
    switch (c) {
    case '\\':
      out.append("\\\\");
      break;
    case '\t':
      out.append("\\t");
      break;
    case '\n':
      out.append("\\n");
      break;
    case '\r':
      out.append("\\r");
      break;
    default:
      out.push_back(c);
    }
  }
}

} // namespace tidesync::protocol
