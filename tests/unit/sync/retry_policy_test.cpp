#include "sync/retry_policy.hpp"

#include <gtest/gtest.h>

#include <limits>

namespace tidesync::sync {
namespace {

using namespace std::chrono_literals;

constexpr std::size_t min_size = 10;

TEST(ShouldSkip, SkipsARejectedBatchAtTheMinimumSize) {
  EXPECT_TRUE(should_skip({10, 0, 1s, outcome_kind::rejected}, 10, min_size));
}

TEST(ShouldSkip, SkipsARejectedBatchThatWasAlreadySmallerThanTheMinimum) {
  EXPECT_TRUE(should_skip({3, 0, 1s, outcome_kind::rejected}, 500, min_size));
}

TEST(ShouldSkip, RetriesSmallerWhenARejectedBatchWasAboveTheMinimum) {
  EXPECT_FALSE(should_skip({40, 0, 1s, outcome_kind::rejected}, 40, min_size));
}

TEST(ShouldSkip, NeverSkipsOnTransientFailures) {
  EXPECT_FALSE(should_skip({1, 0, 30s, outcome_kind::transient}, 1, min_size));
  EXPECT_FALSE(should_skip({10, 0, 30s, outcome_kind::transient}, 10, min_size));
}

TEST(ShouldSkip, NeverSkipsOnSuccess) {
  EXPECT_FALSE(should_skip({10, 0, 1s, outcome_kind::success}, 10, min_size));
}

TEST(RetryDelay, DoublesPerAttemptFromOneSecond) {
  EXPECT_EQ(retry_delay(1, std::nullopt, 0.0), 500ms);
  EXPECT_EQ(retry_delay(2, std::nullopt, 0.0), 1s);
  EXPECT_EQ(retry_delay(3, std::nullopt, 0.0), 2s);
  EXPECT_EQ(retry_delay(0, std::nullopt, 0.0), 500ms) << "attempt 0 counts as the first";
}

TEST(RetryDelay, JitterSpreadsTheDelayBelowTheCeiling) {
  EXPECT_EQ(retry_delay(3, std::nullopt, 0.5), 3s);
  EXPECT_LT(retry_delay(3, std::nullopt, 0.999999), 4s);
  EXPECT_GE(retry_delay(3, std::nullopt, 0.999999), 3999ms);
}

TEST(RetryDelay, IsCappedAtOneMinute) {
  EXPECT_LT(retry_delay(7, std::nullopt, 0.99), 60s);
  EXPECT_EQ(retry_delay(1000, std::nullopt, 0.0), 30s);
  EXPECT_LT(retry_delay(std::numeric_limits<unsigned>::max(), std::nullopt, 0.99), 60s);
}

TEST(RetryDelay, NeverWaitsLessThanRetryAfter) {
  EXPECT_EQ(retry_delay(1, 5s, 0.0), 5s);
  EXPECT_EQ(retry_delay(1, 10min, 0.0), 10min) << "the server's word beats the cap";
  EXPECT_EQ(retry_delay(3, 1s, 0.0), 2s) << "a short Retry-After does not shorten the backoff";
}

TEST(RetryDelay, OutOfRangeJitterIsClampedIntoTheSpread) {
  EXPECT_EQ(retry_delay(3, std::nullopt, -4.0), 2s);
  EXPECT_LT(retry_delay(3, std::nullopt, 7.0), 4s);
  EXPECT_EQ(retry_delay(3, std::nullopt, std::numeric_limits<double>::quiet_NaN()), 2s);
}

TEST(RetryDelay, HonoursCustomSettings) {
  const retry_settings settings{100ms, 400ms};
  EXPECT_EQ(retry_delay(1, std::nullopt, 0.0, settings), 50ms);
  EXPECT_EQ(retry_delay(9, std::nullopt, 0.0, settings), 200ms);
}

} // namespace
} // namespace tidesync::sync
