#include "protocol/pg_text_syntax.hpp"

#include <boost/json/basic_parser_impl.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>

namespace tidesync::protocol::pg_text_syntax {

namespace {

constexpr std::size_t max_fraction_digits = 6; // PostgreSQL keeps microseconds
constexpr int max_offset_hours = 15;           // PostgreSQL's limit for UTC offsets
// PostgreSQL's calendar starts at 4714-11-24 BC and ends in these years.
constexpr std::int64_t first_bc_year = 4714;
constexpr std::int64_t last_date_year = 5874897;
constexpr std::int64_t last_timestamp_year = 294276;

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

bool is_hex(char c) {
  return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

bool equals_ignoring_case(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; };
           return lower(x) == lower(y);
         });
}

/// Reads a text left to right; every reader consumes only on success.
class cursor {
public:
  explicit cursor(std::string_view text) : text_(text) {}

  bool done() const { return pos_ == text_.size(); }

  bool peek(char c) const { return pos_ < text_.size() && text_[pos_] == c; }

  bool eat(char c) {
    if (!peek(c))
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

  /// Reads min..max digits into `value`; returns how many were read (0 on failure).
  std::size_t digits(std::size_t min, std::size_t max, std::int64_t& value) {
    std::size_t count = 0;
    std::int64_t result = 0;
    while (count < max && pos_ + count < text_.size() && is_digit(text_[pos_ + count])) {
      result = result * 10 + (text_[pos_ + count] - '0');
      ++count;
    }
    if (count < min)
      return 0;
    pos_ += count;
    value = result;
    return count;
  }

  /// Reads any number of digits; returns how many.
  std::size_t digit_run() {
    auto start = pos_;
    while (pos_ < text_.size() && is_digit(text_[pos_]))
      ++pos_;
    return pos_ - start;
  }

  std::size_t position() const { return pos_; }

  /// Reads exactly two digits no greater than `max`.
  bool two_digits(std::int64_t max, std::int64_t& value) {
    return digits(2, 2, value) == 2 && value <= max;
  }

private:
  std::string_view text_;
  std::size_t pos_ = 0;
};

struct calendar_date {
  std::int64_t year = 0;
  std::int64_t month = 0;
  std::int64_t day = 0;
};

bool read_date(cursor& in, calendar_date& date) {
  return in.digits(4, 7, date.year) != 0 && in.eat('-') && in.two_digits(12, date.month) &&
         in.eat('-') && in.two_digits(31, date.day);
}

bool is_leap(std::int64_t astronomical_year) {
  auto y = astronomical_year;
  return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

bool is_in_range(const calendar_date& date, bool bc, std::int64_t last_year) {
  if (!bc)
    return date.year <= last_year;
  if (date.year != first_bc_year)
    return date.year < first_bc_year;
  return date.month > 11 || (date.month == 11 && date.day >= 24);
}

// Checks the day against its month; BC years count astronomically (1 BC is year 0).
bool is_calendar_day(const calendar_date& date, bool bc, std::int64_t last_year) {
  constexpr std::int64_t days_in_month[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (date.year == 0 || date.month == 0 || date.day == 0)
    return false;
  if (!is_in_range(date, bc, last_year))
    return false;
  auto year = bc ? 1 - date.year : date.year;
  auto days = days_in_month[date.month - 1] + (date.month == 2 && is_leap(year) ? 1 : 0);
  return date.day <= days;
}

bool read_time(cursor& in) {
  std::int64_t hour = 0, minute = 0, second = 0, fraction = 0;
  if (!in.two_digits(23, hour) || !in.eat(':') || !in.two_digits(59, minute) || !in.eat(':') ||
      !in.two_digits(59, second))
    return false;
  return !in.eat('.') || in.digits(1, max_fraction_digits, fraction) != 0;
}

bool read_offset(cursor& in) {
  if (in.eat('Z'))
    return true;
  if (!in.eat('+') && !in.eat('-'))
    return true; // the offset is optional
  std::int64_t hours = 0, minutes = 0, seconds = 0;
  if (!in.two_digits(max_offset_hours, hours))
    return false;
  if (!in.eat(':'))
    return true;
  if (!in.two_digits(59, minutes))
    return false;
  return !in.eat(':') || in.two_digits(59, seconds);
}

// How many continuation bytes follow a UTF-8 lead byte; -1 if it cannot lead.
int utf8_continuation_bytes(unsigned char byte) {
  if (byte < 0x80)
    return 0;
  if (byte >= 0xC2 && byte <= 0xDF)
    return 1;
  if (byte >= 0xE0 && byte <= 0xEF)
    return 2;
  if (byte >= 0xF0 && byte <= 0xF4)
    return 3;
  return -1;
}

// Whether numeric can hold the value of `mantissa` (digits and a point) × 10^exponent:
// its scale, and its digits before the point but for leading zeros, within
// PostgreSQL's limits. A zero fits with any exponent.
bool fits_numeric(std::string_view mantissa, std::int64_t fraction_digits, std::int64_t exponent) {
  if (fraction_digits - exponent > max_numeric_scale)
    return false;
  auto first = mantissa.find_first_not_of("0.");
  if (first == std::string_view::npos)
    return true;
  auto significant = mantissa.substr(first);
  auto significant_digits = static_cast<std::int64_t>(
      significant.size() - (significant.find('.') == std::string_view::npos ? 0 : 1));
  return significant_digits - (fraction_digits - exponent) <= max_numeric_integer_digits;
}

bool is_infinity(std::string_view text) {
  return text == "infinity" || text == "-infinity";
}

/// basic_parser events for check_json_document: nothing is built; strings
/// and keys are only looked at for NUL.
struct nul_finding_handler {
  static constexpr std::size_t max_object_size = std::size_t(-1);
  static constexpr std::size_t max_array_size = std::size_t(-1);
  static constexpr std::size_t max_key_size = std::size_t(-1);
  static constexpr std::size_t max_string_size = std::size_t(-1);

  using error_code = boost::json::error_code;
  using piece = boost::json::string_view;

  bool holds_nul = false;

  bool note(piece text) {
    holds_nul = holds_nul || text.find('\0') != piece::npos;
    return true;
  }
  bool on_document_begin(error_code&) { return true; }
  bool on_document_end(error_code&) { return true; }
  bool on_array_begin(error_code&) { return true; }
  bool on_array_end(std::size_t, error_code&) { return true; }
  bool on_object_begin(error_code&) { return true; }
  bool on_object_end(std::size_t, error_code&) { return true; }
  bool on_string_part(piece text, std::size_t, error_code&) { return note(text); }
  bool on_string(piece text, std::size_t, error_code&) { return note(text); }
  bool on_key_part(piece text, std::size_t, error_code&) { return note(text); }
  bool on_key(piece text, std::size_t, error_code&) { return note(text); }
  bool on_number_part(piece, error_code&) { return true; }
  bool on_int64(std::int64_t, piece, error_code&) { return true; }
  bool on_uint64(std::uint64_t, piece, error_code&) { return true; }
  bool on_double(double, piece, error_code&) { return true; }
  bool on_bool(bool, error_code&) { return true; }
  bool on_null(error_code&) { return true; }
  bool on_comment_part(piece, error_code&) { return true; }
  bool on_comment(piece, error_code&) { return true; }
};

} // namespace

bool is_valid_text(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size()) {
    auto byte = static_cast<unsigned char>(text[i]);
    if (byte == 0)
      return false;
    auto extra = utf8_continuation_bytes(byte);
    if (extra < 0 || text.size() - i <= static_cast<std::size_t>(extra))
      return false;
    std::uint32_t code = extra == 0 ? byte : byte & (0x3F >> extra);
    for (int k = 1; k <= extra; ++k) {
      auto next = static_cast<unsigned char>(text[i + k]);
      if ((next & 0xC0) != 0x80)
        return false;
      code = (code << 6) | (next & 0x3F);
    }
    // Overlong forms, UTF-16 surrogates and values past U+10FFFF are not UTF-8.
    if ((extra == 2 && (code < 0x800 || (code >= 0xD800 && code <= 0xDFFF))) ||
        (extra == 3 && (code < 0x10000 || code > 0x10FFFF)))
      return false;
    i += static_cast<std::size_t>(extra) + 1;
  }
  return true;
}

bool is_numeric(std::string_view text) {
  if (equals_ignoring_case(text, "nan") || equals_ignoring_case(text, "infinity") ||
      equals_ignoring_case(text, "-infinity") || equals_ignoring_case(text, "+infinity"))
    return true;
  cursor in(text);
  if (!in.eat('-'))
    in.eat('+');
  auto mantissa_start = in.position();
  auto integer_digits = in.digit_run();
  auto fraction_digits = in.eat('.') ? in.digit_run() : 0;
  if (integer_digits + fraction_digits == 0)
    return false;
  auto mantissa = text.substr(mantissa_start, in.position() - mantissa_start);
  std::int64_t exponent = 0;
  if (in.eat('e') || in.eat('E')) {
    bool negative = in.eat('-');
    if (!negative)
      in.eat('+');
    if (in.digits(1, 9, exponent) == 0)
      return false;
    exponent = negative ? -exponent : exponent;
  }
  return in.done() && fits_numeric(mantissa, static_cast<std::int64_t>(fraction_digits), exponent);
}

bool is_bytea_hex(std::string_view text) {
  if (text.size() < 2 || text[0] != '\\' || text[1] != 'x' || text.size() % 2 != 0)
    return false;
  return std::all_of(text.begin() + 2, text.end(), is_hex);
}

bool is_uuid(std::string_view text) {
  constexpr std::size_t uuid_length = 36;
  if (text.size() != uuid_length)
    return false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    bool dash_position = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash_position ? text[i] != '-' : !is_hex(text[i]))
      return false;
  }
  return true;
}

bool is_date(std::string_view text) {
  if (is_infinity(text))
    return true;
  cursor in(text);
  calendar_date date;
  if (!read_date(in, date))
    return false;
  bool bc = in.eat(" BC");
  return in.done() && is_calendar_day(date, bc, last_date_year);
}

bool is_timestamp(std::string_view text, bool offset_allowed) {
  if (is_infinity(text))
    return true;
  cursor in(text);
  calendar_date date;
  if (!read_date(in, date) || !(in.eat('T') || in.eat(' ')) || !read_time(in))
    return false;
  if (offset_allowed && !read_offset(in))
    return false;
  bool bc = in.eat(" BC");
  return in.done() && is_calendar_day(date, bc, last_timestamp_year);
}

json_document check_json_document(std::string_view text) {
  // Default options, as boost::json::parse reads a document.
  boost::json::basic_parser<nul_finding_handler> parser{boost::json::parse_options{}};
  boost::json::error_code ec;
  auto used = parser.write_some(false, text.data(), text.size(), ec);
  if (ec || used != text.size())
    return json_document::invalid;
  return parser.handler().holds_nul ? json_document::holds_nul : json_document::valid;
}

} // namespace tidesync::protocol::pg_text_syntax
