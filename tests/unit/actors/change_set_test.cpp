#include "actors/change_set.hpp"

#include "actors/change_watcher.hpp"
#include "actors/table_selection.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

namespace tidesync::testing {

namespace {

using actors::change_set;
using namespace std::chrono_literals;

const auto never_stopped = [] { return false; };

TEST(ChangeSet, ManyMarksOfOneTableAreTakenOnce) {
  change_set changes{{2, 3}};
  for (int i = 0; i < 10'000; ++i)
    changes.mark_table(1, 2);
  auto taken = changes.take();
  EXPECT_TRUE(taken.includes(1, 2));
  EXPECT_FALSE(taken.includes(1, 0));
  EXPECT_FALSE(taken.any_in(0));
  EXPECT_FALSE(changes.take().any());
}

TEST(ChangeSet, MarkingADatabaseMarksEachOfItsTablesOnly) {
  change_set changes{{2, 3}};
  changes.mark_database(1);
  auto taken = changes.take();
  EXPECT_FALSE(taken.any_in(0));
  for (std::size_t t = 0; t < 3; ++t)
    EXPECT_TRUE(taken.includes(1, t));
}

TEST(ChangeSet, MarksOutOfRangeAreIgnored) {
  change_set changes{{1}};
  changes.mark_table(0, 5);
  changes.mark_table(4, 0);
  changes.mark_database(7);
  EXPECT_FALSE(changes.take().any());
}

TEST(ChangeSet, WaitWithoutMarksLastsUntilTheDeadline) {
  change_set changes{{1}};
  const auto start = change_set::clock::now();
  changes.wait(start, start + 50ms, never_stopped);
  EXPECT_GE(change_set::clock::now() - start, 50ms);
}

TEST(ChangeSet, AMarkEndsTheWaitLongBeforeTheDeadline) {
  change_set changes{{1}};
  const auto start = change_set::clock::now();
  std::thread marker([&] {
    std::this_thread::sleep_for(20ms);
    changes.mark_table(0, 0);
  });
  changes.wait(start, start + 60s, never_stopped);
  marker.join();
  EXPECT_LT(change_set::clock::now() - start, 30s);
  EXPECT_TRUE(changes.take().includes(0, 0));
}

TEST(ChangeSet, AMarkDoesNotEndTheWaitBeforeTheGap) {
  change_set changes{{1}};
  changes.mark_table(0, 0);
  const auto start = change_set::clock::now();
  changes.wait(start + 100ms, start + 60s, never_stopped);
  const auto waited = change_set::clock::now() - start;
  EXPECT_GE(waited, 100ms);
  EXPECT_LT(waited, 30s);
}

TEST(ChangeSet, AStopEndsTheWaitWhenInterrupted) {
  change_set changes{{1}};
  std::atomic<bool> stop{false};
  const auto start = change_set::clock::now();
  std::thread stopper([&] {
    std::this_thread::sleep_for(20ms);
    stop = true;
    changes.interrupt();
  });
  changes.wait(start, start + 60s, [&] { return stop.load(); });
  stopper.join();
  EXPECT_LT(change_set::clock::now() - start, 30s);
  EXPECT_FALSE(changes.take().any());
}

TEST(ChangeSet, ABurstOfMarksFromAnotherThreadCostsFewWakeUps) {
  // 10,000 marks as fast as they come while the taker honours a 20 ms gap:
  // it wakes a handful of times, never once per mark.
  change_set changes{{1}};
  std::atomic<bool> done{false};
  std::thread marker([&] {
    for (int i = 0; i < 10'000; ++i)
      changes.mark_table(0, 0);
    done = true;
    changes.interrupt();
  });
  int wakes = 0;
  auto last = change_set::clock::time_point{};
  while (!done) {
    changes.wait(last + 20ms, change_set::clock::now() + 60s, [&] { return done.load(); });
    last = change_set::clock::now();
    if (changes.take().any())
      ++wakes;
  }
  marker.join();
  EXPECT_LE(wakes, 10'000 / 100);
}

config::database_config orders_and_lines() {
  config::database_config database{"store", "postgresql://h/db", {}};
  database.tables.push_back(
      {"orders", {}, "tidesync_version", std::nullopt, {}, std::nullopt, std::nullopt});
  database.tables.push_back(
      {"order_lines", {}, "tidesync_version", std::nullopt, {}, std::nullopt, std::nullopt});
  return database;
}

TEST(TablesWokenBy, APayloadNamingAConfiguredTableWakesThatTableOnly) {
  EXPECT_EQ(actors::tables_woken_by(orders_and_lines(), "order_lines"),
            (std::vector<std::size_t>{1}));
}

TEST(TablesWokenBy, AnUnknownOrHostilePayloadWakesEveryTableOfTheDatabase) {
  const std::vector<std::size_t> every{0, 1};
  for (const auto* payload :
       {"", "ORDERS", "public.orders", "orders\"; DROP TABLE x; --", "a b", "'", "\xff\xfe"})
    EXPECT_EQ(actors::tables_woken_by(orders_and_lines(), payload), every) << payload;
}

TEST(TableSelection, AddAllJoinsTwoSelectionsAndIgnoresTablesOutOfRange) {
  auto into = actors::table_selection::none({2, 3});
  into.add(0, 1);
  auto other = actors::table_selection::none({2, 4});
  other.add(1, 2);
  other.add(1, 3);  // no such table in `into`
  into.add_all(other);
  EXPECT_TRUE(into.includes(0, 1));
  EXPECT_TRUE(into.includes(1, 2));
  EXPECT_FALSE(into.includes(1, 3));
  EXPECT_FALSE(into.includes(0, 0));
  EXPECT_FALSE(into.includes(1, 0));
}

} // namespace

} // namespace tidesync::testing
