#include "sync/scan_cursor.hpp"

#include <gtest/gtest.h>

namespace tidesync::sync {
namespace {

using protocol::column_type;

const position_order order({column_type::bigint});

TEST(ScanCursor, StartsAtTheBeginningOfTheTable) {
  const scan_cursor cursor;
  EXPECT_FALSE(cursor.window_start());
  EXPECT_EQ(cursor.passes(), 0u);
}

TEST(ScanCursor, NextWindowStartsAfterTheLastFullBatch) {
  scan_cursor cursor;
  const std::vector<row_position> batch{{1, {"1"}}, {1, {"2"}}};
  EXPECT_FALSE(cursor.advance(cursor.window_for(batch, 2, order)));
  EXPECT_EQ(cursor.window_start(), (row_position{1, {"2"}}));
  const auto next = cursor.window_for({{3, {"1"}}, {4, {"1"}}}, 2, order);
  EXPECT_EQ(next.after, (row_position{1, {"2"}}));
}

TEST(ScanCursor, WrapsToTheBeginningWhenABatchComesBackShort) {
  scan_cursor cursor;
  cursor.advance(cursor.window_for({{1, {"1"}}, {1, {"2"}}}, 2, order));
  EXPECT_TRUE(cursor.advance(cursor.window_for({{5, {"1"}}}, 2, order)));
  EXPECT_FALSE(cursor.window_start());
  EXPECT_EQ(cursor.passes(), 1u);
}

TEST(ScanCursor, WrapsWhenNoRowsAreLeftAfterIt) {
  scan_cursor cursor;
  cursor.advance(cursor.window_for({{1, {"1"}}}, 1, order));
  EXPECT_TRUE(cursor.advance(cursor.window_for({}, 1, order)));
  EXPECT_FALSE(cursor.window_start());
}

TEST(ScanCursor, ResetGoesBackToTheBeginningWithoutCountingAPass) {
  scan_cursor cursor;
  cursor.advance(cursor.window_for({{1, {"1"}}}, 1, order));
  cursor.reset();
  EXPECT_FALSE(cursor.window_start());
  EXPECT_EQ(cursor.passes(), 0u);
}

TEST(ScanCursor, RoundTripsThroughTextAtTheBeginning) {
  scan_cursor cursor;
  cursor.advance(scan_window{});
  const auto restored = scan_cursor::from_string(cursor.to_string());
  ASSERT_TRUE(restored);
  EXPECT_EQ(*restored, cursor);
  EXPECT_EQ(restored->passes(), 1u);
}

TEST(ScanCursor, RoundTripsKeysHoldingSeparatorsAndAnyBytes) {
  scan_cursor cursor;
  const row_position tricky{-42, {"a b:c", "", std::string("\0\n -", 4), " -"}};
  cursor.advance(scan_window{std::nullopt, tricky});
  const auto restored = scan_cursor::from_string(cursor.to_string());
  ASSERT_TRUE(restored);
  EXPECT_EQ(restored->window_start(), tricky);
}

TEST(ScanCursor, RefusesMalformedText) {
  for (std::string_view text :
       {"", "scan_cursor/2 0 -", "scan_cursor/1", "scan_cursor/1 x -", "scan_cursor/1 0 ",
        "scan_cursor/1 0 - extra", "scan_cursor/1 0 5 1 9:abc", "scan_cursor/1 0 5 2 1:a",
        "scan_cursor/1 0 5 1 1:ab", "scan_cursor/1 -1 -", "garbage"})
    EXPECT_FALSE(scan_cursor::from_string(text)) << text;
}

} // namespace
} // namespace tidesync::sync
