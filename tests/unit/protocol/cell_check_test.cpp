#include "protocol/cell_check.hpp"

#include <gtest/gtest.h>

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
