#include "sync/cycle_schedule.hpp"

#include <gtest/gtest.h>

#include <random>
#include <set>
#include <string>

namespace tidesync::sync {
namespace {

using namespace std::chrono_literals;
using clock_duration = schedule_clock::duration;

schedule_clock::time_point at(clock_duration since_epoch) {
  return schedule_clock::time_point{since_epoch};
}

TEST(CycleSchedule, PhasesAreWholeSlotsWithinTheInterval) {
  std::set<clock_duration> seen;
  for (int i = 0; i < 1000; ++i) {
    const auto phase = phase_of("db" + std::to_string(i), 2s);
    EXPECT_GE(phase, clock_duration::zero());
    EXPECT_LT(phase, clock_duration{2s});
    EXPECT_EQ(phase % phase_slot, clock_duration::zero()) << "db" << i;
    seen.insert(phase);
  }
  // A thousand names take every one of the interval's 20 slots.
  EXPECT_EQ(seen.size(), 20u);
}

TEST(CycleSchedule, APhaseBelongsToTheName) {
  EXPECT_EQ(phase_of("store_0042", 60s), phase_of("store_0042", 60s));
  std::set<clock_duration> phases;
  for (const auto* name : {"a", "b", "c", "d", "e", "f", "g", "h"})
    phases.insert(phase_of(name, 60s));
  EXPECT_GT(phases.size(), 4u) << "names spread over the interval";
}

TEST(CycleSchedule, AnIntervalShorterThanTwoSlotsHasOnePhase) {
  EXPECT_EQ(phase_of("db1", 150ms), clock_duration::zero());
  EXPECT_EQ(phase_of("db2", 50ms), clock_duration::zero());
  EXPECT_EQ(phase_of("db3", clock_duration::zero()), clock_duration::zero());
}

TEST(CycleSchedule, TheAnchorIsThePhaseOfThisIntervalOrTheNext) {
  // now = 10 intervals + 700 ms: a phase of 1.2 s is still ahead in this
  // interval, one of 300 ms has passed and falls in the next.
  const auto now = at(20s + 700ms);
  EXPECT_EQ(phase_anchor(now, 2s, 1200ms), at(21s + 200ms));
  EXPECT_EQ(phase_anchor(now, 2s, 300ms), at(22s + 300ms));
  EXPECT_EQ(phase_anchor(now, 2s, 700ms), now) << "a phase right now is now";
}

TEST(CycleSchedule, DatabasesOfOnePhaseShareTheirStartsWhenEverEachBegan) {
  std::mt19937_64 random{20261202};
  std::uniform_int_distribution<std::int64_t> offset_us(0, 5'000'000);
  const auto phase = phase_of("db0007", 2s);
  const auto first = phase_anchor(at(1000s), 2s, phase);
  for (int i = 0; i < 200; ++i) {
    const auto began = at(1000s + std::chrono::microseconds{offset_us(random)});
    const auto anchor = phase_anchor(began, 2s, phase);
    EXPECT_GE(anchor, began);
    EXPECT_LT(anchor - began, clock_duration{2s});
    EXPECT_EQ((anchor - first) % clock_duration{2s}, clock_duration::zero())
      << "began " << (began - at(1000s)).count() << " ns after";
  }
}

TEST(CycleSchedule, TheNextStartIsAWholeIntervalAfterTheAnchorOrLater) {
  const auto anchor = at(100s + 300ms);
  // A cycle that ended before the anchor (the first one, run at once).
  EXPECT_EQ(next_start(anchor, at(100s), 2s), at(102s + 300ms));
  // One that ended within the interval after it.
  EXPECT_EQ(next_start(anchor, at(101s), 2s), at(102s + 300ms));
  // One that ran past two starts skips them, it does not run back to back.
  EXPECT_EQ(next_start(anchor, at(106s + 400ms), 2s), at(108s + 300ms));
  // Ended exactly at a start: the next one.
  EXPECT_EQ(next_start(anchor, at(104s + 300ms), 2s), at(106s + 300ms));
}

TEST(CycleSchedule, AZeroIntervalStillMovesForward) {
  const auto anchor = at(5s);
  EXPECT_GT(next_start(anchor, at(5s), clock_duration::zero()), at(5s));
  EXPECT_GE(phase_anchor(at(5s), clock_duration::zero(), clock_duration::zero()), at(5s));
}

} // namespace
} // namespace tidesync::sync
