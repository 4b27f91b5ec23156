#include "protocol/cell_check.hpp"

#include "protocol/cell_codec.hpp"
#include "protocol/error.hpp"

#include <boost/json/value.hpp>
#include <gtest/gtest.h>

#include <iterator>
#include <optional>
#include <random>
#include <string>

namespace tidesync::protocol {

namespace {

TEST(CellCheck, ValuesTheServerTakesAreNotRefused) {
  EXPECT_FALSE(pg_text_refusal("42", column_type::bigint));
  EXPECT_FALSE(pg_text_refusal("-0.5", column_type::double_precision));
  EXPECT_FALSE(pg_text_refusal("NaN", column_type::real));
  EXPECT_FALSE(pg_text_refusal("2024-02-29", column_type::date));
  EXPECT_FALSE(pg_text_refusal("grüße 🌊", column_type::text));
  EXPECT_FALSE(pg_text_refusal("t", column_type::boolean));
  EXPECT_FALSE(pg_text_refusal("{\"a\": [1]}", column_type::json));
}

TEST(CellCheck, ValuesTheServerWouldRefuseAreRefusedWithItsReason) {
  auto text_in_integer = pg_text_refusal("not a number", column_type::bigint);
  ASSERT_TRUE(text_in_integer);
  EXPECT_NE(text_in_integer->find("\"not a number\""), std::string::npos) << *text_in_integer;
  EXPECT_TRUE(pg_text_refusal("70000", column_type::smallint));
  EXPECT_TRUE(pg_text_refusal("heavy", column_type::double_precision));
  EXPECT_TRUE(pg_text_refusal("1e300", column_type::real));
  EXPECT_TRUE(pg_text_refusal("2023-02-30", column_type::date));
  EXPECT_TRUE(pg_text_refusal("maybe", column_type::boolean));
  EXPECT_TRUE(pg_text_refusal("not-a-uuid", column_type::uuid));
  EXPECT_TRUE(pg_text_refusal("{", column_type::json));
  EXPECT_TRUE(pg_text_refusal(std::string_view("a\0b", 3), column_type::text));
}

TEST(CellCheck, TextThatIsNotUtf8IsRefusedAndItsReasonStaysPrintable) {
  auto reason = pg_text_refusal("ord\xff" "er", column_type::text);
  ASSERT_TRUE(reason);
  EXPECT_NE(reason->find("ord\\xffer"), std::string::npos) << *reason;
  EXPECT_EQ(printable_text(*reason), *reason);
}

TEST(CellCheck, PrintableTextEscapesOnlyWhatIsNotUtf8) {
  EXPECT_EQ(printable_text("plain ü 日本"), "plain ü 日本");
  EXPECT_EQ(printable_text("a\xff" "b\xc3"), "a\\xffb\\xc3");
  EXPECT_EQ(printable_text(std::string_view("a\0b", 3)), "a\\x00b");
}

} // namespace

} // namespace tidesync::protocol

namespace tidesync::protocol {
namespace {

// The check must refuse exactly what the server's path refuses: the wire
// cell made from the text, then rendered for COPY, with the same message.
TEST(CellCheck, RefusesExactlyWhatEncodingAndRenderingRefuse) {
  std::mt19937_64 random{20261202};
  const char* samples[] = {"42", "-0", "1e999", "NaN", "2024-02-29 13:45:01+00", "2024-02-30",
                           "{\"a\":1}", "{bad", "\\x0aff", "\\xzz", "t", "yes", "12.50", "abc",
                           "3f1c2a9e-5b7d-4e21-9c1f-7a8b6d5e4c3b", "32768", ""};
  int refused = 0;
  for (int i = 0; i < 20000; ++i) {
    auto type = static_cast<column_type>(random() % (static_cast<int>(column_type::jsonb) + 1));
    std::string text = samples[random() % std::size(samples)];
    if (random() % 3 == 0) {
      text.resize(random() % 12);
      for (auto& c : text)
        c = static_cast<char>(random() % 256);
    }
    std::optional<std::string> expected;
    try {
      std::string out;
      append_copy_cell(out, cell_from_pg_text(text, type), type, utf8_state::unchecked);
    } catch (const api_error& e) {
      expected = printable_text(e.what());
    }
    EXPECT_EQ(pg_text_refusal(text, type), expected) << type_name(type) << " " << text;
    refused += expected.has_value();
  }
  EXPECT_GT(refused, 2000);
}

} // namespace
} // namespace tidesync::protocol
