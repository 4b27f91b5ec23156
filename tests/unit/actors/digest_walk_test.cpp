#include "actors/digest_walk.hpp"

#include "tests/unit/actors/fakes.hpp"

#include <gtest/gtest.h>

namespace tidesync::testing {

namespace {

constexpr const char* database_id = "db-store";

class DigestWalk : public ::testing::Test {
protected:
  void SetUp() override {
    for (int id = 1; id <= 5000; ++id) {
      site_->put("orders", id, "order " + std::to_string(id));
      auto version = site_->tables["orders"][id].version;
      server_->databases[database_id]["orders"][id] = fake_row{"order " + std::to_string(id), version};
    }
    schema_ = source_.describe("orders", {}, "tidesync_version", std::nullopt);
  }

  actors::digest_walk walk() {
    actors::digest_walk_settings settings;
    settings.range_rows = 100;
    settings.rows_per_request = 2000;
    settings.leaf_rows = 20;
    settings.fan_out = 4;
    return actors::digest_walk{source_, "orders", schema_,
                               [this](const protocol::digest_request& request) {
                                 auto answer = remote_.digests(database_id, "orders", schema_, request);
                                 return answer.value;
                               },
                               settings};
  }

  fake_rows& cloud() { return server_->databases[database_id]["orders"]; }

  static std::vector<sync::row_key> keys(std::initializer_list<int> ids) {
    std::vector<sync::row_key> out;
    for (auto id : ids)
      out.push_back({std::to_string(id)});
    return out;
  }

  std::shared_ptr<fake_site> site_ = std::make_shared<fake_site>();
  std::shared_ptr<fake_server> server_ = std::make_shared<fake_server>();
  fake_source source_{site_};
  fake_remote remote_{server_};
  protocol::table_schema schema_;
};

} // namespace

TEST_F(DigestWalk, IdenticalCopiesCostOneRequestPerRequestWorthOfRanges) {
  auto result = walk().run(std::nullopt, 0);
  EXPECT_TRUE(result.diff.empty());
  EXPECT_EQ(result.rows_compared, 5000);
  EXPECT_EQ(result.cloud_rows, 5000);
  EXPECT_EQ(result.ranges_compared, 50);
  EXPECT_EQ(server_->calls_of("digests"), 3);  // 2000 rows of ranges per request
  EXPECT_FALSE(result.next.has_value());
}

TEST_F(DigestWalk, FindsEveryKindOfDifferenceDownToTheRowsIncludingTheEdges) {
  cloud()[1].note = "changed in the cloud";     // first key
  cloud()[5000].note = "changed in the cloud";  // last key
  cloud().erase(2500);                          // missing in the middle
  cloud()[0] = fake_row{"before the first", 1};  // extra before the first site key
  cloud()[9999] = fake_row{"after the last", 1}; // extra after the last
  cloud()[1234].version += 1;                   // same content, another version
  auto result = walk().run(std::nullopt, 0);
  EXPECT_EQ(result.diff.missing, keys({2500}));
  EXPECT_EQ(result.diff.extra, keys({0, 9999}));
  EXPECT_EQ(result.diff.different, keys({1, 1234, 5000}));
  EXPECT_EQ(result.cloud_rows, 5001);
  // Bisection, not a listing of everything: far fewer rows listed than held.
  EXPECT_LT(server_->calls_of("digests"), 60);
}

TEST_F(DigestWalk, ABoundedWalkStopsAtARangeBoundaryAndTheNextOneCoversTheRest) {
  cloud()[4990].note = "changed";
  auto first = walk().run(std::nullopt, 1000);
  ASSERT_TRUE(first.next.has_value());
  EXPECT_EQ(first.rows_compared, 1000);
  EXPECT_TRUE(first.diff.empty());
  std::int64_t rows = first.rows_compared;
  auto next = first.next;
  sync::content_diff found;
  while (next) {
    auto slice = walk().run(next, 1000);
    rows += slice.rows_compared;
    sync::append(found, std::move(slice.diff));
    next = slice.next;
  }
  EXPECT_EQ(rows, 5000);
  EXPECT_EQ(found.different, keys({4990}));
}

TEST_F(DigestWalk, WalkingTheRangesThatDifferedAgainConfirmsARepair) {
  cloud()[42].note = "changed";
  auto result = walk().run(std::nullopt, 0);
  ASSERT_EQ(result.diff.different, keys({42}));
  ASSERT_EQ(result.differing.size(), 1u);
  cloud()[42].note = "order 42";
  auto again = walk().run_ranges(result.differing);
  EXPECT_TRUE(again.diff.empty());
  EXPECT_EQ(again.rows_compared, 100);
}

TEST_F(DigestWalk, AnEmptyCloudCopyListsEveryRowAsMissing) {
  cloud().clear();
  auto result = walk().run(std::nullopt, 0);
  EXPECT_EQ(result.diff.missing.size(), 5000u);
  EXPECT_TRUE(result.diff.extra.empty());
  // A range the cloud holds nothing of is not bisected.
  EXPECT_EQ(server_->calls_of("digests"), 3);
}

} // namespace tidesync::testing
