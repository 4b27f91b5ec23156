#include "sync/cell_order.hpp"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <optional>
#include <system_error>

namespace tidesync::sync {

namespace {

constexpr std::string_view decimal_nan = "NaN";

/// A numeric's text split so that two values compare by their parts.
struct decimal_parts {
  bool nan = false;
  bool negative = false;
  std::string_view integer_digits;  // no leading zeros
  std::string_view fraction_digits; // no trailing zeros
};

bool all_digits(std::string_view text) {
  for (char c : text)
    if (c < '0' || c > '9')
      return false;
  return true;
}

std::optional<decimal_parts> parse_decimal(std::string_view text) {
  decimal_parts parts;
  if (text == decimal_nan) {
    parts.nan = true;
    return parts;
  }
  if (!text.empty() && (text.front() == '-' || text.front() == '+')) {
    parts.negative = text.front() == '-';
    text.remove_prefix(1);
  }
  const auto point = text.find('.');
  std::string_view integer = text.substr(0, point);
  std::string_view fraction = point == std::string_view::npos ? "" : text.substr(point + 1);
  if ((integer.empty() && fraction.empty()) || !all_digits(integer) || !all_digits(fraction))
    return std::nullopt;
  while (!integer.empty() && integer.front() == '0')
    integer.remove_prefix(1);
  while (!fraction.empty() && fraction.back() == '0')
    fraction.remove_suffix(1);
  // "-0.00" is zero, which has no sign.
  if (integer.empty() && fraction.empty())
    parts.negative = false;
  parts.integer_digits = integer;
  parts.fraction_digits = fraction;
  return parts;
}

std::weak_ordering compare_magnitudes(const decimal_parts& a, const decimal_parts& b) {
  if (a.integer_digits.size() != b.integer_digits.size())
    return a.integer_digits.size() <=> b.integer_digits.size();
  if (auto c = a.integer_digits <=> b.integer_digits; c != 0)
    return c;
  return a.fraction_digits <=> b.fraction_digits;
}

std::weak_ordering compare_decimals(const decimal_parts& a, const decimal_parts& b) {
  if (a.nan || b.nan)
    return a.nan <=> b.nan;
  if (a.negative != b.negative)
    return a.negative ? std::weak_ordering::less : std::weak_ordering::greater;
  const auto magnitude = compare_magnitudes(a, b);
  return a.negative ? 0 <=> magnitude : magnitude;
}

std::optional<std::int64_t> parse_integer(std::string_view text) {
  std::int64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size())
    return std::nullopt;
  return value;
}

std::optional<double> parse_floating(std::string_view text) {
  double value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size())
    return std::nullopt;
  return value;
}

std::weak_ordering compare_doubles(double a, double b) {
  // PostgreSQL sorts NaN above every other value and equal to itself.
  const bool a_nan = std::isnan(a);
  const bool b_nan = std::isnan(b);
  if (a_nan || b_nan)
    return a_nan <=> b_nan;
  return a < b ? std::weak_ordering::less
               : (b < a ? std::weak_ordering::greater : std::weak_ordering::equivalent);
}

std::weak_ordering compare_bytes(std::string_view a, std::string_view b) {
  // char_traits<char> compares as unsigned char, which is what C collation does.
  const int c = a.compare(b);
  return c < 0 ? std::weak_ordering::less
               : (c > 0 ? std::weak_ordering::greater : std::weak_ordering::equivalent);
}

/// Orders parsed cells by value, then unparsable cells after them, bytewise.
template <class Value, class Compare>
std::weak_ordering compare_parsed(const std::optional<Value>& a, const std::optional<Value>& b,
                                  std::string_view a_text, std::string_view b_text,
                                  Compare compare) {
  if (a && b)
    return compare(*a, *b);
  if (a || b)
    return a ? std::weak_ordering::less : std::weak_ordering::greater;
  return compare_bytes(a_text, b_text);
}

std::weak_ordering compare_as_decimals(std::string_view a, std::string_view b) {
  return compare_parsed(parse_decimal(a), parse_decimal(b), a, b, compare_decimals);
}

} // namespace

cell_order order_of(protocol::column_type type) {
  using protocol::column_type;
  switch (type) {
  case column_type::smallint:
  case column_type::integer:
  case column_type::bigint:
    return cell_order::integer;
  case column_type::numeric:
    return cell_order::decimal;
  case column_type::real:
  case column_type::double_precision:
    return cell_order::floating;
  default:
    return cell_order::bytewise;
  }
}

std::weak_ordering compare_cells(std::string_view a, std::string_view b, cell_order order) {
  switch (order) {
  case cell_order::integer: {
    // The fast path; anything int64 can't hold is still compared by value.
    const auto x = parse_integer(a);
    const auto y = parse_integer(b);
    if (x && y)
      return *x <=> *y;
    return compare_as_decimals(a, b);
  }
  case cell_order::decimal:
    return compare_as_decimals(a, b);
  case cell_order::floating:
    return compare_parsed(parse_floating(a), parse_floating(b), a, b, compare_doubles);
  case cell_order::bytewise:
    break;
  }
  return compare_bytes(a, b);
}

} // namespace tidesync::sync
