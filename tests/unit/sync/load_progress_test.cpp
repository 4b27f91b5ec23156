#include "sync/load_progress.hpp"

#include <gtest/gtest.h>

namespace tidesync::sync {
namespace {

using namespace std::chrono_literals;

TEST(LoadProgress, SaysRowsRateAndTimeLeftOncePerPeriodAtASteadyPace) {
  const load_progress::clock::time_point t0{};
  load_progress progress{1'000'000, t0};
  progress.add(50'000);
  EXPECT_FALSE(progress.due(t0 + 9s)) << "a load shorter than the period says nothing";
  progress.add(300'000);
  EXPECT_TRUE(progress.due(t0 + 10s));
  EXPECT_FALSE(progress.due(t0 + 10s + 500ms)) << "once per period, not per batch";
  EXPECT_EQ(progress.describe(t0 + 10s),
            "350000 of about 1000000 rows (35%), 35000 rows/s, about 19 s left");
  // A late line moves the next one a whole period after it.
  EXPECT_TRUE(progress.due(t0 + 25s));
  EXPECT_FALSE(progress.due(t0 + 34s));
  EXPECT_TRUE(progress.due(t0 + 35s));
}

TEST(LoadProgress, UnknownOrOvershotCountsAndNoTimeLeaveTheEstimateOut) {
  const load_progress::clock::time_point t0{};
  load_progress unknown{0, t0};
  unknown.add(1200);
  EXPECT_EQ(unknown.describe(t0 + 2s), "1200 rows, 600 rows/s");
  EXPECT_FALSE(unknown.seconds_left(t0 + 2s));

  load_progress grew{1000, t0};  // the site kept writing during the load
  grew.add(1500);
  EXPECT_EQ(grew.describe(t0 + 1s), "1500 rows, 1500 rows/s");

  load_progress fresh{1000, t0};
  EXPECT_EQ(fresh.rate(t0), 0.0);
  EXPECT_FALSE(fresh.seconds_left(t0));
  EXPECT_EQ(load_progress(-5, t0).expected(), 0);
}

TEST(LoadProgress, DurationsReadAsAnOperatorWould) {
  EXPECT_EQ(duration_text(0), "0 s");
  EXPECT_EQ(duration_text(-3), "0 s");
  EXPECT_EQ(duration_text(119.4), "119 s");
  EXPECT_EQ(duration_text(125), "2 min");
  EXPECT_EQ(duration_text(3 * 3600 + 5 * 60 + 9), "3 h 5 min");
}

} // namespace
} // namespace tidesync::sync
