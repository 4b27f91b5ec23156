#include "protocol/cell_codec.hpp"

#include "protocol/error.hpp"
#include "protocol/json_parse.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <gtest/gtest.h>

#include <charconv>
#include <cmath>
#include <cstring>
#include <array>
#include <limits>
#include <optional>
#include <random>
#include <string>
#include <utility>

using namespace tidesync::protocol;

namespace {

// The PostgreSQL text a wire cell becomes; fails the test on null.
std::string to_pg(const boost::json::value& cell, column_type type) {
  auto text = cell_to_pg_text(cell, type);
  EXPECT_TRUE(text.has_value());
  return text.value_or("");
}

// Wire → PostgreSQL text → wire must give back the same cell.
void expect_round_trip(const boost::json::value& cell, column_type type) {
  auto text = to_pg(cell, type);
  EXPECT_EQ(cell_from_pg_text(text, type), cell) << "via \"" << text << "\"";
}

// The message of the api_error that `cell` raises for `type`.
std::string rejection(const boost::json::value& cell, column_type type) {
  try {
    cell_to_pg_text(cell, type);
  } catch (const api_error& e) {
    EXPECT_EQ(e.code(), error_code::bad_request);
    return e.what();
  }
  ADD_FAILURE() << "accepted " << cell << " as " << type_name(type);
  return {};
}

boost::json::value str(std::string_view text) {
  return boost::json::string(text);
}

} // namespace

TEST(CellCodec, NullBecomesNoTextForEveryType) {
  for (auto type : {column_type::bigint, column_type::text, column_type::uuid, column_type::json})
    EXPECT_FALSE(cell_to_pg_text(nullptr, type).has_value());
}

TEST(CellCodec, BigintKeepsInt64Extremes) {
  auto min = std::numeric_limits<std::int64_t>::min();
  auto max = std::numeric_limits<std::int64_t>::max();
  EXPECT_EQ(to_pg(min, column_type::bigint), "-9223372036854775808");
  EXPECT_EQ(to_pg(max, column_type::bigint), "9223372036854775807");
  expect_round_trip(min, column_type::bigint);
  expect_round_trip(max, column_type::bigint);
  expect_round_trip(0, column_type::bigint);
}

TEST(CellCodec, SmallintAndIntegerAcceptTheirLimits) {
  expect_round_trip(-32768, column_type::smallint);
  expect_round_trip(32767, column_type::smallint);
  expect_round_trip(-2147483648LL, column_type::integer);
  expect_round_trip(2147483647, column_type::integer);
}

TEST(CellCodec, IntegersOutsideTheirWidthAreRefusedWithTheRange) {
  EXPECT_EQ(rejection(32768, column_type::smallint),
            "expected an integer between -32768 and 32767, got 32768");
  EXPECT_EQ(rejection(2147483648LL, column_type::integer),
            "expected an integer between -2147483648 and 2147483647, got 2147483648");
  EXPECT_EQ(rejection(boost::json::parse("18446744073709551615"), column_type::bigint),
            "expected an integer between -9223372036854775808 and 9223372036854775807, got "
            "18446744073709551615");
}

TEST(CellCodec, IntegersRefuseOtherJsonTypes) {
  EXPECT_EQ(rejection(str("abc"), column_type::integer),
            "expected an integer between -2147483648 and 2147483647, got \"abc\"");
  EXPECT_NE(rejection(1.5, column_type::bigint).find("got 1.5"), std::string::npos);
  EXPECT_NE(rejection(1.0, column_type::bigint).find("expected an integer"), std::string::npos);
  EXPECT_NE(rejection(true, column_type::smallint).find("got true"), std::string::npos);
  EXPECT_NE(rejection(str("12"), column_type::bigint).find("got \"12\""), std::string::npos);
}

TEST(CellCodec, NumericKeepsItsScale) {
  EXPECT_EQ(to_pg(str("1.50"), column_type::numeric), "1.50");
  expect_round_trip(str("1.50"), column_type::numeric);
  expect_round_trip(str("-0.000100"), column_type::numeric);
  expect_round_trip(str("NaN"), column_type::numeric);
  expect_round_trip(str("123456789012345678901234567890.123456789"), column_type::numeric);
}

TEST(CellCodec, NumericAcceptsIntegersAndExponents) {
  EXPECT_EQ(to_pg(42, column_type::numeric), "42");
  EXPECT_EQ(to_pg(boost::json::parse("18446744073709551615"), column_type::numeric),
            "18446744073709551615");
  EXPECT_EQ(to_pg(str("1.5e-3"), column_type::numeric), "1.5e-3");
  EXPECT_EQ(to_pg(str("+.5"), column_type::numeric), "+.5");
  EXPECT_EQ(to_pg(str("5."), column_type::numeric), "5.");
}

TEST(CellCodec, NumericRefusesDoublesAndMalformedStrings) {
  EXPECT_EQ(rejection(12.5, column_type::numeric),
            "expected a JSON string holding a numeric, got 12.5");
  for (auto bad : {"", "abc", "1.2.3", "1e", "--1", ".", "1 ", " 1", "1,5", "0x10", "e5"})
    EXPECT_EQ(rejection(str(bad), column_type::numeric)
                  .rfind("expected a JSON string holding a numeric", 0),
              0u)
        << bad;
}

TEST(CellCodec, NumericValuesPostgresqlCannotHoldAreRefused) {
  // PostgreSQL refuses each as "value overflows numeric format", which would
  // end the upload's COPY instead of a 400 naming the row and column.
  for (auto bad : {"-922337235e-80475808", "1e999999999", "1e131072", "1e-16384", "0e-20000",
                   "0.0e-16383", "1.5e-16383"})
    EXPECT_EQ(rejection(str(bad), column_type::numeric)
                  .rfind("expected a JSON string holding a numeric", 0),
              0u)
        << bad;
  // It takes these, at the edges of its range.
  for (auto good :
       {"1e131071", "000001e131071", "0.5e131072", "1e-16383", "-0e-16383", "0e999999999"})
    EXPECT_EQ(to_pg(str(good), column_type::numeric), good);
}

TEST(CellCodec, FloatsTravelAsTheirExactTextInAString) {
  for (auto text :
       {"1044227.8738926059", "2.2345442730765653e-07", "90.33333333333333", "-0", "0", "NaN",
        "Infinity", "-Infinity", "1.7976931348623157e+308", "5e-324", "2.225073858507201e-308"}) {
    EXPECT_EQ(cell_from_pg_text(text, column_type::double_precision), str(text));
    expect_round_trip(str(text), column_type::double_precision);
  }
  for (auto text : {"0.1", "3.4028235e+38", "1e-45", "-1.5", "1.1754942e-38", "-0"}) {
    EXPECT_EQ(cell_from_pg_text(text, column_type::real), str(text));
    expect_round_trip(str(text), column_type::real);
  }
}

TEST(CellCodec, FloatTextIsPassedOnUnchangedNotReprinted) {
  // Spellings PostgreSQL reads but never prints still reach it as they were sent.
  for (auto text : {"1e5", "1E+05", ".5", "5.", "-.5e-3", "0.10", "00012"})
    EXPECT_EQ(to_pg(str(text), column_type::double_precision), text);
}

TEST(CellCodec, FloatsAsNumbersAreStillAcceptedExactly) {
  // Agents of the previous release send JSON numbers.
  for (double value : {0.1, 1e308, -1e-308, 5e-324, 1.0 / 3.0, 123456789.125,
                       std::numeric_limits<double>::max()}) {
    auto text = to_pg(value, column_type::double_precision);
    double back = 0;
    std::from_chars(text.data(), text.data() + text.size(), back);
    EXPECT_EQ(back, value) << text;
  }
  EXPECT_EQ(to_pg(0.1, column_type::double_precision), "0.1");
  EXPECT_EQ(to_pg(-0.0, column_type::double_precision), "-0");
  EXPECT_EQ(to_pg(0.0, column_type::real), "0");
}

TEST(CellCodec, TheNumberFormIsWrittenOnlyWhenAsked) {
  auto cell = cell_from_pg_text("-0", column_type::double_precision, float_form::number);
  ASSERT_TRUE(cell.is_double());
  EXPECT_TRUE(std::signbit(cell.get_double()));
  EXPECT_EQ(cell_from_pg_text("0.1", column_type::real, float_form::number), 0.1);
  EXPECT_EQ(cell_from_pg_text("NaN", column_type::real, float_form::number), str("NaN"));
  EXPECT_EQ(cell_from_pg_text("12.50", column_type::numeric, float_form::number), str("12.50"));
}

TEST(CellCodec, MalformedFloatStringsAreRefused) {
  // One spelling per special value: PostgreSQL's own, case included.
  for (auto bad : {"",       "1e",  "0x10", " 1",   "1 ",       "1.5abc",    "+1",
                   "nan",    "NAN", "inf",  "-inf", "infinity", "+Infinity", "-NaN",
                   "nan(1)", "1,5", ".",    "e5",   "--1",      "1e+",       "１"}) {
    EXPECT_EQ(rejection(str(bad), column_type::double_precision)
                  .rfind("expected a JSON string holding a float literal", 0),
              0u)
        << bad;
    EXPECT_EQ(check_float_text(bad, column_type::real), float_text::malformed) << bad;
    EXPECT_THROW(cell_from_pg_text(bad, column_type::double_precision), api_error) << bad;
  }
  EXPECT_EQ(rejection(str("0x10"), column_type::real),
            "expected a JSON string holding a float literal (\"1.5\", \"-0\", \"2.5e-07\", "
            "\"NaN\", \"Infinity\", \"-Infinity\") or a JSON number, got \"0x10\"");
  EXPECT_EQ(rejection(true, column_type::real),
            "expected a JSON string holding a float literal or a JSON number, got true");
}

TEST(CellCodec, FloatStringsOutsideTheTypesRangeAreRefused) {
  EXPECT_EQ(rejection(str("1e39"), column_type::real),
            "expected a number within the range of real, got \"1e39\"");
  EXPECT_EQ(rejection(str("-1e-50"), column_type::real).rfind("expected a number within", 0), 0u);
  EXPECT_EQ(rejection(str("1e999"), column_type::double_precision),
            "expected a number within the range of double precision, got \"1e999\"");
  EXPECT_EQ(rejection(str("1e-400"), column_type::double_precision)
                .rfind("expected a number within the range of double precision", 0),
            0u);
  EXPECT_EQ(check_float_text("1e39", column_type::double_precision), float_text::valid);
  // The agent leaves the range to the server, which refuses the row with a 400.
  EXPECT_EQ(cell_from_pg_text("1e39", column_type::real), str("1e39"));
}

TEST(CellCodec, RealNumbersOutsideItsRangeAreRefused) {
  EXPECT_EQ(rejection(1e39, column_type::real),
            "expected a number within the range of real, got 1e+39");
  EXPECT_NE(rejection(1e-50, column_type::real).find("range of real"), std::string::npos);
}

TEST(CellCodec, JsonNumbersBeyondTheRangeOfDoubleAreRefusedNotStoredAsInfinity) {
  // A body's number too large for a double reads as infinity; it must not
  // become the text "inf", which PostgreSQL would store as Infinity.
  for (auto text : {"1e400", "-22.34e347"}) {
    auto cell = parse_json_exact(text);
    EXPECT_EQ(rejection(cell, column_type::double_precision)
                  .rfind("expected a number within the range of double precision", 0),
              0u)
        << text;
    EXPECT_EQ(
        rejection(cell, column_type::real).rfind("expected a number within the range of real", 0),
        0u)
        << text;
  }
}

TEST(CellCodec, IntegersAreAcceptedAsFloats) {
  EXPECT_EQ(to_pg(7, column_type::double_precision), "7");
  EXPECT_EQ(to_pg(-7, column_type::real), "-7");
}

TEST(CellCodec, BooleanUsesJsonLiterals) {
  EXPECT_EQ(to_pg(true, column_type::boolean), "true");
  EXPECT_EQ(cell_from_pg_text("t", column_type::boolean), true);
  EXPECT_EQ(cell_from_pg_text("f", column_type::boolean), false);
  expect_round_trip(false, column_type::boolean);
  EXPECT_EQ(rejection(str("true"), column_type::boolean), "expected true or false, got \"true\"");
  EXPECT_EQ(rejection(1, column_type::boolean), "expected true or false, got 1");
}

TEST(CellCodec, TextKeepsUnicodeIncludingEmoji) {
  expect_round_trip(str("Grüße, 世界 🎉👩‍👩‍👧"), column_type::text);
  expect_round_trip(str(""), column_type::text);
  expect_round_trip(str("tab\there\nnew line \\ backslash \"quote\""), column_type::text);
}

TEST(CellCodec, TextRefusesNulAndBadUtf8) {
  EXPECT_EQ(rejection(str(std::string_view("a\0b", 3)), column_type::text),
            "expected a JSON string without NUL characters, got \"a\\u0000b\"");
  EXPECT_NE(rejection(str("\xC3\x28"), column_type::text).find("expected"), std::string::npos);
  EXPECT_NE(rejection(str("\xED\xA0\x80"), column_type::text).find("expected"), std::string::npos);
  EXPECT_EQ(rejection(5, column_type::text), "expected a JSON string, got 5");
}

TEST(CellCodec, ByteaTravelsInHexForm) {
  expect_round_trip(str("\\x0aff"), column_type::bytea);
  expect_round_trip(str("\\x"), column_type::bytea);
  expect_round_trip(str("\\xDEADbeef"), column_type::bytea);
}

TEST(CellCodec, ByteaRefusesBadHex) {
  for (auto bad : {"0aff", "\\x0af", "\\x0g", "\\X00", "x00", "\\\\x00"})
    EXPECT_EQ(rejection(str(bad), column_type::bytea)
                  .rfind("expected a JSON string in PostgreSQL hex form \"\\\\x0aff\"", 0),
              0u)
        << bad;
}

TEST(CellCodec, UuidNeedsEightFourFourFourTwelveHex) {
  expect_round_trip(str("123e4567-e89b-12d3-a456-426614174000"), column_type::uuid);
  expect_round_trip(str("123E4567-E89B-12D3-A456-426614174000"), column_type::uuid);
  for (auto bad : {"123e4567e89b12d3a456426614174000", "123e4567-e89b-12d3-a456-42661417400",
                   "{123e4567-e89b-12d3-a456-426614174000}", "123e4567-e89b-12d3-a456-42661417400g",
                   "123e4567-e89b-12d3-a4560426614174000"})
    EXPECT_EQ(
        rejection(str(bad), column_type::uuid).rfind("expected a JSON string holding a uuid", 0),
        0u)
        << bad;
}

TEST(CellCodec, DatesAreIsoCalendarDays) {
  for (auto good : {"2024-02-29", "2000-02-29", "0001-01-01 BC", "0001-02-29 BC", "infinity",
                    "-infinity", "10000-12-31", "5874897-12-31", "4714-11-24 BC"})
    expect_round_trip(str(good), column_type::date);
  for (auto bad : {"2023-02-29", "1900-02-29", "2024-13-01", "2024-04-31", "0000-01-01", "24-01-01",
                   "2024-1-01", "2024-01-01T00:00:00", "today", "2024/01/01", "5874898-01-01",
                   "4714-11-23 BC", "4715-12-31 BC"})
    EXPECT_EQ(
        rejection(str(bad), column_type::date).rfind("expected a JSON string holding a date", 0),
        0u)
        << bad;
}

TEST(CellCodec, TimestampsKeepMicroseconds) {
  for (auto good :
       {"2024-02-29 13:45:01.123456", "2024-02-29T13:45:01", "1999-12-31 23:59:59.5",
        "0044-03-15 12:00:00 BC", "infinity", "-infinity", "294276-12-31 23:59:59.999999"})
    expect_round_trip(str(good), column_type::timestamp);
  for (auto bad : {"2024-02-29 13:45:01.1234567", "2024-02-29 24:00:00", "2024-02-29 13:60:00",
                   "2024-02-29 13:45", "2024-02-29", "2024-02-29 13:45:01+00",
                   "2024-02-29 13:45:01.", "294277-01-01 00:00:00", "4714-11-23 00:00:00 BC"})
    EXPECT_EQ(rejection(str(bad), column_type::timestamp)
                  .rfind("expected a JSON string holding a timestamp", 0),
              0u)
        << bad;
}

TEST(CellCodec, TimestamptzKeepsItsOffset) {
  for (auto good : {"2024-02-29 13:45:01.123456+00", "2024-02-29 13:45:01+05:30",
                    "2024-02-29T13:45:01Z", "1883-11-18 12:00:00-04:56:02",
                    "0044-03-15 12:00:00+00:53:28 BC", "2024-02-29 13:45:01", "infinity"})
    expect_round_trip(str(good), column_type::timestamptz);
  for (auto bad : {"2024-02-29 13:45:01+5", "2024-02-29 13:45:01+16", "2024-02-29 13:45:01+05:60",
                   "2024-02-29 13:45:01 UTC", "2024-02-29 13:45:01+0530"})
    EXPECT_EQ(rejection(str(bad), column_type::timestamptz)
                  .rfind("expected a JSON string holding a timestamp", 0),
              0u)
        << bad;
}

TEST(CellCodec, JsonKeepsItsExactText) {
  auto text = " { \"b\" : [1,  2.50, \"x\"],\n\"a\":null } ";
  EXPECT_EQ(to_pg(str(text), column_type::json), text);
  expect_round_trip(str(text), column_type::json);
  expect_round_trip(str("\"just a string\""), column_type::jsonb);
  expect_round_trip(str("[]"), column_type::jsonb);
}

TEST(CellCodec, JsonRefusesDocumentsThatAreNotStrings) {
  EXPECT_EQ(rejection(boost::json::parse("{\"a\":1}"), column_type::json),
            "expected a JSON string holding a JSON document, got {\"a\":1}");
  EXPECT_EQ(rejection(str("{\"a\":"), column_type::jsonb),
            "expected a JSON string holding a JSON document, got \"{\\\"a\\\":\"");
  EXPECT_NE(rejection(str("{\"a\":\"\\u0000\"}"), column_type::jsonb).find("\\\\u0000"),
            std::string::npos);
  EXPECT_EQ(to_pg(str("{\"a\":\"\\u0000\"}"), column_type::json), "{\"a\":\"\\u0000\"}");
}

TEST(CellCodec, LongValuesAreShortenedInMessages) {
  std::string long_text(10000, 'x');
  auto message = rejection(str(long_text), column_type::uuid);
  EXPECT_LT(message.size(), 300u);
}

TEST(CellCodec, OtherTypesComeBackAsStrings) {
  EXPECT_EQ(cell_from_pg_text("12.50", column_type::numeric), str("12.50"));
  EXPECT_EQ(cell_from_pg_text("hello", column_type::text), str("hello"));
  EXPECT_EQ(cell_from_pg_text("{\"a\": 1}", column_type::jsonb), str("{\"a\": 1}"));
}

TEST(CellCodec, UnexpectedPostgresTextIsReported) {
  EXPECT_THROW(cell_from_pg_text("12x", column_type::bigint), api_error);
  EXPECT_THROW(cell_from_pg_text("yes", column_type::boolean), api_error);
  EXPECT_THROW(cell_from_pg_text("", column_type::double_precision), api_error);
}

TEST(CopyEscaping, EscapesBackslashTabNewlineAndCarriageReturn) {
  std::string out = "prefix|";
  append_copy_escaped(out, "a\\b\tc\nd\re");
  EXPECT_EQ(out, "prefix|a\\\\b\\tc\\nd\\re");
}

TEST(CopyEscaping, LeavesOtherBytesAlone) {
  std::string out;
  append_copy_escaped(out, "Grüße 🎉 \"q\" , ;");
  EXPECT_EQ(out, "Grüße 🎉 \"q\" , ;");
}

TEST(CopyEscaping, EscapesRunsAtEitherEndAndBackToBack) {
  std::string out;
  append_copy_escaped(out, "\t\\\n");
  EXPECT_EQ(out, "\\t\\\\\\n");
  out.clear();
  append_copy_escaped(out, "\rmiddle\r");
  EXPECT_EQ(out, "\\rmiddle\\r");
}

TEST(CopyCell, AppendsTheEscapedTextOfCellToPgText) {
  const std::pair<boost::json::value, column_type> cells[] = {
      {-42, column_type::integer},
      {boost::json::parse("18446744073709551615"), column_type::numeric},
      {str("12.50"), column_type::numeric},
      {0.1, column_type::double_precision},
      {-0.0, column_type::real},
      {str("-Infinity"), column_type::double_precision},
      {true, column_type::boolean},
      {str("tab\there\nand \\ back"), column_type::text},
      {str("\\x0aff"), column_type::bytea},
      {str("2024-02-29 13:45:01.123456+00"), column_type::timestamptz},
      {str("{\"a\": \"line\\nbreak\"}"), column_type::jsonb},
  };
  for (const auto& [cell, type] : cells) {
    std::string expected = "|";
    append_copy_escaped(expected, to_pg(cell, type));
    std::string out = "|";
    EXPECT_TRUE(append_copy_cell(out, cell, type, utf8_state::unchecked));
    EXPECT_EQ(out, expected) << cell;
  }
}

TEST(CopyCell, NullAppendsNothing) {
  std::string out = "x";
  EXPECT_FALSE(append_copy_cell(out, nullptr, column_type::text, utf8_state::checked));
  EXPECT_EQ(out, "x");
}

TEST(CopyCell, CheckedUtf8StillRefusesNul) {
  std::string out;
  EXPECT_THROW(append_copy_cell(out, str(std::string_view("a\0b", 3)), column_type::text,
                                utf8_state::checked),
               api_error);
  EXPECT_THROW(append_copy_cell(out, str("\xC3\x28"), column_type::text, utf8_state::unchecked),
               api_error);
}

TEST(CopyCell, RefusesWhatCellToPgTextRefuses) {
  std::string out;
  EXPECT_THROW(append_copy_cell(out, str("1.5"), column_type::bigint, utf8_state::checked),
               api_error);
  EXPECT_THROW(append_copy_cell(out, str("{\"a\":"), column_type::json, utf8_state::checked),
               api_error);
  EXPECT_THROW(append_copy_cell(out, 1e300, column_type::real, utf8_state::checked), api_error);
}

TEST(CellCodec, JsonDocumentsAreCheckedAsBoostJsonParseReadsThem) {
  for (auto text : {"1", " [1, {\"a\": null}] ", "\"\\\\u0000\"", "{\"k\": \"\\u00e9\"}", "",
                    "[1,]", "{} {}", "[1] x", "{'a': 1}", "nul", "[\"\x01\"]", "1e999999"}) {
    boost::system::error_code ec;
    boost::json::parse(text, ec);
    std::string out;
    bool accepted = true;
    try {
      append_copy_cell(out, str(text), column_type::jsonb, utf8_state::checked);
    } catch (const api_error&) {
      accepted = false;
    }
    EXPECT_EQ(accepted, !ec) << text;
  }
}

TEST(CellCodec, JsonbRefusesNulInKeysAsInValues) {
  EXPECT_THROW(to_pg(str("{\"a\\u0000\": 1}"), column_type::jsonb), api_error);
  EXPECT_THROW(to_pg(str("[[\"x\\u0000\"]]"), column_type::jsonb), api_error);
  EXPECT_EQ(to_pg(str("{\"a\\u0000\": 1}"), column_type::json), "{\"a\\u0000\": 1}");
}

// append_wire_cell must write what serialize(cell_from_pg_text) writes, byte
// for byte, and refuse what it refuses: random text of every byte value,
// numbers across the int64 range and float spellings, for every type.
TEST(WireCell, WritesExactlyWhatTheDocumentTreeSerializesTo) {
  std::mt19937_64 random{20261201};
  auto random_text = [&] {
    std::string text(random() % 24, '\0');
    for (auto& c : text)
      c = static_cast<char>(random() % 4 == 0 ? random() % 0x20 : random() % 256);
    return text;
  };
  auto random_number_text = [&]() -> std::string {
    switch (random() % 6) {
    case 0: return std::to_string(static_cast<std::int64_t>(random()));
    case 1: return std::to_string(static_cast<std::int64_t>(random() % 1000) - 500);
    case 2: {
      char buffer[40];
      double value;
      auto bits = random();
      std::memcpy(&value, &bits, sizeof value);
      auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value);
      return std::string(buffer, end);
    }
    case 3: return std::array<const char*, 8>{"NaN", "Infinity", "-Infinity", "-0", "007",
                                              "+1", "1e400", "t"}[random() % 8];
    case 4: return std::array<const char*, 6>{"true", "false", "f", "yes", "", " 1"}[random() % 6];
    default: return random_text();
    }
  };
  int compared = 0;
  for (int i = 0; i < 20000; ++i) {
    auto type = static_cast<column_type>(random() % (static_cast<int>(column_type::jsonb) + 1));
    auto text = random() % 2 == 0 ? random_number_text() : random_text();
    std::optional<std::string> expected;
    try {
      expected = boost::json::serialize(cell_from_pg_text(text, type));
    } catch (const api_error&) {
    }
    std::string written = "x";
    try {
      append_wire_cell(written, text, type);
    } catch (const api_error&) {
      EXPECT_FALSE(expected) << "type " << type_name(type) << ", text " << text;
      continue;
    }
    ASSERT_TRUE(expected) << "type " << type_name(type) << ", text " << text;
    EXPECT_EQ(written, "x" + *expected) << "type " << type_name(type);
    ++compared;
  }
  EXPECT_GT(compared, 10000);
}
