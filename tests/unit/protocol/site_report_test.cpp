#include "protocol/site_report.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

namespace tidesync::protocol {
namespace {

TEST(SiteReport, RoundTripsHostileTableNamesAndStaysPrintableAscii) {
  site_report report{50, 3, 37.5, 1200, {}, std::nullopt};
  report.lagging = {{"orders", "ahead", 37.5, 1200},
                    {"we;ird:,name=\"x\"%", "error", 60, 0},
                    {"таблица", "behind", 0.5, 7}};
  auto value = to_header_value(report);
  for (char c : value)
    EXPECT_TRUE(c >= 0x20 && c < 0x7f) << value;
  auto read = parse_site_report(value);
  ASSERT_TRUE(read) << value;
  EXPECT_EQ(*read, report);
}

TEST(SiteReport, RandomReportsRoundTrip) {
  std::mt19937_64 random{20261202};
  std::uniform_int_distribution<int> byte{0x20, 0xff};  // no control character
  for (int round = 0; round < 500; ++round) {
    site_report report;
    report.tables = random() % 100000;
    report.not_equal = report.tables ? static_cast<std::int64_t>(random() % report.tables) : 0;
    report.lag_seconds = static_cast<double>(random() % 1000000) / 10;
    report.lag_versions = static_cast<std::int64_t>(random() >> 2);
    for (std::size_t i = random() % (site_report_max_tables + 1); i > 0; --i) {
      std::string name = "t";
      for (int n = static_cast<int>(random() % 20); n > 0; --n)
        if (auto c = byte(random); c != 0x7f)
          name += static_cast<char>(c);
      report.lagging.push_back(
        {name, "scanning", static_cast<double>(random() % 10000) / 10,
         static_cast<std::int64_t>(random() % 100000)});
    }
    if (random() % 2)
      report.in_sync_age = static_cast<double>(random() % 100000) / 10;
    auto read = parse_site_report(to_header_value(report));
    ASSERT_TRUE(read) << to_header_value(report);
    EXPECT_EQ(*read, report);
  }
}

TEST(SiteReport, TheInSyncAgeIsRoundedUpNeverDown) {
  // A reader is told "in sync as of" the time the report arrived less this
  // age: rounding it down would claim a later moment than the agent saw.
  for (double age : {0.0, 0.01, 2.04, 2.05, 2.1, 59.99}) {
    site_report report{3, 0, 0, 0, {}, age};
    auto read = parse_site_report(to_header_value(report));
    ASSERT_TRUE(read && read->in_sync_age) << to_header_value(report);
    EXPECT_GE(*read->in_sync_age, age) << to_header_value(report);
    EXPECT_LT(*read->in_sync_age, age + 0.1 + 1e-9) << to_header_value(report);
  }
  EXPECT_FALSE(parse_site_report("tables=1")->in_sync_age) << "absent stays absent";
}

TEST(SiteReport, MalformedValuesAreRefusedAndUnknownFieldsSkipped) {
  EXPECT_TRUE(parse_site_report("tables=2; not_equal=0; lag_seconds=0.0; lag_versions=0"));
  EXPECT_TRUE(parse_site_report("tables=2; future_field=whatever"));
  for (const auto* bad :
       {"", "not_equal=1", "tables=-1", "tables=1; not_equal=2", "tables=x", "tables=1;junk",
        "tables=1; lag_seconds=nan", "tables=1; lag_seconds=inf", "tables=1; lag_seconds=-3",
        "tables=1; lagging=orders:ahead:1.0", "tables=1; lagging=%zz:ahead:1.0:1",
        "tables=1; lagging=:ahead:1.0:1", "tables=1; lagging=a:AHEAD:1.0:1",
        "tables=1; lagging=a:ahead:1.0:1:extra", "tables=1; lagging=a%:ahead:1.0:1",
        "tables=99999999999999999999", "tables=1000001", "tables=3000000000",
        "tables=1; lag_seconds=1000000001", "tables=1; lagging=a:ahead:1e30:1",
        "tables=1; lagging=a%1b%5B2J:ahead:1.0:1", "tables=1; lagging=a%00b:ahead:1.0:1",
        "tables=1; in_sync_age=-1", "tables=1; in_sync_age=nan", "tables=1; in_sync_age=",
        "tables=1; in_sync_age=1e30"})
    EXPECT_FALSE(parse_site_report(bad)) << bad;
  std::string many = "tables=30; lagging=";
  for (int i = 0; i <= static_cast<int>(site_report_max_tables); ++i)
    many += (i ? ",t" : "t") + std::to_string(i) + ":ahead:1.0:1";
  EXPECT_FALSE(parse_site_report(many)) << "more tables than a report may list";
  EXPECT_FALSE(parse_site_report("tables=1; lagging=" + std::string(256, 'n') + ":ahead:1.0:1"));
  EXPECT_FALSE(parse_site_report("tables=1; lagging=a:" + std::string(33, 'x') + ":1.0:1"));
  auto zero = parse_site_report("tables=1; lag_seconds=-0.0");
  ASSERT_TRUE(zero);
  EXPECT_FALSE(std::signbit(zero->lag_seconds));
}

// What an agent writes always reads back: figures beyond a report's maxima
// are written as the maxima, never as something the server refuses.
TEST(SiteReport, FiguresBeyondTheMaximaAreWrittenAsTheMaxima) {
  site_report huge{5'000'000, 9'000'000, 1e300, -4, {{"t", "ahead", 1e30, -1}}, std::nullopt};
  auto read = parse_site_report(to_header_value(huge));
  ASSERT_TRUE(read) << to_header_value(huge);
  EXPECT_EQ(read->tables, site_report_max_table_count);
  EXPECT_EQ(read->not_equal, site_report_max_table_count);
  EXPECT_EQ(read->lag_seconds, site_report_max_lag_seconds);
  EXPECT_EQ(read->lag_versions, 0);
  EXPECT_EQ(read->lagging.at(0).lag_seconds, site_report_max_lag_seconds);
  EXPECT_EQ(read->lagging.at(0).lag_versions, 0);
}

} // namespace
} // namespace tidesync::protocol
