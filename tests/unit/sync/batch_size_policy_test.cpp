#include "sync/batch_size_policy.hpp"

#include <gtest/gtest.h>

namespace tidesync::sync {
namespace {

using namespace std::chrono_literals;

constexpr batch_size_bounds bounds{10, 100, 1000};

batch_outcome fast(std::size_t size, std::size_t bytes = 0) {
  return {size, bytes, 100ms, outcome_kind::success};
}
batch_outcome slow(std::size_t size) {
  return {size, 0, 5s, outcome_kind::success};
}
batch_outcome rejected(std::size_t size) {
  return {size, 0, 50ms, outcome_kind::rejected};
}
batch_outcome transient(std::size_t size) {
  return {size, 0, 30s, outcome_kind::transient};
}

TEST(BatchSizePolicy, StartsAtTheInitialSize) {
  EXPECT_EQ(batch_size_policy(bounds).next_size(), 100u);
}

TEST(BatchSizePolicy, GrowsWhileFullBatchesSucceedFast) {
  batch_size_policy policy(bounds);
  policy.record(fast(100));
  EXPECT_EQ(policy.next_size(), 200u);
  policy.record(fast(200));
  EXPECT_EQ(policy.next_size(), 400u);
}

TEST(BatchSizePolicy, NeverGrowsPastTheMaximum) {
  batch_size_policy policy(bounds);
  for (int i = 0; i < 10; ++i)
    policy.record(fast(policy.next_size()));
  EXPECT_EQ(policy.next_size(), 1000u);
}

TEST(BatchSizePolicy, APageSizedBeforeTheLastGrowthStillGrowsIt) {
  // Read ahead: the second page was sized 100 while the first uploaded.
  batch_size_policy policy(bounds);
  policy.record(fast(100));
  EXPECT_EQ(policy.next_size(), 200u);
  policy.record(fast(100));
  EXPECT_EQ(policy.next_size(), 400u);
  // Two growths back is short: it says nothing.
  policy.record(fast(100));
  EXPECT_EQ(policy.next_size(), 400u);
}

TEST(BatchSizePolicy, ShortFastBatchAtTheEndOfTheTableDoesNotGrow) {
  batch_size_policy policy(bounds);
  policy.record(fast(3));
  EXPECT_EQ(policy.next_size(), 100u);
}

TEST(BatchSizePolicy, BatchExactlyAtTheTargetDurationCountsAsFast) {
  batch_size_policy policy(bounds);
  policy.record({100, 0, batch_size_tuning::default_target_duration, outcome_kind::success});
  EXPECT_EQ(policy.next_size(), 200u);
}

TEST(BatchSizePolicy, HalvesWhenABatchIsSlow) {
  batch_size_policy policy(bounds);
  policy.record(slow(100));
  EXPECT_EQ(policy.next_size(), 50u);
}

TEST(BatchSizePolicy, HalvesWhenTheServerRejectsTheData) {
  batch_size_policy policy(bounds);
  policy.record(rejected(100));
  EXPECT_EQ(policy.next_size(), 50u);
}

TEST(BatchSizePolicy, HalvesTheSizeThatFailedWhenItWasSmallerThanTheCurrentOne) {
  batch_size_policy policy(bounds);
  policy.record(rejected(40));
  EXPECT_EQ(policy.next_size(), 20u);
}

TEST(BatchSizePolicy, NeverShrinksBelowTheMinimum) {
  batch_size_policy policy(bounds);
  for (int i = 0; i < 10; ++i)
    policy.record(rejected(policy.next_size()));
  EXPECT_EQ(policy.next_size(), 10u);
  EXPECT_TRUE(policy.at_minimum());
}

TEST(BatchSizePolicy, TransientFailuresLeaveTheSizeAlone) {
  batch_size_policy policy(bounds);
  for (int i = 0; i < 5; ++i)
    policy.record(transient(100));
  EXPECT_EQ(policy.next_size(), 100u);
  EXPECT_EQ(policy.history().size(), 5u);
}

TEST(BatchSizePolicy, ByteLimitStopsGrowth) {
  batch_size_tuning tuning;
  tuning.max_bytes = 30'000; // 100 rows of 100 bytes fit 300 rows
  batch_size_policy policy(bounds, tuning);
  policy.record(fast(100, 10'000));
  EXPECT_EQ(policy.next_size(), 200u);
  policy.record(fast(200, 20'000));
  EXPECT_EQ(policy.next_size(), 300u);
  policy.record(fast(300, 30'000));
  EXPECT_EQ(policy.next_size(), 300u) << "the byte limit never shrinks a working size";
}

TEST(BatchSizePolicy, RepairsInconsistentBounds) {
  const batch_size_policy zero_min({0, 0, 0});
  EXPECT_EQ(zero_min.bounds(), (batch_size_bounds{1, 1, 1}));
  const batch_size_policy initial_too_big({10, 5000, 1000});
  EXPECT_EQ(initial_too_big.next_size(), 1000u);
}

TEST(BatchSizePolicy, ZeroFactorsDoNotZeroTheSizeOrDivideByZero) {
  batch_size_tuning tuning;
  tuning.growth_factor = 0;
  tuning.shrink_divisor = 0;
  batch_size_policy policy(bounds, tuning);
  policy.record(fast(100));
  policy.record(rejected(100));
  EXPECT_EQ(policy.next_size(), 100u);
}

TEST(BatchSizePolicy, KeepsOnlyTheLastOutcomes) {
  batch_size_tuning tuning;
  tuning.history_limit = 3;
  batch_size_policy policy(bounds, tuning);
  for (std::size_t size = 1; size <= 5; ++size)
    policy.record(transient(size));
  ASSERT_EQ(policy.history().size(), 3u);
  EXPECT_EQ(policy.history().front().size, 3u);
  EXPECT_EQ(policy.history().back().size, 5u);
}

TEST(BatchSizePolicy, RestoringFromTextGivesTheSameNextSizeAndHistory) {
  batch_size_policy policy(bounds);
  for (int i = 0; i < 40; ++i) // more than the history keeps
    policy.record(i % 7 == 0 ? slow(policy.next_size()) : fast(policy.next_size(), 4096));
  policy.record(transient(5));
  const auto restored = batch_size_policy::from_string(policy.to_string(), bounds);
  ASSERT_TRUE(restored);
  EXPECT_EQ(restored->next_size(), policy.next_size());
  EXPECT_EQ(restored->history(), policy.history());
  auto continued = *restored;
  continued.record(fast(continued.next_size()));
  policy.record(fast(policy.next_size()));
  EXPECT_EQ(continued.next_size(), policy.next_size());
}

TEST(BatchSizePolicy, RestoringUnderNewBoundsClampsTheSize) {
  batch_size_policy policy(bounds);
  policy.record(fast(100));
  const auto restored = batch_size_policy::from_string(policy.to_string(), {10, 50, 150});
  ASSERT_TRUE(restored);
  EXPECT_EQ(restored->next_size(), 150u);
}

TEST(BatchSizePolicy, RestoringRefusesMalformedText) {
  for (std::string_view text :
       {"", "batch_size_policy/2 100\n", "batch_size_policy/1\n", "batch_size_policy/1 x\n",
        "batch_size_policy/1 100\nsuccess 1 2\n", "batch_size_policy/1 100\nfine 1 2 3\n",
        "batch_size_policy/1 100\nsuccess 1 2 3 4\n", "batch_size_policy/1 100\nsuccess -1 2 3\n"})
    EXPECT_FALSE(batch_size_policy::from_string(text, bounds)) << text;
}

TEST(BatchOutcome, KindNamesRoundTrip) {
  for (auto kind : {outcome_kind::success, outcome_kind::rejected, outcome_kind::transient})
    EXPECT_EQ(outcome_kind_from_string(to_string(kind)), kind);
  EXPECT_FALSE(outcome_kind_from_string("Success"));
}

} // namespace
} // namespace tidesync::sync
