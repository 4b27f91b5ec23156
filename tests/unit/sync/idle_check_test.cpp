#include "sync/idle_check.hpp"

#include <gtest/gtest.h>

namespace tidesync::sync {
namespace {

using namespace std::chrono_literals;

const auto start = idle_clock::time_point{} + 1000s;
const protocol::table_version remote{20, 7, std::nullopt};

quiet_table last(std::vector<std::string> writers = {}) {
  return quiet_table{"41:900", std::move(writers), remote, start};
}

idle_view view(std::optional<std::string> token = "41:900",
               std::vector<std::string> writers = {},
               std::optional<protocol::table_version> at_server = remote,
               idle_clock::duration later = 2s) {
  return idle_view{std::move(token), std::move(writers), std::move(at_server), start + later};
}

TEST(IdleCheck, AnUnchangedTableWithNoWriterIsSkipped) {
  EXPECT_TRUE(may_skip(last(), view(), 5min));
}

TEST(IdleCheck, AMovedTokenOrNoCounterMeansRead) {
  EXPECT_FALSE(may_skip(last(), view("42:900"), 5min));
  EXPECT_FALSE(may_skip(last(), view("41:901"), 5min)) << "the table's definition changed";
  EXPECT_FALSE(may_skip(last(), view(std::nullopt), 5min));
}

// A transaction that moved the counter before the check and had not
// committed: skipped while it runs, read once it has ended.
TEST(IdleCheck, AWriterOfTheChecksTimeIsWaitedForThenRead) {
  EXPECT_TRUE(may_skip(last({"3/17"}), view("41:900", {"3/17"}), 5min));
  EXPECT_TRUE(may_skip(last({"3/17"}), view("41:900", {"3/17", "4/2"}), 5min))
    << "a newer writer has not moved the token yet";
  EXPECT_FALSE(may_skip(last({"3/17"}), view("41:900", {}), 5min));
  EXPECT_FALSE(may_skip(last({"3/17", "4/2"}), view("41:900", {"4/2"}), 5min));
}

TEST(IdleCheck, AServerSummaryOtherThanTheChecksMeansRead) {
  EXPECT_FALSE(may_skip(last(), view("41:900", {}, protocol::table_version{19, 7, {}}), 5min));
  EXPECT_FALSE(may_skip(last(), view("41:900", {}, std::nullopt), 5min))
    << "the server lost the table";
}

TEST(IdleCheck, ACheckOlderThanTheRecheckIntervalIsReadAgain) {
  EXPECT_TRUE(may_skip(last(), view("41:900", {}, remote, 299s), 5min));
  EXPECT_FALSE(may_skip(last(), view("41:900", {}, remote, 300s), 5min));
}

} // namespace
} // namespace tidesync::sync
