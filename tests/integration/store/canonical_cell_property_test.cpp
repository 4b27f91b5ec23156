// The invariant content digests rest on, checked against a real PostgreSQL:
// for every text a source may produce for a column type, the canonical
// encoding of that text equals the canonical encoding of what PostgreSQL
// prints after the text went over the wire and was stored in a column of
// that type. Otherwise a table never verifies identical.
#include "protocol/content_digest.hpp"

#include "protocol/cell_codec.hpp"
#include "protocol/error.hpp"
#include "protocol/json_parse.hpp"
#include "storage/sqlite_source.hpp"
#include "tests/support/test_database.hpp"

#include <boost/json/serialize.hpp>
#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <limits>
#include <optional>
#include <random>
#include <string>
#include <vector>

namespace tidesync::storage::testing {
namespace {

using protocol::column_type;

constexpr std::size_t texts_per_type = 10'000;

std::string encode(std::string_view text, column_type type) {
  std::string out;
  protocol::append_canonical_cell(out, text, type);
  return out;
}

// What the server would store for a source's text: the agent's wire cell,
// serialised, parsed as the server parses bodies, checked by the codec.
// nullopt when the agent or the server would refuse the cell.
std::optional<std::string> through_the_wire(const std::string& text, column_type type) {
  try {
    auto cell = protocol::cell_from_pg_text(text, type);
    auto body = protocol::parse_json_exact("[" + boost::json::serialize(cell) + "]");
    return protocol::cell_to_pg_text(body.as_array().at(0), type);
  } catch (const protocol::api_error&) {
    return std::nullopt;
  }
}

std::string array_literal(const std::vector<std::string>& texts) {
  std::string out = "{";
  for (const auto& text : texts) {
    if (out.size() > 1)
      out += ',';
    out += '"';
    for (char c : text) {
      if (c == '"' || c == '\\')
        out += '\\';
      out += c;
    }
    out += '"';
  }
  return out + "}";
}

struct stored_text {
  std::string source;                // what the site's source printed
  std::optional<std::string> input;  // what the server handed PostgreSQL
  std::optional<std::string> output; // what PostgreSQL printed back; nullopt: it refused
};

class canonical_cell_property : public ::testing::Test {
protected:
  canonical_cell_property() : connection_(database_.url()) {
    pqxx::nontransaction tx{connection_};
    // The store's session (storage/store_connection.cpp).
    tx.exec("SET TimeZone = 'UTC'; SET DateStyle = 'ISO, YMD'; SET extra_float_digits = 1;"
            " SET bytea_output = 'hex'");
  }

  /// Stores every text in a column of `type` and reads PostgreSQL's text back.
  std::vector<stored_text> store(const std::vector<std::string>& sources, column_type type) {
    std::vector<stored_text> out;
    std::vector<std::string> inputs;
    for (const auto& source : sources) {
      auto input = through_the_wire(source, type);
      if (!input)
        continue;
      out.push_back({source, input, std::nullopt});
      inputs.push_back(*input);
    }
    auto sql_type = std::string(protocol::type_name(type));
    pqxx::work tx{connection_};
    tx.exec0("CREATE TABLE probe (i integer PRIMARY KEY, v " + sql_type + ")");
    // A value PostgreSQL refuses becomes NULL instead of ending the batch.
    tx.exec0("CREATE FUNCTION pg_temp.try_cast(t text) RETURNS " + sql_type +
             " LANGUAGE plpgsql AS $$ BEGIN RETURN t::" + sql_type +
             "; EXCEPTION WHEN others THEN RETURN NULL; END $$");
    tx.exec_params0("INSERT INTO probe SELECT i, pg_temp.try_cast(t) "
                    "FROM unnest($1::text[]) WITH ORDINALITY AS u(t, i)",
                    array_literal(inputs));
    for (const auto& row : tx.exec("SELECT i, v FROM probe ORDER BY i")) {
      auto& entry = out.at(row[0].as<std::size_t>() - 1);
      if (!row[1].is_null())
        entry.output = row[1].c_str();
    }
    tx.abort();
    return out;
  }

  /// Checks the invariant for every text; returns how many PostgreSQL stored.
  std::size_t expect_canonical_forms_agree(const std::vector<std::string>& sources, column_type type) {
    EXPECT_GE(sources.size(), texts_per_type);
    std::size_t stored = 0, refused = 0, failures = 0;
    for (const auto& entry : store(sources, type)) {
      if (!entry.output) {
        ++refused;
        continue;
      }
      ++stored;
      auto expected = encode(*entry.output, type);
      if (encode(entry.source, type) != expected || encode(*entry.input, type) != expected) {
        if (++failures <= 10)
          ADD_FAILURE() << protocol::type_name(type) << ": source \"" << entry.source
                        << "\", sent \"" << *entry.input << "\", PostgreSQL printed \""
                        << *entry.output << '"';
      }
      EXPECT_EQ(encode(*entry.output, type).at(0), 1)
          << "PostgreSQL's own text is unreadable: " << *entry.output;
    }
    EXPECT_EQ(failures, 0u) << protocol::type_name(type);
    RecordProperty(std::string(protocol::type_name(type)) + "_refused_by_postgresql",
                   static_cast<int>(refused));
    return stored;
  }

  std::mt19937_64 random_{0x7469646573796e63};  // "tidesync"

  std::int64_t between(std::int64_t low, std::int64_t high) {
    return std::uniform_int_distribution<std::int64_t>{low, high}(random_);
  }
  bool coin() { return between(0, 1) == 1; }
  template <class T> T pick(const std::vector<T>& options) {
    return options[static_cast<std::size_t>(between(0, static_cast<std::int64_t>(options.size()) - 1))];
  }
  std::string digits(std::int64_t count) {
    std::string out;
    for (std::int64_t i = 0; i < count; ++i)
      out.push_back(static_cast<char>('0' + between(0, 9)));
    return out;
  }

  tidesync::testing::test_database database_;
  pqxx::connection connection_;
};

template <class Number> std::string shortest(Number value) {
  char buffer[64];
  auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value);
  return {buffer, end};
}

template <class Number> std::string formatted(Number value, std::chars_format format) {
  char buffer[512];
  auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value, format);
  return {buffer, end};
}

// Civil date of a day count from 1970-01-01 (astronomical years).
struct civil {
  std::int64_t year, month, day;
};

civil civil_from_days(std::int64_t days) {
  days += 719468;
  auto era = (days >= 0 ? days : days - 146096) / 146097;
  auto day_of_era = days - era * 146097;
  auto year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36524 - day_of_era / 146096) / 365;
  auto day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
  auto mp = (5 * day_of_year + 2) / 153;
  auto day = day_of_year - (153 * mp + 2) / 5 + 1;
  auto month = mp < 10 ? mp + 3 : mp - 9;
  return {year_of_era + era * 400 + (month <= 2 ? 1 : 0), month, day};
}

std::int64_t days_from_civil(std::int64_t year, std::int64_t month, std::int64_t day) {
  year -= month <= 2 ? 1 : 0;
  auto era = (year >= 0 ? year : year - 399) / 400;
  auto year_of_era = year - era * 400;
  auto day_of_year = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;
  return era * 146097 + year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year -
         719468;
}

const std::int64_t first_day = days_from_civil(-4713, 11, 24);
const std::int64_t last_date_day = days_from_civil(5874897, 12, 31);
const std::int64_t last_timestamp_day = days_from_civil(294276, 12, 31);

std::string padded(std::int64_t value, int width) {
  auto text = std::to_string(value);
  auto width_bytes = static_cast<std::size_t>(width);
  return std::string(text.size() < width_bytes ? width_bytes - text.size() : 0, '0') + text;
}

TEST_F(canonical_cell_property, IntegersAgreeWithPostgresql) {
  for (auto [type, low, high] :
       std::vector<std::tuple<column_type, std::int64_t, std::int64_t>>{
           {column_type::smallint, -32768, 32767},
           {column_type::integer, std::numeric_limits<std::int32_t>::min(),
            std::numeric_limits<std::int32_t>::max()},
           {column_type::bigint, std::numeric_limits<std::int64_t>::min(),
            std::numeric_limits<std::int64_t>::max()}}) {
    std::vector<std::string> texts{std::to_string(low), std::to_string(high), "0", "-1"};
    while (texts.size() < texts_per_type)
      texts.push_back(std::to_string(between(low, high)));
    EXPECT_EQ(expect_canonical_forms_agree(texts, type), texts_per_type);
  }
}

TEST_F(canonical_cell_property, NumericSpellingsAgreeWithPostgresql) {
  std::vector<std::string> texts{"NaN",      "nan",      "Infinity", "-Infinity", "+Infinity",
                                 "infinity", "-0",       "-0.00",    "+007",      ".5",
                                 "5.",       "1.50e1",   "1e1000",   "1e-16383",  "1e-16384",
                                 "1e131071", "1e131072", "9.9e131071", "-0e5",    "0.000e-3",
                                 "1E+2",     "12.50"};
  while (texts.size() < 2 * texts_per_type) {
    switch (between(0, 4)) {
    case 0: { // as PostgreSQL prints a numeric: sign, integer digits, scale kept
      auto text = std::string(coin() ? "-" : "") + digits(between(1, 30));
      if (coin())
        text += "." + digits(between(1, 30));
      texts.push_back(text);
      break;
    }
    case 1: { // what the codec also takes: leading zeros, '+', bare point, exponents
      std::string text = pick<std::string>({"", "+", "-"}) + digits(between(0, 20));
      if (coin())
        text += "." + digits(between(0, 20));
      if (text.find_first_of("0123456789") == std::string::npos)
        text += "0";
      if (coin())
        text += pick<std::string>({"e", "E"}) + pick<std::string>({"", "+", "-"}) +
                std::to_string(between(0, 400));
      texts.push_back(text);
      break;
    }
    case 2: { // a SQLite INTEGER in a numeric column
      texts.push_back(std::to_string(static_cast<std::int64_t>(random_())));
      break;
    }
    default: { // a SQLite REAL in a numeric column (storage::pg_double_text)
      double value = 0;
      auto bits = random_();
      std::memcpy(&value, &bits, sizeof value);
      if (coin())
        value = std::uniform_real_distribution<double>{-1e7, 1e7}(random_);
      texts.push_back(pg_double_text(value));
    }
    }
  }
  expect_canonical_forms_agree(texts, column_type::numeric);
}

TEST_F(canonical_cell_property, RealSpellingsAgreeWithPostgresql) {
  using limits = std::numeric_limits<float>;
  std::vector<std::string> texts{"NaN", "Infinity", "-Infinity", "0", "-0",
                                 shortest(limits::max()), shortest(-limits::max()),
                                 shortest(limits::min()), shortest(limits::denorm_min()),
                                 shortest(-limits::denorm_min()), "1e-45", "3.4028235e+38",
                                 "1.1754944e-38"};
  while (texts.size() < texts_per_type) {
    float value = 0;
    auto bits = static_cast<std::uint32_t>(random_());
    std::memcpy(&value, &bits, sizeof value);
    if (between(0, 3) == 0)
      value = std::uniform_real_distribution<float>{-1e6f, 1e6f}(random_);
    if (std::isnan(value))
      continue;
    // PostgreSQL sources print the shortest text, in either notation.
    texts.push_back(coin() ? shortest(value) : formatted(value, std::chars_format::scientific));
  }
  EXPECT_EQ(expect_canonical_forms_agree(texts, column_type::real), texts.size());
}

TEST_F(canonical_cell_property, DoubleSpellingsAgreeWithPostgresql) {
  using limits = std::numeric_limits<double>;
  std::vector<std::string> texts{"NaN", "Infinity", "-Infinity", "0", "-0",
                                 shortest(limits::max()), shortest(-limits::max()),
                                 shortest(limits::min()), shortest(limits::denorm_min()),
                                 "5e-324", "1.7976931348623157e+308", "123456.78901234567"};
  while (texts.size() < 2 * texts_per_type) {
    double value = 0;
    auto bits = random_();
    std::memcpy(&value, &bits, sizeof value);
    if (coin())
      value = std::uniform_real_distribution<double>{-1e6, 1e6}(random_);
    if (std::isnan(value))
      continue;
    // SQLite sources print as storage::pg_double_text; PostgreSQL ones the shortest text.
    texts.push_back(coin() ? pg_double_text(value) : shortest(value));
  }
  EXPECT_EQ(expect_canonical_forms_agree(texts, column_type::double_precision), texts.size());
}

TEST_F(canonical_cell_property, BooleanTextAndBinarySpellingsAgreeWithPostgresql) {
  std::vector<std::string> booleans;
  while (booleans.size() < texts_per_type)
    booleans.push_back(pick<std::string>({"t", "f", "true", "false"}));
  EXPECT_EQ(expect_canonical_forms_agree(booleans, column_type::boolean), texts_per_type);

  std::vector<std::string> texts, bytes, uuids;
  static constexpr char lower[] = "0123456789abcdef";
  static constexpr char upper[] = "0123456789ABCDEF";
  const std::vector<std::string> pieces{"a", "Z", " ", "\t", "\n", "\r", "\\", "\"", "'", "é",
                                        "€", "𝄞", "NULL", "\\N", "{", ","};
  while (texts.size() < texts_per_type) {
    std::string text;
    for (auto n = between(0, 12); n > 0; --n)
      text += pick(pieces);
    texts.push_back(text);
    const char* hex = coin() ? lower : upper;
    std::string byte_text = "\\x";
    for (auto n = between(0, 40); n > 0; --n)
      byte_text += {hex[between(0, 15)], hex[between(0, 15)]};
    bytes.push_back(byte_text);
    std::string uuid;
    for (int i = 0; i < 32; ++i) {
      if (i == 8 || i == 12 || i == 16 || i == 20)
        uuid += '-';
      uuid += hex[between(0, 15)];
    }
    uuids.push_back(uuid);
  }
  EXPECT_EQ(expect_canonical_forms_agree(texts, column_type::text), texts_per_type);
  EXPECT_EQ(expect_canonical_forms_agree(bytes, column_type::bytea), texts_per_type);
  EXPECT_EQ(expect_canonical_forms_agree(uuids, column_type::uuid), texts_per_type);
}

class time_texts {
public:
  explicit time_texts(std::mt19937_64& random) : random_(random) {}

  std::int64_t between(std::int64_t low, std::int64_t high) {
    return std::uniform_int_distribution<std::int64_t>{low, high}(random_);
  }

  // A day across the whole range, often near its ends or around year 0.
  std::int64_t day(std::int64_t last_day) {
    switch (between(0, 3)) {
    case 0:
      return between(first_day, first_day + 1000);
    case 1:
      return between(last_day - 1000, last_day);
    case 2:
      return between(days_from_civil(-5, 1, 1), days_from_civil(5, 1, 1));
    default:
      return between(first_day, last_day);
    }
  }

  // As PostgreSQL prints it (4-digit padding), or zero-padded to up to 7 digits.
  std::string date(std::int64_t days, std::string& era) {
    auto c = civil_from_days(days);
    bool bc = c.year <= 0;
    era = bc ? " BC" : "";
    auto year = bc ? 1 - c.year : c.year;
    int width = between(0, 2) == 0 ? static_cast<int>(between(4, 7)) : 4;
    return padded(year, width) + "-" + padded(c.month, 2) + "-" + padded(c.day, 2);
  }

  std::string time_of_day() {
    auto text = padded(between(0, 23), 2) + ":" + padded(between(0, 59), 2) + ":" +
                padded(between(0, 59), 2);
    if (between(0, 2) > 0) {
      auto fraction = padded(between(0, 999'999), 6);
      text += "." + fraction.substr(0, static_cast<std::size_t>(between(1, 6)));
    }
    return text;
  }

  std::string offset() {
    switch (between(0, 5)) {
    case 0:
      return "";
    case 1:
      return "Z";
    case 2:
      return "+00";
    default: {
      auto text = std::string(between(0, 1) == 1 ? "+" : "-") + padded(between(0, 15), 2);
      if (between(0, 1) == 1) {
        text += ":" + padded(between(0, 59), 2);
        if (between(0, 1) == 1)
          text += ":" + padded(between(0, 59), 2);
      }
      return text;
    }
    }
  }

private:
  std::mt19937_64& random_;
};

TEST_F(canonical_cell_property, DatesAcrossTheWholeRangeAgreeWithPostgresql) {
  time_texts make{random_};
  std::vector<std::string> texts{"infinity", "-infinity", "4714-11-24 BC", "5874897-12-31",
                                 "0001-01-01 BC", "0001-01-01", "10000-01-01", "0010000-01-01"};
  while (texts.size() < texts_per_type) {
    std::string era;
    auto text = make.date(make.day(last_date_day), era);
    texts.push_back(text + era);
  }
  EXPECT_EQ(expect_canonical_forms_agree(texts, column_type::date), texts.size());
}

TEST_F(canonical_cell_property, TimestampsAcrossTheWholeRangeAgreeWithPostgresql) {
  time_texts make{random_};
  std::vector<std::string> texts{"infinity", "-infinity", "4714-11-24 00:00:00 BC",
                                 "294276-12-31 23:59:59.999999", "2024-02-29T13:45:01.120000",
                                 "0001-12-31 23:59:59.999999 BC"};
  while (texts.size() < texts_per_type) {
    std::string era;
    auto date = make.date(make.day(last_timestamp_day), era);
    texts.push_back(date + (coin() ? "T" : " ") + make.time_of_day() + era);
  }
  EXPECT_EQ(expect_canonical_forms_agree(texts, column_type::timestamp), texts.size());
}

TEST_F(canonical_cell_property, TimestamptzOffsetsAcrossTheWholeRangeAgreeWithPostgresql) {
  time_texts make{random_};
  std::vector<std::string> texts{"infinity", "-infinity", "4714-11-24 00:00:00+00 BC",
                                 "294276-12-31 23:59:59.999999+00", "2024-02-29T13:45:01Z",
                                 "0044-03-15 12:00:00+05:30:15 BC", "2024-01-01 12:00:00-15:59:59",
                                 "4714-11-24 00:00:00-01 BC", "294276-12-31 23:59:59+01"};
  while (texts.size() < texts_per_type) {
    std::string era;
    auto date = make.date(make.day(last_timestamp_day), era);
    texts.push_back(date + (coin() ? "T" : " ") + make.time_of_day() + make.offset() + era);
  }
  auto stored = expect_canonical_forms_agree(texts, column_type::timestamptz);
  // Only offsets that push an instant past either end of the range are refused.
  EXPECT_GT(stored, texts_per_type * 9 / 10);
}

TEST_F(canonical_cell_property, JsonIsKeptByteForByteAndJsonbPrintsStably) {
  const std::vector<std::string> values{"1", "-0", "1.50", "1e2", "1E-2", "true", "null",
                                        "\"a\"", "\"\\u00e9\"", "\"\\/\"", "[]", "{}", "\"é\""};
  std::vector<std::string> documents;
  while (documents.size() < texts_per_type) {
    std::string doc = "{";
    for (auto n = between(0, 4); n > 0; --n) {
      if (doc.size() > 1)
        doc += pick<std::string>({",", " , ", ",\n"});
      doc += "\"" + pick<std::string>({"a", "b", "bb", "a"}) + "\"" +
             pick<std::string>({":", " : "}) + pick(values);
    }
    documents.push_back(doc + "}");
  }
  EXPECT_EQ(expect_canonical_forms_agree(documents, column_type::json), texts_per_type);
  // A PostgreSQL source prints jsonb already normalised: that text must store as itself.
  std::vector<std::string> printed;
  for (const auto& entry : store(documents, column_type::jsonb))
    printed.push_back(entry.output.value());
  EXPECT_EQ(expect_canonical_forms_agree(printed, column_type::jsonb), texts_per_type);
}

} // namespace
} // namespace tidesync::storage::testing
