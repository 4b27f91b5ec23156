#include "sync/catch_up_plan.hpp"

#include <gtest/gtest.h>

namespace tidesync::sync {
namespace {

using protocol::table_version;

const table_version empty_table{0, std::nullopt, std::nullopt};
const table_version site{900, 200, std::nullopt};

TEST(UploadStart, EmptyRemoteStartsAtTheBeginningOfTheTable) {
  EXPECT_FALSE(upload_start(site, empty_table, std::nullopt));
}

TEST(UploadStart, StartsAfterTheRemoteMaxVersionWithoutACursor) {
  EXPECT_EQ(upload_start(site, table_version{10, 100, std::nullopt}, std::nullopt),
            (page_start{100, std::nullopt}));
}

TEST(UploadStart, ContinuesInsideATransactionLargerThanOneBatch) {
  // The first batch uploaded keys up to 500 of version 100; the rest of
  // version 100 must not be skipped just because the remote now reports 100.
  const row_position last{100, {"500"}};
  EXPECT_EQ(upload_start(site, table_version{500, 100, std::nullopt}, last),
            (page_start{100, row_key{"500"}}));
}

TEST(UploadStart, ContinuesPastSkippedRowsAboveTheRemoteVersion) {
  const row_position last{120, {"7"}};
  EXPECT_EQ(upload_start(site, table_version{10, 100, std::nullopt}, last),
            (page_start{120, row_key{"7"}}));
}

TEST(UploadStart, FollowsTheCursorWhileTheRemoteIsStillEmpty) {
  const row_position skipped{3, {"1"}};
  EXPECT_EQ(upload_start(site, empty_table, skipped), (page_start{3, row_key{"1"}}));
}

TEST(UploadStart, IgnoresACursorBehindTheRemoteVersion) {
  const row_position stale{90, {"1"}};
  EXPECT_EQ(upload_start(site, table_version{10, 100, std::nullopt}, stale),
            (page_start{100, std::nullopt}));
}

TEST(UploadStart, IgnoresACursorPastTheSitesNewestVersion) {
  // The site restored a backup after rows up to version 150 were skipped.
  const table_version restored{50, 120, std::nullopt};
  const row_position stale{150, {"1"}};
  EXPECT_EQ(upload_start(restored, table_version{10, 100, std::nullopt}, stale),
            (page_start{100, std::nullopt}));
}

TEST(UploadStart, CursorAtTheSitesNewestVersionIsStillFollowed) {
  const row_position last{200, {"9"}};
  EXPECT_EQ(upload_start(site, table_version{10, 100, std::nullopt}, last),
            (page_start{200, row_key{"9"}}));
}

TEST(BehindDelete, DeletesAboveTheLocalVersion) {
  EXPECT_EQ(behind_delete(table_version{10, 100, std::nullopt}), (remote_delete{false, 100}));
}

TEST(BehindDelete, DeletesEverythingWhenTheSiteTableIsEmpty) {
  EXPECT_TRUE(behind_delete(empty_table).all);
  EXPECT_TRUE(behind_delete(table_version{0, 100, std::nullopt}).all);
}

} // namespace
} // namespace tidesync::sync
