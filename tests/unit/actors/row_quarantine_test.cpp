#include "actors/row_quarantine.hpp"

#include <gtest/gtest.h>

namespace tidesync::actors {

namespace {

protocol::table_schema readings_schema() {
  return {{{"id", protocol::column_type::bigint, false},
           {"qty", protocol::column_type::bigint, true},
           {"day", protocol::column_type::date, true},
           {"tidesync_version", protocol::column_type::bigint, false}},
          {"id"},
          "tidesync_version",
          std::nullopt};
}

TEST(RowQuarantine, ARowThatEncodesHasNoReason) {
  EXPECT_FALSE(unencodable_reason(readings_schema(), {"1", "3", "2024-01-15", "9"}));
  EXPECT_FALSE(unencodable_reason(readings_schema(), {"1", std::nullopt, std::nullopt, "9"}));
}

TEST(RowQuarantine, TheReasonNamesTheFirstRefusedColumn) {
  auto reason = unencodable_reason(readings_schema(), {"1", "lots", "2023-02-30", "9"});
  ASSERT_TRUE(reason);
  EXPECT_EQ(reason->rfind("column qty: ", 0), 0u) << *reason;
  reason = unencodable_reason(readings_schema(), {"abc", "3", "2024-01-15", "9"});
  ASSERT_TRUE(reason);
  EXPECT_EQ(reason->rfind("key column id: ", 0), 0u) << *reason;
}

TEST(RowQuarantine, AnEncodableKeyIsNamedByItsWireCells) {
  EXPECT_EQ(quarantine_key(readings_schema(), {"150"}), "[150]");
  EXPECT_EQ(quarantine_key_cells(readings_schema(), "[150]"), sync::row_key{"150"});
}

TEST(RowQuarantine, AKeyThatCannotBeEncodedIsNamedByItsSiteTextAndReadBack) {
  EXPECT_EQ(quarantine_key(readings_schema(), {"abc"}), R"({"site_key":["abc"]})");
  sync::row_key not_utf8{"a\xff"};
  auto text = quarantine_key(readings_schema(), not_utf8);
  EXPECT_EQ(text, R"({"site_key":[{"hex":"61ff"}]})");
  EXPECT_EQ(quarantine_key_cells(readings_schema(), text), not_utf8);
  EXPECT_EQ(quarantine_key_cells(readings_schema(), R"({"site_key":["abc"]})"),
            sync::row_key{"abc"});
}

TEST(RowQuarantine, MalformedSiteKeyTextThrows) {
  EXPECT_ANY_THROW(quarantine_key_cells(readings_schema(), R"({"site_key":[{"hex":"6"}]})"));
  EXPECT_ANY_THROW(quarantine_key_cells(readings_schema(), R"({"other":[]})"));
}

} // namespace

} // namespace tidesync::actors
