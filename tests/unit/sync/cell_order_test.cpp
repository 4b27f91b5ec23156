#include "sync/cell_order.hpp"

#include <gtest/gtest.h>

namespace tidesync::sync {
namespace {

bool less(std::string_view a, std::string_view b, cell_order order) {
  return compare_cells(a, b, order) < 0;
}

bool same(std::string_view a, std::string_view b, cell_order order) {
  return compare_cells(a, b, order) == 0;
}

TEST(CellOrder, IntegerTypesCompareByValue) {
  EXPECT_EQ(order_of(protocol::column_type::smallint), cell_order::integer);
  EXPECT_EQ(order_of(protocol::column_type::bigint), cell_order::integer);
  EXPECT_TRUE(less("9", "10", cell_order::integer));
  EXPECT_TRUE(less("-10", "-9", cell_order::integer));
  EXPECT_TRUE(less("-1", "0", cell_order::integer));
  EXPECT_TRUE(same("42", "42", cell_order::integer));
}

TEST(CellOrder, IntegersBeyondInt64StillCompareByValue) {
  EXPECT_TRUE(less("9223372036854775807", "99999999999999999999", cell_order::integer));
  EXPECT_TRUE(less("-99999999999999999999", "-9223372036854775808", cell_order::integer));
}

TEST(CellOrder, TextUuidAndBytesCompareBytewise) {
  EXPECT_EQ(order_of(protocol::column_type::text), cell_order::bytewise);
  EXPECT_EQ(order_of(protocol::column_type::uuid), cell_order::bytewise);
  EXPECT_EQ(order_of(protocol::column_type::bytea), cell_order::bytewise);
  EXPECT_TRUE(less("10", "9", cell_order::bytewise));
  EXPECT_TRUE(less("B", "a", cell_order::bytewise));
  EXPECT_TRUE(less("ab", "abc", cell_order::bytewise));
}

TEST(CellOrder, BytesAboveAsciiSortAfterAsciiAsInTheCCollation) {
  EXPECT_TRUE(less("z", "\xc3\xa9", cell_order::bytewise));
}

TEST(CellOrder, DecimalsCompareByValueIgnoringScale) {
  EXPECT_EQ(order_of(protocol::column_type::numeric), cell_order::decimal);
  EXPECT_TRUE(same("2.50", "2.5", cell_order::decimal));
  EXPECT_TRUE(same("-0.00", "0", cell_order::decimal));
  EXPECT_TRUE(less("9.99", "10", cell_order::decimal));
  EXPECT_TRUE(less("0.05", "0.5", cell_order::decimal));
  EXPECT_TRUE(less("-2.5", "-2.25", cell_order::decimal));
  EXPECT_TRUE(less("-1", ".5", cell_order::decimal));
  EXPECT_TRUE(less("007", "8", cell_order::decimal));
}

TEST(CellOrder, DecimalNanSortsAboveEveryNumberLikePostgresql) {
  EXPECT_TRUE(less("99999999", "NaN", cell_order::decimal));
  EXPECT_TRUE(same("NaN", "NaN", cell_order::decimal));
}

TEST(CellOrder, FloatsCompareByValueWithNanOnTop) {
  EXPECT_EQ(order_of(protocol::column_type::double_precision), cell_order::floating);
  EXPECT_TRUE(less("2.5", "10", cell_order::floating));
  EXPECT_TRUE(less("-Infinity", "-1e300", cell_order::floating));
  EXPECT_TRUE(less("1e300", "Infinity", cell_order::floating));
  EXPECT_TRUE(less("Infinity", "NaN", cell_order::floating));
  EXPECT_TRUE(same("NaN", "NaN", cell_order::floating));
  EXPECT_TRUE(same("1.50", "1.5", cell_order::floating));
}

TEST(CellOrder, UnparsableCellsSortAfterValidOnesAndBytewiseAmongThemselves) {
  for (auto order : {cell_order::integer, cell_order::decimal, cell_order::floating}) {
    EXPECT_TRUE(less("12", "abc", order));
    EXPECT_TRUE(less("", "abc", order)) << "empty text is not a number either";
    EXPECT_TRUE(less("abc", "abd", order));
    EXPECT_TRUE(same("x", "x", order));
  }
  EXPECT_TRUE(less("1", "1x", cell_order::integer));
  EXPECT_TRUE(less("1.2", "1..2", cell_order::decimal));
  EXPECT_TRUE(less("5", "-", cell_order::decimal));
  EXPECT_TRUE(less("NaN", "1e9", cell_order::decimal)) << "numeric text has no exponent";
}

} // namespace
} // namespace tidesync::sync
