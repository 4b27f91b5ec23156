#include "sync/decision.hpp"

#include <gtest/gtest.h>

namespace tidesync::sync {
namespace {

using protocol::table_version;

table_version summary(std::int64_t count, std::optional<std::int64_t> version,
                      std::optional<std::string> modified = std::nullopt) {
  return table_version{count, version, std::move(modified)};
}

TEST(Decide, EqualWhenCountVersionAndModifiedAllMatch) {
  const auto both = summary(1200, 9031, "2024-02-29 13:45:01+00");
  EXPECT_EQ(decide(both, both), sync_decision::equal);
}

TEST(Decide, EqualWhenBothTablesAreEmpty) {
  EXPECT_EQ(decide(summary(0, std::nullopt), summary(0, std::nullopt)), sync_decision::equal);
}

TEST(Decide, EqualWhenBothAreEmptyEvenIfOneSummaryKeepsAStaleVersion) {
  EXPECT_EQ(decide(summary(0, 50), summary(0, std::nullopt)), sync_decision::equal);
}

TEST(Decide, ScanWhenVersionsMatchButCountsDiffer) {
  EXPECT_EQ(decide(summary(1200, 9031), summary(1199, 9031)), sync_decision::scan);
  EXPECT_EQ(decide(summary(1199, 9031), summary(1200, 9031)), sync_decision::scan);
}

TEST(Decide, ScanWhenOnlyMaxModifiedDiffers) {
  EXPECT_EQ(decide(summary(10, 5, "2024-01-02"), summary(10, 5, "2024-01-01")),
            sync_decision::scan);
  EXPECT_EQ(decide(summary(10, 5, "2024-01-02"), summary(10, 5)), sync_decision::scan);
}

TEST(Decide, AheadWhenTheSiteHasANewerVersion) {
  EXPECT_EQ(decide(summary(10, 101), summary(10, 100)), sync_decision::ahead);
}

TEST(Decide, AheadWhenTheSiteIsNewerEvenWithFewerRows) {
  EXPECT_EQ(decide(summary(5, 101), summary(10, 100)), sync_decision::ahead);
}

TEST(Decide, AheadWhenTheRemoteCopyIsEmpty) {
  EXPECT_EQ(decide(summary(3, 7), summary(0, std::nullopt)), sync_decision::ahead);
}

TEST(Decide, AheadWhenTheRemoteIsEmptyButStillReportsAVersion) {
  EXPECT_EQ(decide(summary(3, 7), summary(0, 900)), sync_decision::ahead);
}

TEST(Decide, LocalBehindWhenSiteRestoredABackup) {
  EXPECT_EQ(decide(summary(10, 100), summary(12, 140)), sync_decision::behind);
}

TEST(Decide, BehindWhenTheSiteTableWasEmptied) {
  EXPECT_EQ(decide(summary(0, std::nullopt), summary(12, 140)), sync_decision::behind);
}

TEST(HasRows, IsFalseForAZeroCountOrAMissingVersion) {
  EXPECT_FALSE(has_rows(summary(0, 5)));
  EXPECT_FALSE(has_rows(summary(3, std::nullopt)));
  EXPECT_TRUE(has_rows(summary(1, 0)));
}

TEST(DecisionName, IsStableForLogsAndMetrics) {
  EXPECT_EQ(to_string(sync_decision::equal), "equal");
  EXPECT_EQ(to_string(sync_decision::scan), "scan");
  EXPECT_EQ(to_string(sync_decision::ahead), "ahead");
  EXPECT_EQ(to_string(sync_decision::behind), "behind");
}

} // namespace
} // namespace tidesync::sync
