#include "server/fair_schedule.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

using namespace tidesync::server;

namespace {

using verdict = fair_schedule::verdict;

// Two workers, one of them at most per client: the shape that protects a
// second client on the smallest shared pool.
fair_schedule::limits two_workers_one_per_client(std::size_t max_waiting = 8,
                                                 std::size_t lane_max_waiting = 4) {
  return {2, max_waiting, 1, lane_max_waiting};
}

// Starts what may start now and returns the lanes in the order they started.
std::vector<std::string> start_all(fair_schedule& schedule) {
  std::vector<std::string> lanes;
  while (auto next = schedule.start_next())
    lanes.push_back(next->lane);
  return lanes;
}

} // namespace

TEST(FairSchedule, AClientRunsUpToItsShareAndItsOtherJobsWait) {
  fair_schedule schedule{two_workers_one_per_client()};
  for (fair_schedule::ticket t = 0; t < 3; ++t)
    ASSERT_EQ(schedule.enqueue("noisy", t), verdict::queued);
  EXPECT_EQ(start_all(schedule), std::vector<std::string>{"noisy"});
  EXPECT_EQ(schedule.running(), 1u);
  EXPECT_EQ(schedule.queued("noisy"), 2u);
  EXPECT_EQ(schedule.waiting(), 2u); // a worker is free, but not for them
}

TEST(FairSchedule, JobsOfOneClientStartInTheOrderTheyCame) {
  fair_schedule schedule{{1, 8, 1, 8}};
  for (fair_schedule::ticket t = 10; t < 13; ++t)
    ASSERT_EQ(schedule.enqueue("acme", t), verdict::queued);
  for (fair_schedule::ticket t = 10; t < 13; ++t) {
    auto next = schedule.start_next();
    ASSERT_TRUE(next);
    EXPECT_EQ(next->job, t);
    schedule.finish("acme");
  }
}

TEST(FairSchedule, AClientOverItsShareOfWorkersAndOfTheQueueIsRefusedAsFull) {
  fair_schedule schedule{two_workers_one_per_client(8, 2)};
  for (fair_schedule::ticket t = 0; t < 3; ++t)
    ASSERT_EQ(schedule.enqueue("noisy", t), verdict::queued); // 1 to run, 2 to wait
  EXPECT_EQ(schedule.enqueue("noisy", 3), verdict::lane_full);
  start_all(schedule);
  EXPECT_EQ(schedule.enqueue("noisy", 4), verdict::lane_full) << "its share is held, not freed";
  EXPECT_EQ(schedule.admits("noisy"), verdict::lane_full);
}

TEST(FairSchedule, AnotherClientIsAdmittedAndStartsAtOnceWhileOneIsFull) {
  fair_schedule schedule{two_workers_one_per_client(8, 2)};
  for (fair_schedule::ticket t = 0; t < 3; ++t)
    schedule.enqueue("noisy", t);
  start_all(schedule);
  ASSERT_EQ(schedule.admits("noisy"), verdict::lane_full);

  EXPECT_EQ(schedule.admits("quiet"), verdict::queued);
  ASSERT_EQ(schedule.enqueue("quiet", 9), verdict::queued);
  auto next = schedule.start_next();
  ASSERT_TRUE(next);
  EXPECT_EQ(next->lane, "quiet");
  EXPECT_EQ(next->job, 9u);
  EXPECT_EQ(schedule.running(), 2u);
}

TEST(FairSchedule, ClientsWithQueuedJobsTakeTurnsWhenAWorkerFreesUp) {
  fair_schedule schedule{{1, 16, 1, 16}};
  for (fair_schedule::ticket t = 0; t < 3; ++t)
    schedule.enqueue("a", t);
  for (fair_schedule::ticket t = 0; t < 3; ++t)
    schedule.enqueue("b", t);
  schedule.enqueue("c", 0);
  std::vector<std::string> order;
  while (auto next = schedule.start_next()) {
    order.push_back(next->lane);
    schedule.finish(next->lane);
  }
  EXPECT_EQ(order, (std::vector<std::string>{"a", "b", "c", "a", "b", "a", "b"}));
  EXPECT_EQ(schedule.queued(), 0u);
}

TEST(FairSchedule, AClientPassedOverAtItsShareIsFirstInTurnOnceItsJobEnds) {
  fair_schedule schedule{{2, 16, 1, 16}};
  schedule.enqueue("noisy", 0);
  schedule.enqueue("noisy", 1);
  ASSERT_EQ(start_all(schedule), std::vector<std::string>{"noisy"});
  schedule.enqueue("quiet", 0);
  schedule.enqueue("quiet", 1);
  ASSERT_EQ(start_all(schedule), std::vector<std::string>{"quiet"});

  // Both workers busy; noisy has waited longest, so its job is next.
  schedule.finish("quiet");
  schedule.finish("noisy");
  EXPECT_EQ(start_all(schedule), (std::vector<std::string>{"noisy", "quiet"}));
}

TEST(FairSchedule, ThePoolIsFullWhenEveryWorkerRunsAndMaxWaitingJobsWait) {
  fair_schedule schedule{{2, 2, 2, 2}};
  schedule.enqueue("a", 0);
  schedule.enqueue("b", 0);
  start_all(schedule);
  ASSERT_EQ(schedule.enqueue("c", 0), verdict::queued);
  ASSERT_EQ(schedule.enqueue("d", 0), verdict::queued);
  EXPECT_EQ(schedule.waiting(), 2u);
  EXPECT_EQ(schedule.enqueue("e", 0), verdict::pool_full);
  EXPECT_EQ(schedule.admits("a"), verdict::pool_full);
}

TEST(FairSchedule, ARefusedJobLeavesNoTrace) {
  fair_schedule schedule{{1, 0, 1, 0}};
  ASSERT_EQ(schedule.enqueue("a", 0), verdict::queued);
  start_all(schedule);
  EXPECT_EQ(schedule.enqueue("a", 1), verdict::lane_full);
  EXPECT_EQ(schedule.enqueue("b", 1), verdict::pool_full);
  EXPECT_EQ(schedule.queued(), 0u);
  EXPECT_EQ(schedule.queued("b"), 0u);
  EXPECT_FALSE(schedule.start_next());
  schedule.finish("a");
  EXPECT_EQ(schedule.running(), 0u);
  EXPECT_EQ(schedule.enqueue("b", 2), verdict::queued);
}

TEST(FairSchedule, WithNoWaitingRoomAJobIsTakenOnlyWhenAFreeWorkerMayStartIt) {
  fair_schedule schedule{{2, 0, 1, 0}};
  EXPECT_EQ(schedule.enqueue("a", 0), verdict::queued);
  EXPECT_EQ(schedule.enqueue("a", 1), verdict::lane_full); // a worker is free, but not for a
  EXPECT_EQ(schedule.enqueue("b", 0), verdict::queued);
  EXPECT_EQ(schedule.enqueue("c", 0), verdict::pool_full);
  EXPECT_EQ(start_all(schedule), (std::vector<std::string>{"a", "b"}));
}

TEST(FairSchedule, OneClientWithTheWholePoolIsOneFifoQueueAsBefore) {
  // pool_size 2, max_waiting 1, no shares: two run, one waits, the next is refused.
  fair_schedule schedule{{2, 1, 2, 1}};
  ASSERT_EQ(schedule.enqueue("acme", 0), verdict::queued);
  ASSERT_EQ(schedule.enqueue("acme", 1), verdict::queued);
  ASSERT_EQ(schedule.enqueue("acme", 2), verdict::queued); // taken before any worker woke
  EXPECT_EQ(schedule.enqueue("acme", 3), verdict::lane_full);
  EXPECT_EQ(start_all(schedule).size(), 2u);
  EXPECT_EQ(schedule.waiting(), 1u);
}

TEST(FairSchedule, QueuedJobsAFreeWorkerMayStartAreNotCountedAsWaiting) {
  fair_schedule schedule{{2, 0, 2, 0}};
  ASSERT_EQ(schedule.enqueue("a", 0), verdict::queued);
  ASSERT_EQ(schedule.enqueue("b", 0), verdict::queued);
  EXPECT_EQ(schedule.queued(), 2u);
  EXPECT_EQ(schedule.waiting(), 0u);
}

TEST(FairSchedule, StartNextGivesNothingWhileEveryWorkerIsBusy) {
  fair_schedule schedule{{1, 4, 1, 4}};
  schedule.enqueue("a", 0);
  schedule.enqueue("b", 0);
  ASSERT_TRUE(schedule.start_next());
  EXPECT_FALSE(schedule.start_next());
  EXPECT_EQ(schedule.waiting(), 1u);
}

TEST(FairSchedule, LimitsOutOfRangeAreMadeUsable) {
  fair_schedule none{{0, 0, 0, 0}};
  EXPECT_EQ(none.bounds().workers, 1u);
  EXPECT_EQ(none.bounds().lane_max_running, 1u);
  fair_schedule over{{2, 4, 9, 4}};
  EXPECT_EQ(over.bounds().lane_max_running, 2u) << "a client can't hold more than the pool";
}

TEST(FairSchedule, FinishingForALaneThatRunsNothingChangesNothing) {
  fair_schedule schedule{two_workers_one_per_client()};
  schedule.enqueue("a", 0);
  start_all(schedule);
  schedule.finish("b");
  schedule.finish("");
  EXPECT_EQ(schedule.running(), 1u);
  EXPECT_EQ(schedule.running("a"), 1u);
  schedule.finish("a");
  schedule.finish("a");
  EXPECT_EQ(schedule.running(), 0u);
}

TEST(FairSchedule, TheEmptyLaneIsALaneLikeAnyOther) {
  fair_schedule schedule{two_workers_one_per_client(8, 0)};
  ASSERT_EQ(schedule.enqueue("", 0), verdict::queued);
  EXPECT_EQ(schedule.enqueue("", 1), verdict::lane_full);
  EXPECT_EQ(schedule.enqueue("acme", 0), verdict::queued);
  EXPECT_EQ(start_all(schedule), (std::vector<std::string>{"", "acme"}));
}
