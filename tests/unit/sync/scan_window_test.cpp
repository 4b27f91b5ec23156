#include "sync/scan_window.hpp"

#include <gtest/gtest.h>

namespace tidesync::sync {
namespace {

using protocol::column_type;

const position_order order({column_type::bigint});

TEST(ScanWindow, FullBatchEndsAtItsLastPosition) {
  const std::vector<row_position> batch{{1, {"1"}}, {2, {"5"}}, {2, {"7"}}};
  const auto window = window_for_batch(std::nullopt, batch, 3, order);
  EXPECT_FALSE(window.after);
  ASSERT_TRUE(window.through);
  EXPECT_EQ(*window.through, (row_position{2, {"7"}}));
}

TEST(ScanWindow, ShortBatchRunsToTheEndOfTheTable) {
  const std::vector<row_position> batch{{1, {"1"}}};
  const row_position start{0, {"9"}};
  const auto window = window_for_batch(start, batch, 3, order);
  EXPECT_EQ(window.after, start);
  EXPECT_FALSE(window.through);
}

TEST(ScanWindow, EmptyBatchRunsToTheEndEvenWhenZeroRowsWereRequested) {
  EXPECT_FALSE(window_for_batch(std::nullopt, {}, 0, order).through);
  EXPECT_FALSE(window_for_batch(std::nullopt, {}, 100, order).through);
}

TEST(ScanWindow, MisorderedBatchStillEndsAtItsGreatestPosition) {
  const std::vector<row_position> batch{{2, {"7"}}, {1, {"1"}}, {2, {"10"}}};
  EXPECT_EQ(*window_for_batch(std::nullopt, batch, 3, order).through, (row_position{2, {"10"}}));
}

TEST(ScanWindow, ContainsPositionsAfterItsStartUpToAndIncludingItsEnd) {
  const scan_window window{row_position{5, {"3"}}, row_position{8, {"2"}}};
  EXPECT_FALSE(window.contains({5, {"3"}}, order));
  EXPECT_TRUE(window.contains({5, {"4"}}, order));
  EXPECT_TRUE(window.contains({8, {"2"}}, order));
  EXPECT_FALSE(window.contains({8, {"3"}}, order));
  EXPECT_FALSE(window.contains({4, {"100"}}, order));
}

TEST(ScanWindow, OpenWindowContainsEverything) {
  EXPECT_TRUE(scan_window{}.contains({-5, {"1"}}, order));
}

TEST(ManifestRange, StartsAtTheWindowStartVersionNotAtTheBatchMinimum) {
  const scan_window window{row_position{5, {"3"}}, row_position{8, {"2"}}};
  EXPECT_EQ(manifest_range(window), (version_range{5, 8}));
}

TEST(ManifestRange, IsOpenAtTheBeginningAndAtTheEndOfTheTable) {
  EXPECT_EQ(manifest_range(scan_window{}), (version_range{}));
  const scan_window tail{row_position{5, {"3"}}, std::nullopt};
  EXPECT_EQ(manifest_range(tail), (version_range{5, std::nullopt}));
}

} // namespace
} // namespace tidesync::sync
