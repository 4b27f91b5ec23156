#include "actors/table_report.hpp"

#include <gtest/gtest.h>

namespace tidesync::actors {
namespace {

table_report failed_table(const std::string& table, const std::string& error) {
  table_report report;
  report.database = "store-01";
  report.table = table;
  report.state = table_state::error;
  report.error = error;
  return report;
}

TEST(AgentReport, ADatabaseFailureIsPrintedOnceOnEachTableLineAndNotAgain) {
  const std::string cause = "register database: connect to 127.0.0.1:1: Connection refused";
  agent_report report{{database_report{
      "store-01", {failed_table("orders", cause), failed_table("items", cause)}, cause}}};
  const auto lines = report.summary_lines();
  EXPECT_EQ(lines, "store-01 orders error uploaded=0 deleted=0 skipped=0 error: " + cause + "\n"
                   "store-01 items error uploaded=0 deleted=0 skipped=0 error: " + cause + "\n");
  EXPECT_FALSE(report.all_in_sync());
}

TEST(AgentReport, ADatabaseFailureWithoutTableLinesGetsALineOfItsOwn) {
  agent_report report{{database_report{"store-02", {}, "no tables configured"}}};
  EXPECT_EQ(report.summary_lines(), "store-02 error: no tables configured\n");
  EXPECT_FALSE(report.all_in_sync());
}

TEST(AgentReport, EachNamedSkippedRowGetsALineWithItsKeyAndReasonThenTheRestAreCounted) {
  table_report orders;
  orders.database = "store-01";
  orders.table = "orders";
  orders.state = table_state::skipped;
  orders.rows_uploaded = 118;
  orders.skipped_rows = 3;
  orders.skipped = {{"[60]", "column day: bad date"}, {R"({"site_key":["abc"]})", "key column id: x"}};
  agent_report report{{database_report{"store-01", {orders}, ""}}};
  EXPECT_EQ(report.summary_lines(),
            "store-01 orders skipped uploaded=118 deleted=0 skipped=3\n"
            "store-01 orders skipped row [60]: column day: bad date\n"
            "store-01 orders skipped row {\"site_key\":[\"abc\"]}: key column id: x\n"
            "store-01 orders and 1 more skipped rows (tidesync status counts them)\n");
  EXPECT_FALSE(report.all_in_sync());
}

} // namespace
} // namespace tidesync::actors
