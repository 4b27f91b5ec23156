#include "config/common.hpp"

#include <charconv>
#include <cstdlib>
#include <limits>

namespace tidesync::config {

namespace {

/// Parses a whole string of decimal digits (no sign, no spaces).
bool parse_digits(std::string_view text, std::uint64_t& out) {
  if (text.empty() || text.front() < '0' || text.front() > '9')
    return false;
  const auto* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, out);
  return ec == std::errc{} && ptr == end;
}

/// Splits "123unit" into the leading digits and the rest.
std::pair<std::string_view, std::string_view> split_number(std::string_view text) {
  std::size_t digits = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9')
    ++digits;
  return {text.substr(0, digits), text.substr(digits)};
}

bool checked_multiply(std::uint64_t value, std::uint64_t factor, std::uint64_t limit,
                      std::uint64_t& out) {
  if (factor != 0 && value > limit / factor)
    return false;
  out = value * factor;
  return true;
}

bool is_letter(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

bool is_environment_name(std::string_view name) {
  if (name.empty() || is_digit(name.front()))
    return false;
  for (char c : name)
    if (!is_letter(c) && !is_digit(c) && c != '_')
      return false;
  return true;
}

bool is_valid_host(std::string_view host) {
  if (host.empty())
    return false;
  for (char c : host)
    if (c == ' ' || c == '\t' || c == '/' || c == '[' || c == ']')
      return false;
  return true;
}

} // namespace

bool parse_host_port(std::string_view text, host_port& out) {
  std::string_view host;
  std::string_view port;
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':')
      return false;
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos)
      return false;
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    // An unbracketed IPv6 address would make the port ambiguous.
    if (host.find(':') != std::string_view::npos)
      return false;
  }
  std::uint64_t number = 0;
  if (!is_valid_host(host) || port.size() > 5 || !parse_digits(port, number) ||
      number > std::numeric_limits<std::uint16_t>::max())
    return false;
  out.host = std::string(host);
  out.port = static_cast<std::uint16_t>(number);
  return true;
}

bool parse_duration(std::string_view text, std::chrono::milliseconds& out) {
  const auto [digits, unit] = split_number(text);
  std::uint64_t value = 0;
  if (!parse_digits(digits, value))
    return false;
  std::uint64_t factor = 0;
  if (unit == "ms")
    factor = 1;
  else if (unit.empty() || unit == "s")
    factor = 1'000;
  else if (unit == "m")
    factor = 60'000;
  else if (unit == "h")
    factor = 3'600'000;
  else
    return false;
  std::uint64_t millis = 0;
  const auto limit = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
  if (!checked_multiply(value, factor, limit, millis))
    return false;
  out = std::chrono::milliseconds(static_cast<std::int64_t>(millis));
  return true;
}

bool parse_byte_size(std::string_view text, std::uint64_t& out) {
  auto [digits, unit] = split_number(text);
  std::uint64_t value = 0;
  if (!parse_digits(digits, value))
    return false;
  if (!unit.empty() && unit.front() == ' ')
    unit.remove_prefix(1);
  int shift = -1;
  if (unit.empty() || unit == "B")
    shift = 0;
  else if (unit == "K" || unit == "KB" || unit == "KiB")
    shift = 10;
  else if (unit == "M" || unit == "MB" || unit == "MiB")
    shift = 20;
  else if (unit == "G" || unit == "GB" || unit == "GiB")
    shift = 30;
  else if (unit == "T" || unit == "TB" || unit == "TiB")
    shift = 40;
  if (shift < 0)
    return false;
  return checked_multiply(value, std::uint64_t{1} << shift,
                          std::numeric_limits<std::uint64_t>::max(), out);
}

bool is_identifier(std::string_view text) {
  if (text.empty() || text.size() > max_identifier_length || is_digit(text.front()))
    return false;
  for (char c : text)
    if (!is_letter(c) && !is_digit(c) && c != '_')
      return false;
  return true;
}

bool expand_environment(std::string& text, std::string& missing) {
  std::string result;
  result.reserve(text.size());
  std::size_t pos = 0;
  while (pos < text.size()) {
    const auto start = text.find("${", pos);
    const auto close = start == std::string::npos ? start : text.find('}', start + 2);
    if (close == std::string::npos) {
      result.append(text, pos, std::string::npos);
      break;
    }
    const std::string name = text.substr(start + 2, close - start - 2);
    result.append(text, pos, start - pos);
    if (!is_environment_name(name)) {
      // Not a variable reference: keep "${" and look again right after it.
      result.append("${");
      pos = start + 2;
      continue;
    }
    const char* value = std::getenv(name.c_str());
    if (value == nullptr) {
      missing = name;
      return false;
    }
    result.append(value);
    pos = close + 1;
  }
  text = std::move(result);
  return true;
}

} // namespace tidesync::config
