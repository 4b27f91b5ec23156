#include "protocol/cell_codec.hpp"

#include "protocol/error.hpp"
#include "protocol/json_fields.hpp"
#include "protocol/pg_text_syntax.hpp"

#include <boost/json/value.hpp>

#include <array>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>

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

// Room for the text of any int64, uint64 or shortest double.
constexpr std::size_t number_text_bytes = 32;

/// Where a number's text is written, so rendering a cell allocates nothing.
using number_buffer = std::array<char, number_text_bytes>;

template <class Number> std::string_view number_text(Number value, number_buffer& buffer) {
  auto [end, ec] = std::to_chars(buffer.data(), buffer.data() + buffer.size(), value);
  return {buffer.data(), static_cast<std::size_t>(end - buffer.data())};
}

std::string_view integer_to_pg(const boost::json::value& cell, column_type type,
                               number_buffer& buffer) {
  auto range = range_of(type);
  if (!cell.is_int64() || cell.get_int64() < range.min || cell.get_int64() > range.max)
    expected("an integer between " + std::to_string(range.min) + " and " +
                 std::to_string(range.max),
             cell);
  return number_text(cell.get_int64(), buffer);
}

std::string_view numeric_to_pg(const boost::json::value& cell, number_buffer& buffer) {
  // A JSON double would already have lost digits, so numeric takes strings or integers.
  if (cell.is_int64())
    return number_text(cell.get_int64(), buffer);
  if (cell.is_uint64())
    return number_text(cell.get_uint64(), buffer);
  if (!cell.is_string() || !syntax::is_numeric(string_of(cell)))
    expected("a JSON string holding a numeric", cell);
  return string_of(cell);
}

// PostgreSQL's spellings of the values that have no digits.
bool is_special_float(std::string_view text) {
  return text == "NaN" || text == "Infinity" || text == "-Infinity";
}

// PostgreSQL refuses a real that would round to infinity or, from non-zero, to zero.
bool fits_real(double value) {
  constexpr double overflow = 0x1p128 - 0x1p103; // halfway past FLT_MAX
  constexpr double underflow = 0x1p-150;         // halfway below the smallest denormal
  auto magnitude = std::fabs(value);
  return !std::isfinite(value) || value == 0 || (magnitude < overflow && magnitude > underflow);
}

std::string_view float_range_of(column_type type) {
  return type == column_type::real ? "a number within the range of real"
                                   : "a number within the range of double precision";
}

std::string_view float_to_pg(const boost::json::value& cell, column_type type,
                             number_buffer& buffer) {
  if (cell.is_string()) {
    auto text = string_of(cell);
    auto check = check_float_text(text, type);
    if (check == float_text::out_of_range)
      expected(float_range_of(type), cell);
    if (check == float_text::malformed)
      expected("a JSON string holding a float literal (\"1.5\", \"-0\", \"2.5e-07\", \"NaN\", "
               "\"Infinity\", \"-Infinity\") or a JSON number",
               cell);
    return text;
  }
  if (cell.is_int64())
    return number_text(cell.get_int64(), buffer);
  if (cell.is_uint64())
    return number_text(cell.get_uint64(), buffer);
  if (!cell.is_double())
    expected("a JSON string holding a float literal or a JSON number", cell);
  auto value = cell.get_double();
  // JSON has no infinity: a number that reads as one overflowed double, and
  // would otherwise be stored as "inf", i.e. Infinity.
  if (!std::isfinite(value) || (type == column_type::real && !fits_real(value)))
    expected(float_range_of(type), cell);
  // Shortest round-trip text, as json_fields::shortest_text writes it.
  return number_text(value, buffer);
}

std::string_view text_to_pg(const boost::json::value& cell, utf8_state utf8) {
  if (!cell.is_string())
    expected("a JSON string", cell);
  auto text = string_of(cell);
  bool valid = utf8 == utf8_state::checked ? text.find('\0') == std::string_view::npos
                                           : syntax::is_valid_text(text);
  if (!valid)
    expected("a JSON string without NUL characters", cell);
  return text;
}

// Checks a string cell against `valid` and passes its text through unchanged.
template <class Check>
std::string_view checked_string(const boost::json::value& cell, std::string_view what,
                                Check valid) {
  if (!cell.is_string() || !valid(string_of(cell)))
    expected(what, cell);
  return string_of(cell);
}

// The document's text is kept as sent: json preserves it byte for byte.
std::string_view json_to_pg(const boost::json::value& cell, column_type type) {
  constexpr std::string_view what = "a JSON string holding a JSON document";
  if (!cell.is_string())
    expected(what, cell);
  auto check = syntax::check_json_document(string_of(cell));
  if (check == syntax::json_document::invalid)
    expected(what, cell);
  // jsonb stores strings as text, which cannot hold \u0000.
  if (type == column_type::jsonb && check == syntax::json_document::holds_nul)
    expected("a JSON document without \\u0000 for jsonb", cell);
  return string_of(cell);
}

std::string_view time_to_pg(const boost::json::value& cell, column_type type) {
  if (type == column_type::date)
    return checked_string(cell, "a JSON string holding a date \"YYYY-MM-DD\"", syntax::is_date);
  if (type == column_type::timestamp)
    return checked_string(cell,
                          "a JSON string holding a timestamp \"YYYY-MM-DD HH:MM:SS[.ffffff]\"",
                          [](std::string_view text) { return syntax::is_timestamp(text, false); });
  return checked_string(
      cell, "a JSON string holding a timestamp \"YYYY-MM-DD HH:MM:SS[.ffffff][+HH[:MM]]\"",
      [](std::string_view text) { return syntax::is_timestamp(text, true); });
}

// The cell's PostgreSQL text: a view of the cell's own string, of a literal,
// or of `buffer` for numbers.
std::string_view to_pg(const boost::json::value& cell, column_type type, utf8_state utf8,
                       number_buffer& buffer) {
  switch (type) {
  case column_type::smallint:
  case column_type::integer:
  case column_type::bigint:
    return integer_to_pg(cell, type, buffer);
  case column_type::numeric:
    return numeric_to_pg(cell, buffer);
  case column_type::real:
  case column_type::double_precision:
    return float_to_pg(cell, type, buffer);
  case column_type::boolean:
    if (!cell.is_bool())
      expected("true or false", cell);
    return cell.get_bool() ? "true" : "false";
  case column_type::text:
    return text_to_pg(cell, utf8);
  case column_type::bytea:
    return checked_string(cell, "a JSON string in PostgreSQL hex form \"\\\\x0aff\"",
                          syntax::is_bytea_hex);
  case column_type::date:
  case column_type::timestamp:
  case column_type::timestamptz:
    return time_to_pg(cell, type);
  case column_type::uuid:
    return checked_string(cell, "a JSON string holding a uuid \"8-4-4-4-12\" hex", syntax::is_uuid);
  case column_type::json:
  case column_type::jsonb:
    return json_to_pg(cell, type);
  }
  expected("a supported column type", cell);
}

// The letter after the backslash that escapes `c` in COPY's text format; 0 if none.
char copy_escape(char c) {
  switch (c) {
  case '\\':
    return '\\';
  case '\t':
    return 't';
  case '\n':
    return 'n';
  case '\r':
    return 'r';
  default:
    return 0;
  }
}

[[noreturn]] void unexpected_pg_text(std::string_view text, column_type type) {
  throw api_error(error_code::bad_request, "expected PostgreSQL " + std::string(type_name(type)) +
                                               " text, got " + json_fields::quoted(text));
}

std::int64_t pg_integer(std::string_view text, column_type type) {
  std::int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size())
    unexpected_pg_text(text, type);
  return value;
}

bool pg_boolean(std::string_view text) {
  if (text == "t" || text == "true")
    return true;
  if (text == "f" || text == "false")
    return false;
  unexpected_pg_text(text, column_type::boolean);
}

boost::json::value integer_from_pg(std::string_view text, column_type type) {
  return pg_integer(text, type);
}

// The agent checks only the spelling: a value out of the type's range is the
// server's to refuse (400), so the row is skipped like any other bad row.
boost::json::value float_from_pg(std::string_view text, column_type type, float_form floats) {
  auto check = check_float_text(text, type);
  if (check == float_text::malformed ||
      (floats == float_form::number && check != float_text::valid))
    unexpected_pg_text(text, type);
  if (floats == float_form::text || is_special_float(text))
    return boost::json::string(text);
  double value = 0;
  std::from_chars(text.data(), text.data() + text.size(), value);
  return value;
}

boost::json::value boolean_from_pg(std::string_view text) { return pg_boolean(text); }

} // namespace

std::optional<std::string> cell_to_pg_text(const boost::json::value& cell, column_type type) {
  if (cell.is_null())
    return std::nullopt;
  number_buffer buffer;
  return std::string(to_pg(cell, type, utf8_state::unchecked, buffer));
}

bool append_copy_cell(std::string& out, const boost::json::value& cell, column_type type,
                      utf8_state utf8) {
  if (cell.is_null())
    return false;
  number_buffer buffer;
  append_copy_escaped(out, to_pg(cell, type, utf8, buffer));
  return true;
}

void check_copy_cell(const boost::json::value& cell, column_type type, utf8_state utf8) {
  if (cell.is_null())
    return;
  number_buffer buffer;
  to_pg(cell, type, utf8, buffer);
}

float_text check_float_text(std::string_view text, column_type type) {
  if (is_special_float(text))
    return float_text::valid;
  double value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (end != text.data() + text.size() || text.empty())
    return float_text::malformed;
  if (ec == std::errc::result_out_of_range)
    return float_text::out_of_range;
  // from_chars also reads "inf", "nan(…)" and other spellings: one spelling per value.
  if (ec != std::errc{} || !std::isfinite(value))
    return float_text::malformed;
  if (type == column_type::real && !fits_real(value))
    return float_text::out_of_range;
  return float_text::valid;
}

void append_json_string(std::string& out, std::string_view text) {
  // Boost.JSON's serializer escapes exactly these; the rest (UTF-8 included)
  // is written as it is, so both writers give the same bytes.
  static constexpr char hex[] = "0123456789abcdef";
  out.push_back('"');
  std::size_t run = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c != '"' && c != '\\')
      continue;
    out.append(text.data() + run, i - run);
    run = i + 1;
    out.push_back('\\');
    switch (c) {
    case '"': out.push_back('"'); break;
    case '\\': out.push_back('\\'); break;
    case '\b': out.push_back('b'); break;
    case '\f': out.push_back('f'); break;
    case '\n': out.push_back('n'); break;
    case '\r': out.push_back('r'); break;
    case '\t': out.push_back('t'); break;
    default:
      out.append("u00");
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 0xf]);
    }
  }
  out.append(text.data() + run, text.size() - run);
  out.push_back('"');
}

void append_wire_cell(std::string& out, std::string_view text, column_type type) {
  switch (type) {
  case column_type::smallint:
  case column_type::integer:
  case column_type::bigint: {
    number_buffer buffer;
    out.append(number_text(pg_integer(text, type), buffer));
    return;
  }
  case column_type::real:
  case column_type::double_precision:
    if (check_float_text(text, type) == float_text::malformed)
      unexpected_pg_text(text, type);
    append_json_string(out, text);
    return;
  case column_type::boolean:
    out.append(pg_boolean(text) ? "true" : "false");
    return;
  default:
    append_json_string(out, text);
  }
}

boost::json::value cell_from_pg_text(std::string_view text, column_type type, float_form floats) {
  switch (type) {
  case column_type::smallint:
  case column_type::integer:
  case column_type::bigint:
    return integer_from_pg(text, type);
  case column_type::real:
  case column_type::double_precision:
    return float_from_pg(text, type, floats);
  case column_type::boolean:
    return boolean_from_pg(text);
  default:
    return boost::json::string(text);
  }
}

void append_copy_escaped(std::string& out, std::string_view text) {
  // Most values hold nothing to escape: copy the runs between special bytes whole.
  std::size_t run = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    auto escape = copy_escape(text[i]);
    if (escape == 0)
      continue;
    out.append(text.data() + run, i - run);
    out.push_back('\\');
    out.push_back(escape);
    run = i + 1;
  }
  out.append(text.data() + run, text.size() - run);
}

} // namespace tidesync::protocol
