#include "protocol/column_refusal.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

namespace tidesync::protocol {
namespace {

table_schema orders() {
  return table_schema{{{"id", column_type::bigint, false},
                       {"note", column_type::text, true},
                       {"changed", column_type::timestamptz, true},
                       {"v", column_type::bigint, false}},
                      {"id"},
                      "v",
                      "changed"};
}

TEST(ColumnRefusal, TheBodyCarriesEachColumnAndReasonAndParsesBack) {
  std::vector<refused_column> refused{{"note", "locked"}, {"card", "declared as text but…"}};
  auto body = columns_refused_body("2 columns refused", refused);
  auto json = boost::json::parse(body);
  EXPECT_EQ(json.at("error").at("code").as_string(), "columns_refused");
  EXPECT_EQ(json.at("error").at("message").as_string(), "2 columns refused");
  EXPECT_EQ(refused_columns_of(body), refused);
  EXPECT_EQ(refused_columns_from_text(boost::json::serialize(to_json(refused))), refused);
}

TEST(ColumnRefusal, AnythingButARefusalBodyHasNoRefusedColumns) {
  for (std::string body : {"", "not json", "[]", "{}", R"({"error":"x"})",
                           R"({"error":{"code":"conflict","message":"key differs"}})",
                           R"({"error":{"refused_columns":[{"name":1}]}})"})
    EXPECT_TRUE(refused_columns_of(body).empty()) << body;
}

TEST(ColumnRefusal, AMalformedSavedListIsABadRequestNamingTheField) {
  try {
    refused_columns_from_text(R"([{"name":"note"}])");
    ADD_FAILURE() << "expected bad_request";
  } catch (const api_error& e) {
    EXPECT_EQ(e.code(), error_code::bad_request);
    EXPECT_STREQ(e.what(), "refused_columns[0].reason: a string is required");
  }
  EXPECT_THROW(refused_columns_from_text("{"), api_error);
}

TEST(ColumnRefusal, WithoutColumnsDropsRefusedOnesAndAModifiedColumnAmongThem) {
  auto kept = without_columns(orders(), {{"note", "r"}, {"changed", "r"}, {"absent", "r"}});
  ASSERT_EQ(kept.columns.size(), 2u);
  EXPECT_EQ(kept.columns[0].name, "id");
  EXPECT_EQ(kept.columns[1].name, "v");
  EXPECT_FALSE(kept.modified_column.has_value());
  EXPECT_EQ(without_columns(orders(), {}), orders());
}

TEST(ColumnRefusal, KeyAndVersionColumnsAreNeverDroppedButAreReported) {
  std::vector<refused_column> refused{{"id", "r"}, {"v", "r"}};
  EXPECT_EQ(without_columns(orders(), refused).columns.size(), 4u);
  EXPECT_TRUE(refuses_key_or_version(orders(), {{"id", "r"}}));
  EXPECT_TRUE(refuses_key_or_version(orders(), {{"v", "r"}}));
  EXPECT_FALSE(refuses_key_or_version(orders(), {{"note", "r"}}));
}

TEST(ColumnRefusal, DescribeListsNamesWithReasons) {
  EXPECT_EQ(describe({{"note", "locked"}, {"card", "too many"}}), "note (locked), card (too many)");
  EXPECT_EQ(describe({}), "");
}

} // namespace
} // namespace tidesync::protocol
