#include "protocol/content_digest.hpp"

#include "protocol/error.hpp"
#include "protocol/pg_text_syntax.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <bit>
#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>

namespace tidesync::protocol {

namespace {

enum class cell_tag : char { null = 0, value = 1, unreadable = 2 };

// Encodings are fed to SHA-256 in chunks of about this size.
constexpr std::size_t flush_bytes = 64 * 1024;
constexpr std::size_t single_row_digest_bytes = 16;
constexpr std::int64_t microseconds_per_second = 1'000'000;
constexpr std::int64_t seconds_per_day = 86'400;
using pg_text_syntax::max_numeric_integer_digits;
using pg_text_syntax::max_numeric_scale;
// PostgreSQL refuses exponents from INT_MAX / 2 on, whatever the digits.
constexpr std::int64_t max_numeric_exponent = 1'073'741'823;

void append_le(std::string& out, std::uint64_t value, int bytes) {
  for (int i = 0; i < bytes; ++i)
    out.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
}

void append_value(std::string& out, cell_tag tag, std::string_view bytes) {
  out.push_back(static_cast<char>(tag));
  append_le(out, bytes.size(), 4);
  out.append(bytes);
}

std::string_view le_bytes(std::uint64_t value, int bytes, std::array<char, 8>& buffer) {
  for (int i = 0; i < bytes; ++i)
    buffer[static_cast<std::size_t>(i)] = static_cast<char>((value >> (8 * i)) & 0xff);
  return {buffer.data(), static_cast<std::size_t>(bytes)};
}

template <class Number> bool parse_whole(std::string_view text, Number& value) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  return ec == std::errc{} && end == text.data() + text.size() && !text.empty();
}

template <class Float> std::optional<Float> parse_float(std::string_view text) {
  if (text == "NaN")
    return std::numeric_limits<Float>::quiet_NaN();
  if (text == "Infinity")
    return std::numeric_limits<Float>::infinity();
  if (text == "-Infinity")
    return -std::numeric_limits<Float>::infinity();
  Float value{};
  if (text.empty() || text.front() == '+' || !parse_whole(text, value))
    return std::nullopt;
  return value;
}

template <class Float, class Bits> std::uint64_t float_bits(Float value) {
  if (std::isnan(value))
    value = std::numeric_limits<Float>::quiet_NaN();
  return std::bit_cast<Bits>(value);
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

// Decodes pairs of hex digits, skipping `skip` characters (uuid hyphens).
std::optional<std::string> decode_hex(std::string_view text, char skip) {
  std::string out;
  out.reserve(text.size() / 2);
  int high = -1;
  for (char c : text) {
    if (c == skip && skip != 0)
      continue;
    int digit = hex_digit(c);
    if (digit < 0)
      return std::nullopt;
    if (high < 0) {
      high = digit;
    } else {
      out.push_back(static_cast<char>(high * 16 + digit));
      high = -1;
    }
  }
  if (high >= 0)
    return std::nullopt;
  return out;
}

std::optional<std::string> bytea_bytes(std::string_view text) {
  if (text.size() < 2 || text[0] != '\\' || text[1] != 'x')
    return std::nullopt;
  return decode_hex(text.substr(2), 0);
}

std::optional<std::string> uuid_bytes(std::string_view text) {
  constexpr std::size_t uuid_text_size = 36;
  if (text.size() != uuid_text_size || text[8] != '-' || text[13] != '-' || text[18] != '-' ||
      text[23] != '-')
    return std::nullopt;
  return decode_hex(text, '-');
}

/// Reads a text left to right for the time forms; every reader consumes only on success.
class reader {
public:
  explicit reader(std::string_view text) : text_(text) {}
  bool done() const { return pos_ == text_.size(); }
  bool eat(char c) {
    if (pos_ >= text_.size() || text_[pos_] != c)
      return false;
    ++pos_;
    return true;
  }
  bool eat(std::string_view word) {
    if (text_.substr(pos_, word.size()) != word)
      return false;
    pos_ += word.size();
    return true;
  }
  /// Reads min..max digits; `count` receives how many.
  bool digits(std::size_t min, std::size_t max, std::int64_t& value, std::size_t* count = nullptr) {
    std::size_t n = 0;
    std::int64_t result = 0;
    while (n < max && pos_ + n < text_.size() && text_[pos_ + n] >= '0' && text_[pos_ + n] <= '9')
      result = result * 10 + (text_[pos_ + n++] - '0');
    if (n < min)
      return false;
    pos_ += n;
    value = result;
    if (count != nullptr)
      *count = n;
    return true;
  }

private:
  std::string_view text_;
  std::size_t pos_ = 0;
};

// Days from 1970-01-01 to a proleptic Gregorian date (astronomical year).
std::int64_t days_from_civil(std::int64_t year, std::int64_t month, std::int64_t day) {
  year -= month <= 2 ? 1 : 0;
  auto era = (year >= 0 ? year : year - 399) / 400;
  auto year_of_era = year - era * 400;
  auto day_of_year = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;
  auto day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
  return era * 146097 + day_of_era - 719468;
}

struct date_parts {
  std::int64_t year = 0, month = 0, day = 0;
};

bool read_date(reader& in, date_parts& date) {
  return in.digits(4, 7, date.year) && in.eat('-') && in.digits(2, 2, date.month) &&
         in.eat('-') && in.digits(2, 2, date.day);
}

std::optional<std::int64_t> infinity_value(std::string_view text) {
  if (text == "infinity")
    return std::numeric_limits<std::int64_t>::max();
  if (text == "-infinity")
    return std::numeric_limits<std::int64_t>::min();
  return std::nullopt;
}

std::int64_t astronomical_days(const date_parts& date, bool bc) {
  return days_from_civil(bc ? 1 - date.year : date.year, date.month, date.day);
}

std::optional<std::int64_t> date_days(std::string_view text) {
  // Only what the store takes: a lenient reader would make 2024-02-30 of March 1st.
  if (!pg_text_syntax::is_date(text))
    return std::nullopt;
  if (auto infinite = infinity_value(text))
    return infinite;
  reader in{text};
  date_parts date;
  if (!read_date(in, date))
    return std::nullopt;
  bool bc = in.eat(" BC");
  if (!in.done())
    return std::nullopt;
  return astronomical_days(date, bc);
}

// Seconds east of UTC, from Z or ±HH[:MM[:SS]]; 0 when there is none.
bool read_offset(reader& in, std::int64_t& seconds) {
  seconds = 0;
  if (in.eat('Z'))
    return true;
  int sign = in.eat('+') ? 1 : in.eat('-') ? -1 : 0;
  if (sign == 0)
    return true;
  std::int64_t hours = 0, minutes = 0, secs = 0;
  if (!in.digits(2, 2, hours))
    return false;
  if (in.eat(':') && (!in.digits(2, 2, minutes) || (in.eat(':') && !in.digits(2, 2, secs))))
    return false;
  seconds = sign * (hours * 3600 + minutes * 60 + secs);
  return true;
}

std::string int64_bytes(std::int64_t value) {
  std::string out;
  append_le(out, static_cast<std::uint64_t>(value), 8);
  return out;
}

// Microseconds since the epoch as 8 little-endian bytes. From
// 294247-01-10 04:00:54.775807 UTC on, int64 holds an instant only as its
// maximum (infinity's encoding) or not at all, yet PostgreSQL's range runs on
// to 294276 AD: those instants take 16 bytes, so they meet neither infinity.
std::string instant_bytes(std::int64_t seconds, std::int64_t fraction) {
  constexpr auto last_seconds = std::numeric_limits<std::int64_t>::max() / microseconds_per_second;
  constexpr auto last_fraction = std::numeric_limits<std::int64_t>::max() % microseconds_per_second;
  if (seconds < last_seconds || (seconds == last_seconds && fraction < last_fraction))
    return int64_bytes(seconds * microseconds_per_second + fraction);
  // Below 2^64 while the last year is 294276 (pg_text_syntax's last_timestamp_year).
  std::string out;
  auto micros = static_cast<std::uint64_t>(seconds) * microseconds_per_second +
                static_cast<std::uint64_t>(fraction);
  append_le(out, micros, 8);
  append_le(out, 0, 8);
  return out;
}

std::optional<std::string> timestamp_bytes(std::string_view text, bool with_zone) {
  if (!pg_text_syntax::is_timestamp(text, with_zone))
    return std::nullopt;
  if (auto infinite = infinity_value(text))
    return int64_bytes(*infinite);
  reader in{text};
  date_parts date;
  std::int64_t hour = 0, minute = 0, second = 0, fraction = 0, offset = 0;
  std::size_t fraction_digits = 0;
  if (!read_date(in, date) || !(in.eat(' ') || in.eat('T')) || !in.digits(2, 2, hour) ||
      !in.eat(':') || !in.digits(2, 2, minute) || !in.eat(':') || !in.digits(2, 2, second))
    return std::nullopt;
  if (in.eat('.') && !in.digits(1, 6, fraction, &fraction_digits))
    return std::nullopt;
  for (auto n = fraction_digits; n < 6; ++n)
    fraction *= 10;
  if (!read_offset(in, offset))
    return std::nullopt;
  bool bc = in.eat(" BC");
  if (!in.done())
    return std::nullopt;
  // PostgreSQL reads an offset given to a timestamp without time zone and ignores it.
  if (!with_zone)
    offset = 0;
  auto seconds = astronomical_days(date, bc) * seconds_per_day + hour * 3600 + minute * 60 +
                 second - offset;
  return instant_bytes(seconds, fraction);
}

std::optional<bool> boolean_value(std::string_view text) {
  if (text == "t" || text == "true")
    return true;
  if (text == "f" || text == "false")
    return false;
  return std::nullopt;
}

// The canonical bytes of a non-NULL cell, or nullopt when the text is not a
// value of the type. Integers and floats are written into `buffer`.
std::optional<std::string> canonical_bytes(std::string_view text, column_type type) {
  std::array<char, 8> buffer{};
  auto integer = [&](std::optional<std::int64_t> value) -> std::optional<std::string> {
    if (!value)
      return std::nullopt;
    return std::string{le_bytes(static_cast<std::uint64_t>(*value), 8, buffer)};
  };
  switch (type) {
  case column_type::smallint:
  case column_type::integer:
  case column_type::bigint: {
    std::int64_t value = 0;
    return integer(parse_whole(text, value) ? std::optional{value} : std::nullopt);
  }
  case column_type::real: {
    auto value = parse_float<float>(text);
    if (!value)
      return std::nullopt;
    return std::string{le_bytes(float_bits<float, std::uint32_t>(*value), 4, buffer)};
  }
  case column_type::double_precision: {
    auto value = parse_float<double>(text);
    if (!value)
      return std::nullopt;
    return std::string{le_bytes(float_bits<double, std::uint64_t>(*value), 8, buffer)};
  }
  case column_type::numeric:
    return canonical_numeric(text);
  case column_type::boolean: {
    auto value = boolean_value(text);
    if (!value)
      return std::nullopt;
    return std::string(1, *value ? '\1' : '\0');
  }
  case column_type::bytea:
    return bytea_bytes(text);
  case column_type::uuid:
    return uuid_bytes(text);
  case column_type::date:
    return integer(date_days(text));
  case column_type::timestamp:
    return timestamp_bytes(text, false);
  case column_type::timestamptz:
    return timestamp_bytes(text, true);
  case column_type::text:
  case column_type::json:
  case column_type::jsonb:
    break;
  }
  return std::string{text};
}

struct numeric_parts {
  bool negative = false;
  std::string digits;      // integer and fraction digits together
  std::int64_t scale = 0;  // how many of `digits` follow the point
};

bool equals_ignoring_case(std::string_view a, std::string_view b) {
  if (a.size() != b.size())
    return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; };
    if (lower(a[i]) != lower(b[i]))
      return false;
  }
  return true;
}

// Whether PostgreSQL can store the value (it refuses the rest as overflowing),
// checked before any zeros of an exponent are written out.
bool fits_numeric(const numeric_parts& parts) {
  auto scale = std::max<std::int64_t>(parts.scale, 0);
  if (scale > max_numeric_scale)
    return false;
  auto first = parts.digits.find_first_not_of('0');
  if (first == std::string::npos)
    return true;
  auto significant = static_cast<std::int64_t>(parts.digits.size() - first);
  return significant - parts.scale <= max_numeric_integer_digits;
}

std::optional<numeric_parts> read_numeric(std::string_view text) {
  numeric_parts parts;
  std::size_t i = 0;
  if (i < text.size() && (text[i] == '+' || text[i] == '-'))
    parts.negative = text[i++] == '-';
  std::size_t fraction = 0;
  bool point = false;
  for (; i < text.size(); ++i) {
    char c = text[i];
    if (c >= '0' && c <= '9') {
      parts.digits.push_back(c);
      fraction += point ? 1 : 0;
    } else if (c == '.' && !point) {
      point = true;
    } else {
      break;
    }
  }
  if (parts.digits.empty())
    return std::nullopt;
  std::int64_t exponent = 0;
  if (i < text.size() && (text[i] == 'e' || text[i] == 'E')) {
    ++i;
    bool negative_exponent = i < text.size() && text[i] == '-';
    if (i < text.size() && (text[i] == '+' || text[i] == '-'))
      ++i;
    auto rest = text.substr(i);
    // One sign only: "1e+-5" is not a numeric.
    if (rest.empty() || rest.front() < '0' || rest.front() > '9' ||
        !parse_whole(rest, exponent) || exponent >= max_numeric_exponent)
      return std::nullopt;
    exponent = negative_exponent ? -exponent : exponent;
    i = text.size();
  }
  if (i != text.size())
    return std::nullopt;
  parts.scale = static_cast<std::int64_t>(fraction) - exponent;
  if (!fits_numeric(parts))
    return std::nullopt;
  if (parts.scale < 0) {
    // A zero stays a zero: PostgreSQL takes "0e999999999", and writing out its
    // exponent would take a gigabyte. Other values are bounded by fits_numeric.
    if (parts.digits.find_first_not_of('0') != std::string::npos)
      parts.digits.append(static_cast<std::size_t>(-parts.scale), '0');
    parts.scale = 0;
  }
  return parts;
}

} // namespace

std::optional<std::string> canonical_numeric(std::string_view text) {
  if (equals_ignoring_case(text, "NaN"))
    return "NaN";
  // PostgreSQL reads "inf" as well as "Infinity", with either sign.
  auto unsigned_text = text.substr(!text.empty() && (text[0] == '+' || text[0] == '-') ? 1 : 0);
  if (equals_ignoring_case(unsigned_text, "Infinity") || equals_ignoring_case(unsigned_text, "inf"))
    return text.front() == '-' ? "-Infinity" : "Infinity";
  auto parts = read_numeric(text);
  if (!parts)
    return std::nullopt;
  auto scale = static_cast<std::size_t>(parts->scale);
  auto& digits = parts->digits;
  if (digits.size() <= scale)
    digits.insert(0, scale + 1 - digits.size(), '0');
  auto integer_end = digits.size() - scale;
  auto first = digits.find_first_not_of('0');
  auto integer_start = std::min(first == std::string::npos ? integer_end : first, integer_end - 1);
  bool zero = first == std::string::npos;
  std::string out = parts->negative && !zero ? "-" : "";
  out.append(digits, integer_start, integer_end - integer_start);
  if (scale > 0) {
    out.push_back('.');
    out.append(digits, integer_end, scale);
  }
  return out;
}

void append_canonical_cell(std::string& out, std::optional<std::string_view> pg_text,
                           column_type type) {
  if (!pg_text) {
    out.push_back(static_cast<char>(cell_tag::null));
    return;
  }
  if (type == column_type::text || type == column_type::json || type == column_type::jsonb) {
    append_value(out, cell_tag::value, *pg_text);
    return;
  }
  if (auto bytes = canonical_bytes(*pg_text, type))
    append_value(out, cell_tag::value, *bytes);
  else
    append_value(out, cell_tag::unreadable, *pg_text);
}

struct row_digest::state {
  EVP_MD_CTX* context = EVP_MD_CTX_new();

  state() { reset(); }
  ~state() { EVP_MD_CTX_free(context); }
  void reset() {
    if (context == nullptr || EVP_DigestInit_ex(context, EVP_sha256(), nullptr) != 1)
      throw api_error(error_code::internal, "SHA-256 is not available");
  }
};

row_digest::row_digest() : state_(std::make_unique<state>()) {}
row_digest::~row_digest() = default;
row_digest::row_digest(row_digest&&) noexcept = default;
row_digest& row_digest::operator=(row_digest&&) noexcept = default;

void row_digest::add_cell(std::optional<std::string_view> pg_text, column_type type) {
  append_canonical_cell(buffer_, pg_text, type);
}

void row_digest::end_row() {
  ++rows_;
  if (buffer_.size() >= flush_bytes)
    flush();
}

void row_digest::flush() {
  if (!buffer_.empty())
    EVP_DigestUpdate(state_->context, buffer_.data(), buffer_.size());
  buffer_.clear();
}

std::string row_digest::finish() {
  flush();
  std::array<unsigned char, EVP_MAX_MD_SIZE> hash{};
  unsigned int size = 0;
  EVP_DigestFinal_ex(state_->context, hash.data(), &size);
  state_->reset();
  rows_ = 0;
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < size && i < range_digest_bytes; ++i) {
    out.push_back(hex[hash[i] >> 4]);
    out.push_back(hex[hash[i] & 0x0f]);
  }
  return out;
}

std::string single_row_digest(std::span<const std::optional<std::string_view>> cells,
                              std::span<const column_type> types) {
  row_digest digest;
  for (std::size_t i = 0; i < cells.size() && i < types.size(); ++i)
    digest.add_cell(cells[i], types[i]);
  digest.end_row();
  return digest.finish().substr(0, 2 * single_row_digest_bytes);
}

std::string canonical_key(std::span<const std::optional<std::string_view>> cells,
                          std::span<const column_type> types) {
  std::string out;
  for (std::size_t i = 0; i < cells.size() && i < types.size(); ++i)
    append_canonical_cell(out, cells[i], types[i]);
  return out;
}

} // namespace tidesync::protocol
