#include "storage/postgres_store.hpp"

#include "tests/integration/store/store_fixture.hpp"

#include <boost/json/serialize.hpp>

namespace tidesync::storage::testing {
namespace {

// One column per supported type; every column but the key and version is nullable.
constexpr const char* every_type_schema = R"({"columns":[
  {"name":"id","type":"integer","nullable":false},
  {"name":"c_smallint","type":"smallint","nullable":true},
  {"name":"c_integer","type":"int4","nullable":true},
  {"name":"c_bigint","type":"int8","nullable":true},
  {"name":"c_numeric","type":"decimal","nullable":true},
  {"name":"c_real","type":"float4","nullable":true},
  {"name":"c_double","type":"double precision","nullable":true},
  {"name":"c_boolean","type":"bool","nullable":true},
  {"name":"c_text","type":"varchar","nullable":true},
  {"name":"c_bytea","type":"bytea","nullable":true},
  {"name":"c_date","type":"date","nullable":true},
  {"name":"c_timestamp","type":"timestamp","nullable":true},
  {"name":"c_timestamptz","type":"timestamp with time zone","nullable":true},
  {"name":"c_uuid","type":"uuid","nullable":true},
  {"name":"c_json","type":"json","nullable":true},
  {"name":"c_jsonb","type":"jsonb","nullable":true},
  {"name":"v","type":"bigint","nullable":false}],
 "key":["id"],"version_column":"v","modified_column":"c_timestamptz"})";

constexpr const char* columns_json = R"(["id","c_smallint","c_integer","c_bigint","c_numeric",
  "c_real","c_double","c_boolean","c_text","c_bytea","c_date","c_timestamp","c_timestamptz",
  "c_uuid","c_json","c_jsonb","v"])";

constexpr const char* select_as_text =
    "SELECT c_smallint::text, c_integer::text, c_bigint::text, c_numeric::text, c_real::text,"
    " c_double::text, c_boolean::text, c_text, c_bytea::text, c_date::text, c_timestamp::text,"
    " c_timestamptz::text, c_uuid::text, c_json::text, c_jsonb::text, v::text"
    " FROM tidesync_data.every_type WHERE id = ";

using text_row = std::vector<std::optional<std::string>>;

class store_types : public store_test {
protected:
  void SetUp() override {
    store_test::SetUp();
    store_->declare_table("acme", db_, "every_type", schema(every_type_schema));
  }

  text_row stored(int id) { return query(select_as_text + std::to_string(id)).at(0); }
};

TEST_F(store_types, ExtremeAndSpecialValuesRoundTripExactly) {
  upload("every_type", std::string(R"({"columns":)") + columns_json + R"(,"rows":[
    [1, -32768, -2147483648, -9223372036854775808, "-12.50", "NaN", "-Infinity", false,
     "h\u00e9llo \ud83d\udc4b tab\there\nnew line \\ back", "\\x00ff0a5c", "2024-02-29",
     "2024-02-29 13:45:01.123456", "2024-02-29 13:45:01.000001+00",
     "8c1a3e52-5b8f-4c7e-9a1d-0123456789ab", " {\"a\" : [1,  2]}  ", "{\"b\": 1, \"a\": [1, 2]}",
     9223372036854775807],
    [2, 32767, 2147483647, 9223372036854775807, "0.000100", "Infinity", "NaN", true,
     "", "\\x", "0001-01-01", "1999-12-31 23:59:59.999999", "1970-01-01 00:00:00+00",
     "00000000-0000-0000-0000-000000000000", "[]", "null", 1],
    [3, 0, 0, 0, "123456789012345678901234567890.000000000000001", -0.0, -0.0, true,
     "\u65e5\u672c\u8a9e", "\\xdeadbeef", "2000-01-01", "2000-01-01 00:00:00",
     "2024-06-30 23:59:59.999999+00", "ffffffff-ffff-ffff-ffff-ffffffffffff",
     "{\"x\":\"\\u00e9\"}", "{}", 2],
    [4, 1, 1, 1, 42, 3.4028235e38, 2.2250738585072014e-308, false, "x", "\\x01",
     "2024-01-01", "2024-01-01 00:00:00.5", "2024-01-01 00:00:00.5+00",
     "8C1A3E52-5B8F-4C7E-9A1D-0123456789AB", "1", "1.50", 3]]})");

  EXPECT_EQ(stored(1), (text_row{"-32768", "-2147483648", "-9223372036854775808", "-12.50", "NaN",
                                 "-Infinity", "false",
                                 "h\u00e9llo \U0001F44B tab\there\nnew line \\ back",
                                 "\\x00ff0a5c", "2024-02-29", "2024-02-29 13:45:01.123456",
                                 "2024-02-29 13:45:01.000001+00",
                                 "8c1a3e52-5b8f-4c7e-9a1d-0123456789ab", " {\"a\" : [1,  2]}  ",
                                 "{\"a\": [1, 2], \"b\": 1}", "9223372036854775807"}));
  EXPECT_EQ(stored(2), (text_row{"32767", "2147483647", "9223372036854775807", "0.000100",
                                 "Infinity", "NaN", "true", "", "\\x", "0001-01-01",
                                 "1999-12-31 23:59:59.999999", "1970-01-01 00:00:00+00",
                                 "00000000-0000-0000-0000-000000000000", "[]", "null", "1"}));
  EXPECT_EQ(stored(3), (text_row{"0", "0", "0", "123456789012345678901234567890.000000000000001",
                                 "-0", "-0", "true", "\u65e5\u672c\u8a9e", "\\xdeadbeef",
                                 "2000-01-01", "2000-01-01 00:00:00", "2024-06-30 23:59:59.999999+00",
                                 "ffffffff-ffff-ffff-ffff-ffffffffffff", "{\"x\":\"\\u00e9\"}",
                                 "{}", "2"}));
  EXPECT_EQ(stored(4), (text_row{"1", "1", "1", "42", "3.4028235e+38", "2.2250738585072014e-308",
                                 "false", "x", "\\x01", "2024-01-01", "2024-01-01 00:00:00.5",
                                 "2024-01-01 00:00:00.5+00",
                                 "8c1a3e52-5b8f-4c7e-9a1d-0123456789ab", "1", "1.50", "3"}));
}

TEST_F(store_types, NullRoundTripsInEveryNullableColumn) {
  upload("every_type", std::string(R"({"columns":)") + columns_json
                           + R"(,"rows":[[7,null,null,null,null,null,null,null,null,null,null,
                                          null,null,null,null,null,5]]})");
  auto row = stored(7);
  for (std::size_t i = 0; i + 1 < row.size(); ++i)
    EXPECT_FALSE(row[i].has_value()) << "column " << i;
  EXPECT_EQ(row.back(), "5");
}

TEST_F(store_types, TimestampsWithAnOffsetAreStoredAsTheSameInstantInUtc) {
  upload("every_type", R"({"columns":["id","c_timestamptz","v"],
                           "rows":[[1,"2024-02-29T15:45:01.123456+02:00",1]]})");
  EXPECT_EQ(stored(1)[11], "2024-02-29 13:45:01.123456+00");
}

TEST_F(store_types, MaxModifiedIsTheLatestModifiedValueToTheMicrosecond) {
  auto result = upload("every_type", R"({"columns":["id","c_timestamptz","v"],
      "rows":[[1,"2024-02-29 13:45:01.123456+00",1],[2,"2024-03-01 00:00:00.000001+00",2],
              [3,null,3]]})");
  EXPECT_EQ(result.version.max_modified, "2024-03-01 00:00:00.000001+00");
  EXPECT_EQ(store_->table_version("acme", db_, "every_type").max_modified,
            "2024-03-01 00:00:00.000001+00");
}

TEST_F(store_types, ManifestKeysComeBackAsWireCells) {
  upload("every_type", R"({"columns":["id","v"],"rows":[[2147483647,1],[-5,1]]})");
  auto page = store_->manifest("acme", db_, "every_type", {});
  ASSERT_EQ(page.entries.size(), 2u);
  EXPECT_EQ(boost::json::serialize(page.entries[0].key[0]), "-5");
  EXPECT_EQ(boost::json::serialize(page.entries[1].key[0]), "2147483647");
}

} // namespace
} // namespace tidesync::storage::testing
