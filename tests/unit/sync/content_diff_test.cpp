#include "sync/content_diff.hpp"

#include "protocol/content_digest.hpp"

#include <gtest/gtest.h>

#include <optional>
#include <string_view>

namespace tidesync::sync {
namespace {

using protocol::column_type;

// One listing's rows, keyed as digest_walk keys them (protocol::canonical_key).
digested_rows listing(std::initializer_list<std::pair<row_key, std::string>> rows,
                      const std::vector<column_type>& types) {
  digested_rows out;
  for (const auto& [key, digest] : rows) {
    std::vector<std::optional<std::string_view>> cells(key.begin(), key.end());
    out.emplace(protocol::canonical_key(cells, types), digested_row{key, digest});
  }
  return out;
}

const std::vector<column_type> by_bigint{column_type::bigint};

using keys = std::vector<row_key>;

TEST(ContentDiff, IdenticalListingsDifferInNothing) {
  auto rows = listing({{{"1"}, "aa"}, {{"2"}, "bb"}}, by_bigint);
  auto diff = diff_rows(rows, rows);
  EXPECT_TRUE(diff.empty());
  EXPECT_EQ(diff.size(), 0u);
}

TEST(ContentDiff, EmptyListingsDifferInNothing) {
  EXPECT_TRUE(diff_rows({}, {}).empty());
}

TEST(ContentDiff, RowsOnlyAtTheSiteAreMissing) {
  auto site = listing({{{"1"}, "aa"}, {{"2"}, "bb"}, {{"3"}, "cc"}}, by_bigint);
  auto cloud = listing({{{"2"}, "bb"}}, by_bigint);
  auto diff = diff_rows(site, cloud);
  EXPECT_EQ(diff.missing, (keys{{"1"}, {"3"}}));
  EXPECT_TRUE(diff.extra.empty());
  EXPECT_TRUE(diff.different.empty());
}

TEST(ContentDiff, RowsOnlyInTheCloudAreExtra) {
  auto site = listing({{{"2"}, "bb"}}, by_bigint);
  auto cloud = listing({{{"1"}, "aa"}, {{"2"}, "bb"}, {{"3"}, "cc"}}, by_bigint);
  auto diff = diff_rows(site, cloud);
  EXPECT_EQ(diff.extra, (keys{{"1"}, {"3"}}));
  EXPECT_TRUE(diff.missing.empty());
}

TEST(ContentDiff, RowsWithOtherContentAreDifferent) {
  auto site = listing({{{"1"}, "aa"}, {{"2"}, "bb"}}, by_bigint);
  auto cloud = listing({{{"1"}, "aa"}, {{"2"}, "b0"}}, by_bigint);
  auto diff = diff_rows(site, cloud);
  EXPECT_EQ(diff.different, (keys{{"2"}}));
  EXPECT_EQ(diff.size(), 1u);
}

TEST(ContentDiff, AllThreeKindsAtOnce) {
  auto site = listing({{{"1"}, "aa"}, {{"3"}, "cc"}, {{"5"}, "ee"}}, by_bigint);
  auto cloud = listing({{{"2"}, "bb"}, {{"3"}, "c0"}, {{"5"}, "ee"}, {{"6"}, "ff"}}, by_bigint);
  auto diff = diff_rows(site, cloud);
  EXPECT_EQ(diff.missing, (keys{{"1"}}));
  EXPECT_EQ(diff.extra, (keys{{"2"}, {"6"}}));
  EXPECT_EQ(diff.different, (keys{{"3"}}));
  EXPECT_EQ(diff.size(), 4u);
}

TEST(ContentDiff, KeysAreReportedAsEachSideSpellsThem) {
  const std::vector<column_type> by_uuid{column_type::uuid};
  auto site = listing({{{"0E9A1F3C-5B7D-4E2A-9C1B-ABCDEF012345"}, "aa"},
                       {{"1E9A1F3C-5B7D-4E2A-9C1B-ABCDEF012345"}, "bb"}},
                      by_uuid);
  auto cloud = listing({{{"0e9a1f3c-5b7d-4e2a-9c1b-abcdef012345"}, "a0"},
                        {{"2e9a1f3c-5b7d-4e2a-9c1b-abcdef012345"}, "cc"}},
                       by_uuid);
  auto diff = diff_rows(site, cloud);
  // One key in two spellings is one row: different, named in the site's spelling.
  EXPECT_EQ(diff.different, (keys{{"0E9A1F3C-5B7D-4E2A-9C1B-ABCDEF012345"}}));
  EXPECT_EQ(diff.missing, (keys{{"1E9A1F3C-5B7D-4E2A-9C1B-ABCDEF012345"}}));
  EXPECT_EQ(diff.extra, (keys{{"2e9a1f3c-5b7d-4e2a-9c1b-abcdef012345"}}));
}

TEST(ContentDiff, TimestampKeysMeetAcrossOffsets) {
  const std::vector<column_type> by_time{column_type::timestamptz, column_type::text};
  auto site = listing({{{"2024-01-01T02:00:00+02", "a"}, "aa"}}, by_time);
  auto cloud = listing({{{"2024-01-01 00:00:00+00", "a"}, "aa"}}, by_time);
  EXPECT_TRUE(diff_rows(site, cloud).empty());
}

TEST(ContentDiff, AppendKeepsEveryKind) {
  content_diff into;
  into.missing = {{"1"}};
  content_diff more;
  more.missing = {{"2"}};
  more.extra = {{"3"}};
  more.different = {{"4"}};
  append(into, std::move(more));
  EXPECT_EQ(into.missing, (keys{{"1"}, {"2"}}));
  EXPECT_EQ(into.extra, (keys{{"3"}}));
  EXPECT_EQ(into.different, (keys{{"4"}}));
}

} // namespace
} // namespace tidesync::sync
