#include "protocol/column_type.hpp"

#include <cctype>
#include <charconv>
#include <string>
#include <utility>

namespace tidesync::protocol {

namespace {

struct type_alias {
  std::string_view name;
  column_type type;
};

// PostgreSQL's spellings after normalization (lower case, single spaces, type
// modifier removed). `float` is decided by its precision, see parse_column_type.
constexpr type_alias aliases[] = {
    {"smallint", column_type::smallint},
    {"int2", column_type::smallint},
    {"integer", column_type::integer},
    {"int", column_type::integer},
    {"int4", column_type::integer},
    {"bigint", column_type::bigint},
    {"int8", column_type::bigint},
    {"numeric", column_type::numeric},
    {"decimal", column_type::numeric},
    {"real", column_type::real},
    {"float4", column_type::real},
    {"double precision", column_type::double_precision},
    {"float8", column_type::double_precision},
    {"boolean", column_type::boolean},
    {"bool", column_type::boolean},
    {"text", column_type::text},
    {"varchar", column_type::text},
    {"character varying", column_type::text},
    {"char", column_type::text},
    {"character", column_type::text},
    {"bpchar", column_type::text},
    {"bytea", column_type::bytea},
    {"date", column_type::date},
    {"timestamp", column_type::timestamp},
    {"timestamp without time zone", column_type::timestamp},
    {"timestamptz", column_type::timestamptz},
    {"timestamp with time zone", column_type::timestamptz},
    {"uuid", column_type::uuid},
    {"json", column_type::json},
    {"jsonb", column_type::jsonb},
    {"float", column_type::double_precision},
};

struct normalized_name {
  std::string words;    // lower case, single spaces, without the modifier
  std::string modifier; // what stood between the parentheses, if any
  bool ok = true;
};

// Splits "Timestamp(3)  WITH time zone" into "timestamp with time zone" and "3".
normalized_name normalize(std::string_view name) {
  normalized_name out;
  bool in_modifier = false;
  bool seen_modifier = false;
  for (char c : name) {
    auto lower = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (c == '(') {
      out.ok = out.ok && !in_modifier && !seen_modifier;
      in_modifier = true;
    } else if (c == ')') {
      out.ok = out.ok && in_modifier;
      in_modifier = false;
      seen_modifier = true;
    } else if (in_modifier) {
      if (!std::isspace(static_cast<unsigned char>(c)))
        out.modifier.push_back(lower);
    } else if (std::isspace(static_cast<unsigned char>(c))) {
      if (!out.words.empty() && out.words.back() != ' ')
        out.words.push_back(' ');
    } else {
      out.words.push_back(lower);
    }
  }
  if (!out.words.empty() && out.words.back() == ' ')
    out.words.pop_back();
  out.ok = out.ok && !in_modifier && (!seen_modifier || !out.modifier.empty());
  return out;
}

bool is_modifier_text(std::string_view modifier) {
  for (char c : modifier)
    if (!std::isdigit(static_cast<unsigned char>(c)) && c != ',' && c != '-')
      return false;
  return true;
}

// float(p): PostgreSQL picks real for p <= 24 and double precision above.
std::optional<column_type> float_type(std::string_view modifier) {
  if (modifier.empty())
    return column_type::double_precision;
  int precision = 0;
  auto [end, ec] = std::from_chars(modifier.data(), modifier.data() + modifier.size(), precision);
  if (ec != std::errc{} || end != modifier.data() + modifier.size() || precision < 1 ||
      precision > 53)
    return std::nullopt;
  return precision <= 24 ? column_type::real : column_type::double_precision;
}

} // namespace

std::optional<column_type> parse_column_type(std::string_view name) {
  auto normalized = normalize(name);
  if (!normalized.ok || !is_modifier_text(normalized.modifier))
    return std::nullopt;
  if (normalized.words == "float")
    return float_type(normalized.modifier);
  for (const auto& alias : aliases)
    if (alias.name == normalized.words)
      return alias.type;
  return std::nullopt;
}

std::string_view type_name(column_type type) {
  switch (type) {
  case column_type::smallint:
    return "smallint";
  case column_type::integer:
    return "integer";
  case column_type::bigint:
    return "bigint";
  case column_type::numeric:
    return "numeric";
  case column_type::real:
    return "real";
  case column_type::double_precision:
    return "double precision";
  case column_type::boolean:
    return "boolean";
  case column_type::text:
    return "text";
  case column_type::bytea:
    return "bytea";
  case column_type::date:
    return "date";
  case column_type::timestamp:
    return "timestamp";
  case column_type::timestamptz:
    return "timestamptz";
  case column_type::uuid:
    return "uuid";
  case column_type::json:
    return "json";
  case column_type::jsonb:
    return "jsonb";
  }
  return "text";
}

} // namespace tidesync::protocol
