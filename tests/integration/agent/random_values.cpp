#include "tests/integration/agent/random_values.hpp"

#include <array>
#include <bit>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <limits>

namespace tidesync::testing {

namespace {

// Astronomical years (0 is 1 BC) the dates and timestamps are drawn from.
constexpr std::int64_t first_year = -4700;
constexpr std::int64_t last_date_year = 20000;
constexpr std::int64_t last_timestamp_year = 200000;
constexpr std::uint32_t last_code_point = 0x10FFFF;

bool is_leap(std::int64_t year) {
  return year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
}

int days_in_month(std::int64_t year, int month) {
  constexpr std::array<int, 12> days{31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return month == 2 && is_leap(year) ? 29 : days[static_cast<std::size_t>(month - 1)];
}

void append_utf8(std::string& out, std::uint32_t c) {
  if (c < 0x80) {
    out.push_back(static_cast<char>(c));
  } else if (c < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (c >> 6)));
    out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else if (c < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (c >> 12)));
    out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (c >> 18)));
    out.push_back(static_cast<char>(0x80 | ((c >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
  }
}

// `text` as a JSON string literal; control characters as \u00XX.
std::string json_string(const std::string& text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(c);
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char escape[8];
      std::snprintf(escape, sizeof escape, "\\u%04x", static_cast<unsigned>(c));
      out += escape;
    } else {
      out.push_back(c);
    }
  }
  return out + "\"";
}

template <class Float> std::string shortest_text(Float value) {
  if (std::isnan(value))
    return "NaN";
  if (std::isinf(value))
    return value > 0 ? "Infinity" : "-Infinity";
  char buffer[64];
  auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value);
  return {buffer, end};
}

template <class Bits> std::string hex_bits(Bits bits) {
  std::string out;
  for (int shift = static_cast<int>(sizeof(Bits)) * 8 - 8; shift >= 0; shift -= 8)
    out += hex_of(std::string(1, static_cast<char>((bits >> shift) & 0xFF)));
  return out;
}

} // namespace

bool random_values::chance(double p) {
  return std::uniform_real_distribution<double>(0, 1)(engine_) < p;
}

std::int64_t random_values::between(std::int64_t lo, std::int64_t hi) {
  return std::uniform_int_distribution<std::int64_t>(lo, hi)(engine_);
}

std::int64_t random_values::integer(int bits) {
  auto max =
      bits == 64 ? std::numeric_limits<std::int64_t>::max() : (std::int64_t{1} << (bits - 1)) - 1;
  auto min = -max - 1;
  switch (between(0, 9)) {
  case 0:
    return chance(0.5) ? min : max;
  case 1:
    return between(-2, 2) + (chance(0.5) ? min + 2 : max - 2);
  case 2:
    return between(-1000, 1000);
  default:
    return between(min, max);
  }
}

std::string random_values::decimal_digits(std::size_t count) {
  std::string out;
  for (std::size_t i = 0; i < count; ++i)
    out.push_back(static_cast<char>('0' + between(0, 9)));
  return out;
}

std::string random_values::numeric_text() {
  if (chance(0.03)) {
    constexpr std::array<const char*, 3> specials{"NaN", "Infinity", "-Infinity"};
    return specials[static_cast<std::size_t>(between(0, 2))];
  }
  auto whole = decimal_digits(static_cast<std::size_t>(between(0, 30)));
  whole.erase(0, whole.find_first_not_of('0'));
  auto fraction = decimal_digits(static_cast<std::size_t>(between(0, 20)));
  auto text = (whole.empty() ? "0" : whole) + (fraction.empty() ? "" : "." + fraction);
  bool zero = text.find_first_not_of("0.") == std::string::npos;
  return (!zero && chance(0.5) ? "-" : "") + text;
}

double random_values::any_double() {
  const std::array<double, 14> edges{0.0,
                                     -0.0,
                                     std::numeric_limits<double>::infinity(),
                                     -std::numeric_limits<double>::infinity(),
                                     std::numeric_limits<double>::quiet_NaN(),
                                     std::numeric_limits<double>::max(),
                                     -std::numeric_limits<double>::max(),
                                     std::numeric_limits<double>::min(),
                                     std::numeric_limits<double>::denorm_min(),
                                     -std::numeric_limits<double>::denorm_min(),
                                     std::nextafter(std::numeric_limits<double>::min(), 0.0),
                                     90.33333333333333,
                                     1044227.8738926059,
                                     2.2345442730765653e-07};
  auto pick = between(0, 9);
  if (pick == 0)
    return edges[static_cast<std::size_t>(between(0, edges.size() - 1))];
  if (pick <= 3) // a short decimal, as applications store them
    return static_cast<double>(between(-1'000'000'000, 1'000'000'000)) /
           std::pow(10.0, static_cast<double>(between(0, 12)));
  return std::bit_cast<double>(bits());
}

float random_values::any_float() {
  const std::array<float, 11> edges{0.0f,
                                    -0.0f,
                                    std::numeric_limits<float>::infinity(),
                                    -std::numeric_limits<float>::infinity(),
                                    std::numeric_limits<float>::quiet_NaN(),
                                    std::numeric_limits<float>::max(),
                                    -std::numeric_limits<float>::max(),
                                    std::numeric_limits<float>::min(),
                                    std::numeric_limits<float>::denorm_min(),
                                    -std::numeric_limits<float>::denorm_min(),
                                    std::nextafter(std::numeric_limits<float>::min(), 0.0f)};
  auto pick = between(0, 9);
  if (pick == 0)
    return edges[static_cast<std::size_t>(between(0, edges.size() - 1))];
  if (pick <= 3)
    return static_cast<float>(between(-10'000'000, 10'000'000)) /
           static_cast<float>(std::pow(10.0, static_cast<double>(between(0, 8))));
  return std::bit_cast<float>(static_cast<std::uint32_t>(bits()));
}

std::string random_values::utf8_text() {
  constexpr std::string_view special = "\t\n\r\\\"'|,; {}[]";
  std::string out;
  auto length = between(0, 24);
  for (std::int64_t i = 0; i < length; ++i) {
    std::uint32_t c = 0;
    switch (between(0, 3)) {
    case 0:
      c = static_cast<unsigned char>(
          special[static_cast<std::size_t>(between(0, special.size() - 1))]);
      break;
    case 1:
      c = static_cast<std::uint32_t>(between(1, 0x7F));
      break;
    default: // any plane, surrogates excluded
      do
        c = static_cast<std::uint32_t>(between(1, last_code_point));
      while (c >= 0xD800 && c <= 0xDFFF);
    }
    append_utf8(out, c);
  }
  return out;
}

std::string random_values::bytes() {
  std::string out;
  auto length = between(0, 40);
  for (std::int64_t i = 0; i < length; ++i)
    out.push_back(static_cast<char>(between(0, 255)));
  return out;
}

std::string random_values::date_text() {
  auto year = between(first_year, last_date_year);
  auto month = static_cast<int>(between(1, 12));
  auto day = between(1, days_in_month(year, month));
  auto shown = year > 0 ? year : 1 - year;
  char text[40];
  std::snprintf(text, sizeof text, "%04lld-%02d-%02lld", static_cast<long long>(shown), month,
                static_cast<long long>(day));
  return year > 0 ? std::string(text) : std::string(text) + " BC";
}

std::string random_values::timestamp_text(bool zone) {
  auto year = between(first_year, last_timestamp_year);
  auto month = static_cast<int>(between(1, 12));
  auto day = between(1, days_in_month(year, month));
  auto shown = year > 0 ? year : 1 - year;
  char text[80];
  std::snprintf(text, sizeof text, "%04lld-%02d-%02lld %02lld:%02lld:%02lld",
                static_cast<long long>(shown), month, static_cast<long long>(day),
                static_cast<long long>(between(0, 23)), static_cast<long long>(between(0, 59)),
                static_cast<long long>(between(0, 59)));
  std::string out = text;
  if (!chance(0.2)) {
    std::snprintf(text, sizeof text, ".%06lld", static_cast<long long>(between(0, 999999)));
    std::string fraction = text;
    fraction.erase(fraction.find_last_not_of('0') + 1);
    out += fraction == "." ? "" : fraction;
  }
  if (zone)
    out += "+00";
  return year > 0 ? out : out + " BC";
}

std::string random_values::uuid_text() {
  auto text = hex_bits(bits()) + hex_bits(bits());
  for (std::size_t dash : {8, 13, 18, 23})
    text.insert(dash, "-");
  return text;
}

std::string random_values::json_text() {
  auto number = exact_text(any_double());
  if (number == "NaN" || number.find("Infinity") != std::string::npos)
    number = "1." + decimal_digits(30) + "e-300";
  auto big = "-1" + decimal_digits(40) + "." + decimal_digits(20) + "0";
  return "{\"n\": " + number + ", \"big\": " + big + ", \"s\": " + json_string(utf8_text()) +
         ",\n \"a\" : [true, null, -0, 1E-7, {}]}";
}

std::string exact_text(double value) {
  return shortest_text(value);
}
std::string exact_text(float value) {
  return shortest_text(value);
}

std::string bits_hex(double value) {
  return hex_bits(std::bit_cast<std::uint64_t>(value));
}
std::string bits_hex(float value) {
  return hex_bits(std::bit_cast<std::uint32_t>(value));
}

std::string hex_of(const std::string& bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char byte : bytes) {
    out.push_back(digits[byte >> 4]);
    out.push_back(digits[byte & 0x0F]);
  }
  return out;
}

} // namespace tidesync::testing
