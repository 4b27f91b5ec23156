#include "actors/wire_body.hpp"

#include <gtest/gtest.h>

namespace tidesync::actors {

namespace {

protocol::table_schema lines_schema() {
  return {{{"order_id", protocol::column_type::bigint, false},
           {"sku", protocol::column_type::text, false},
           {"price", protocol::column_type::numeric, true},
           {"seen", protocol::column_type::boolean, true},
           {"tidesync_version", protocol::column_type::bigint, false}},
          {"order_id", "sku"},
          "tidesync_version",
          std::nullopt};
}

TEST(WireBody, UploadBodyHoldsTheColumnsAndEachCellInItsWireForm) {
  std::vector<storage::text_row> rows{{"1", "a\"b", "12.50", "t", "7"},
                                      {"2", "ü", std::nullopt, std::nullopt, "7"}};
  EXPECT_EQ(upload_body(lines_schema(), rows),
            R"({"columns":["order_id","sku","price","seen","tidesync_version"],)"
            R"("rows":[[1,"a\"b","12.50",true,7],[2,"ü",null,null,7]]})");
}

TEST(WireBody, FloatsTravelAsTheSourcesTextNeverReprinted) {
  protocol::table_schema schema{{{"k", protocol::column_type::double_precision, false},
                                 {"r", protocol::column_type::real, true},
                                 {"tidesync_version", protocol::column_type::bigint, false}},
                                {"k"},
                                "tidesync_version",
                                std::nullopt};
  std::vector<storage::text_row> rows{{"90.33333333333333", "-0", "7"},
                                      {"0.10000000000000001", "NaN", "7"}};
  EXPECT_EQ(upload_body(schema, rows),
            R"({"columns":["k","r","tidesync_version"],)"
            R"("rows":[["90.33333333333333","-0",7],["0.10000000000000001","NaN",7]]})");
  sync::row_key key{"2.2345442730765653e-07"};
  EXPECT_EQ(key_json(schema, key), R"(["2.2345442730765653e-07"])");
  EXPECT_EQ(key_from_json(schema, key_json(schema, key)), key);
}

// The body is sized from its first row: one huge first cell must not make
// it reserve that much for every row of the page.
TEST(WireBody, AHugeFirstRowDoesNotSizeTheWholePage) {
  std::vector<storage::text_row> rows;
  rows.push_back({"1", std::string(1 << 20, 'x'), std::nullopt, std::nullopt, "7"});
  for (int i = 2; i <= 20000; ++i)
    rows.push_back({std::to_string(i), "s", std::nullopt, std::nullopt, "7"});
  auto body = upload_body(lines_schema(), rows);
  EXPECT_LT(body.capacity(), std::size_t{128} << 20);
  EXPECT_TRUE(body.ends_with(R"(,[20000,"s",null,null,7]]})")) << body.substr(body.size() - 40);
}

TEST(WireBody, DeleteBodiesHaveTheEndpointsThreeForms) {
  std::vector<sync::row_key> keys{{"1", "x"}, {"2", "y"}};
  EXPECT_EQ(delete_keys_body(lines_schema(), keys), R"({"keys":[[1,"x"],[2,"y"]]})");
  EXPECT_EQ(delete_bulk_body({true, 0}), R"({"all":true})");
  EXPECT_EQ(delete_bulk_body({false, 42}), R"({"above_version":42})");
}

TEST(WireBody, AKeyRoundTripsThroughItsJsonForm) {
  sync::row_key key{"-9223372036854775808", "naïve \"quoted\""};
  auto text = key_json(lines_schema(), key);
  EXPECT_EQ(text, R"([-9223372036854775808,"naïve \"quoted\""])");
  EXPECT_EQ(key_from_json(lines_schema(), text), key);
}

TEST(WireBody, MalformedKeyJsonThrowsInsteadOfGuessing) {
  EXPECT_ANY_THROW(key_from_json(lines_schema(), "not json"));
  EXPECT_ANY_THROW(key_from_json(lines_schema(), R"({"a":1})"));
}

TEST(WireBody, SchemaHashIsStableAndChangesWithTheSchema) {
  auto schema = lines_schema();
  EXPECT_EQ(schema_hash(schema), schema_hash(lines_schema()));
  EXPECT_EQ(schema_hash(schema).size(), 16u);
  schema.columns.insert(schema.columns.begin() + 2, {"note", protocol::column_type::text, true});
  EXPECT_NE(schema_hash(schema), schema_hash(lines_schema()));
}

} // namespace

} // namespace tidesync::actors
