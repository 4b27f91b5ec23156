#include "protocol/digest_messages.hpp"

#include "protocol/error.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <gtest/gtest.h>

#include <string>
#include <vector>

using namespace tidesync::protocol;

namespace {

const std::vector<column_type> id_and_name{column_type::bigint, column_type::text};

boost::json::value json(const std::string& text) {
  return boost::json::parse(text);
}

// The message of the api_error parsing `body` raises; fails the test without one.
std::string request_error(const std::string& body,
                          const std::vector<column_type>& types = id_and_name) {
  try {
    digest_request_from_json(json(body), types);
  } catch (const api_error& e) {
    EXPECT_EQ(e.code(), error_code::bad_request) << e.what();
    return e.what();
  }
  ADD_FAILURE() << "accepted " << body;
  return {};
}

std::string ranges_of(std::size_t count) {
  std::string out = "[";
  for (std::size_t i = 0; i < count; ++i)
    out += std::string(i > 0 ? "," : "") + R"({"from":null,"to":null})";
  return out + "]";
}

} // namespace

TEST(DigestMessages, RangeRequestsRoundTrip) {
  digest_request request;
  request.columns = {"id", "name", "price"};
  request.ranges.push_back({std::nullopt, key_text{"10", "b"}});
  request.ranges.push_back({key_text{"10", "b"}, key_text{"-20", "\xc3\xa9\t\\"}});
  request.ranges.push_back({key_text{"-20", "z"}, std::nullopt});
  auto wire = boost::json::serialize(to_json(request, id_and_name));
  auto back = digest_request_from_json(json(wire), id_and_name);
  EXPECT_EQ(back.columns, request.columns);
  ASSERT_EQ(back.ranges.size(), 3u);
  EXPECT_EQ(back.ranges[0].from, std::nullopt);
  EXPECT_EQ(back.ranges[0].to, request.ranges[0].to);
  EXPECT_EQ(back.ranges[1].from, request.ranges[1].from);
  EXPECT_EQ(back.ranges[1].to, request.ranges[1].to);
  EXPECT_EQ(back.ranges[2].to, std::nullopt);
  EXPECT_FALSE(back.list);
  // Integer keys travel as JSON integers, not strings.
  EXPECT_TRUE(json(wire).at("ranges").at(0).at("to").at(0).is_int64()) << wire;
}

TEST(DigestMessages, RowListRequestsRoundTrip) {
  digest_request request;
  request.columns = {"id", "name"};
  request.list = digest_request::row_list{{key_text{"1", "a"}, key_text{"9", "z"}},
                                          key_text{"5", "m"}, 250};
  auto back = digest_request_from_json(to_json(request, id_and_name), id_and_name);
  ASSERT_TRUE(back.list);
  EXPECT_EQ(back.list->range.from, request.list->range.from);
  EXPECT_EQ(back.list->range.to, request.list->range.to);
  EXPECT_EQ(back.list->after, request.list->after);
  EXPECT_EQ(back.list->limit, 250);
  EXPECT_TRUE(back.ranges.empty());
}

TEST(DigestMessages, ARowListWithoutLimitTakesTheDefault) {
  auto request = digest_request_from_json(json(R"({"columns":["id"],"rows":{}})"), id_and_name);
  ASSERT_TRUE(request.list);
  EXPECT_EQ(request.list->limit, 1000);
  EXPECT_FALSE(request.list->range.from);
  EXPECT_FALSE(request.list->after);
}

TEST(DigestMessages, RangeAnswersRoundTrip) {
  digest_answer answer;
  answer.columns = {"id", "name"};
  answer.ranges = {{3, std::string(64, 'a')}, {0, std::string(64, 'b')}};
  auto back = digest_answer_from_json(json(boost::json::serialize(to_json(answer, id_and_name))),
                                      id_and_name);
  EXPECT_EQ(back.columns, answer.columns);
  EXPECT_EQ(back.ranges, answer.ranges);
  EXPECT_TRUE(back.rows.empty());
}

TEST(DigestMessages, RowListAnswersRoundTripWithTheirNextKey) {
  digest_answer answer;
  answer.columns = {"id", "name"};
  answer.rows = {{{"1", "a"}, "00ff"}, {{"2", "b"}, "ff00"}};
  answer.next = key_text{"2", "b"};
  auto wire = to_json(answer, id_and_name);
  auto back = digest_answer_from_json(wire, id_and_name);
  ASSERT_EQ(back.rows.size(), 2u);
  EXPECT_EQ(back.rows[1].key, answer.rows[1].key);
  EXPECT_EQ(back.rows[1].digest, "ff00");
  EXPECT_EQ(back.next, answer.next);
  answer.next.reset();
  EXPECT_TRUE(to_json(answer, id_and_name).at("next").is_null());
  EXPECT_EQ(digest_answer_from_json(to_json(answer, id_and_name), id_and_name).next, std::nullopt);
}

TEST(DigestMessages, AnEmptyRowListStillAnswersRowsAndNext) {
  digest_answer answer;
  answer.columns = {"id"};
  auto wire = to_json(answer, id_and_name).as_object();
  EXPECT_TRUE(wire.at("rows").as_array().empty());
  EXPECT_TRUE(wire.at("next").is_null());
}

TEST(DigestMessages, MissingColumnsAreRefused) {
  EXPECT_EQ(request_error(R"({"ranges":[{"from":null,"to":null}]})"), "columns: missing");
  EXPECT_EQ(request_error(R"({"columns":"id","ranges":[]})"),
            "columns: expected a JSON array, got \"id\"");
  EXPECT_EQ(request_error(R"({"columns":["id",7],"ranges":[{}]})"),
            "columns[1]: expected a JSON string, got 7");
}

TEST(DigestMessages, AColumnNamedTwiceIsRefused) {
  EXPECT_EQ(request_error(R"({"columns":["id","name","id"],"ranges":[{}]})"),
            "columns[2]: \"id\" is listed twice");
}

TEST(DigestMessages, TooManyColumnsAreRefused) {
  std::string columns;
  for (std::size_t i = 0; i <= max_digest_columns; ++i)
    columns += std::string(i > 0 ? "," : "") + "\"c" + std::to_string(i) + "\"";
  EXPECT_EQ(request_error(R"({"columns":[)" + columns + R"(],"ranges":[{}]})"),
            "columns: expected at most 1600 columns");
}

TEST(DigestMessages, ExactlyOneOfRangesAndRowsIsRequired) {
  std::string expected = "expected exactly one of \"ranges\" and \"rows\"";
  EXPECT_EQ(request_error(R"({"columns":["id"]})"), expected);
  EXPECT_EQ(request_error(R"({"columns":["id"],"ranges":[{}],"rows":{}})"), expected);
  EXPECT_EQ(request_error(R"({"columns":["id"],"ranges":null,"rows":null})"), expected);
}

TEST(DigestMessages, RangeListsAreBounded) {
  EXPECT_EQ(request_error(R"({"columns":["id"],"ranges":[]})"), "ranges: expected 1 to 1000 ranges");
  EXPECT_EQ(request_error(R"({"columns":["id"],"ranges":)" + ranges_of(1001) + "}"),
            "ranges: expected 1 to 1000 ranges");
  auto request =
      digest_request_from_json(json(R"({"columns":["id"],"ranges":)" + ranges_of(1000) + "}"),
                               id_and_name);
  EXPECT_EQ(request.ranges.size(), 1000u);
}

TEST(DigestMessages, KeysOfTheWrongWidthAreRefused) {
  EXPECT_EQ(request_error(R"({"columns":["id"],"ranges":[{"from":[1]}]})"),
            "ranges[0].from: expected 2 key cells, got 1");
  EXPECT_EQ(request_error(R"({"columns":["id"],"ranges":[{},{"to":[1,"a","b"]}]})"),
            "ranges[1].to: expected 2 key cells, got 3");
  EXPECT_EQ(request_error(R"({"columns":["id"],"rows":{"after":[]}})"),
            "rows.after: expected 2 key cells, got 0");
  EXPECT_EQ(request_error(R"({"columns":["id"],"ranges":[{"from":{"id":1}}]})"),
            "ranges[0].from: expected a JSON array, got {\"id\":1}");
}

TEST(DigestMessages, NullKeyCellsAreRefused) {
  EXPECT_EQ(request_error(R"({"columns":["id"],"ranges":[{"from":[null,"a"]}]})"),
            "ranges[0].from[0]: a key cell cannot be null");
  EXPECT_EQ(request_error(R"({"columns":["id"],"rows":{"to":[1,null]}})"),
            "rows.to[1]: a key cell cannot be null");
}

TEST(DigestMessages, KeyCellsAreCheckedAgainstTheirType) {
  EXPECT_EQ(request_error(R"({"columns":["id"],"ranges":[{"from":["1","a"]}]})"),
            "ranges[0].from[0]: expected an integer between -9223372036854775808 and "
            "9223372036854775807, got \"1\"");
  EXPECT_EQ(request_error(R"({"columns":["id"],"ranges":[{"from":[1,"a\u0000b"]}]})"),
            "ranges[0].from[1]: expected a JSON string without NUL characters, got \"a\\u0000b\"");
  std::vector<column_type> by_uuid{column_type::uuid};
  EXPECT_EQ(request_error(R"({"columns":["id"],"ranges":[{"from":["x'; DROP TABLE t; --"]}]})",
                          by_uuid),
            "ranges[0].from[0]: expected a JSON string holding a uuid \"8-4-4-4-12\" hex, got "
            "\"x'; DROP TABLE t; --\"");
}

TEST(DigestMessages, RowLimitsOutOfRangeAreRefused) {
  for (const char* limit : {"0", "-1", "10001"})
    EXPECT_EQ(request_error(std::string(R"({"columns":["id"],"rows":{"limit":)") + limit + "}}"),
              "rows.limit: expected 1 to 10000")
        << limit;
  EXPECT_EQ(request_error(R"({"columns":["id"],"rows":{"limit":"5"}})"),
            "rows.limit: expected a 64-bit integer, got \"5\"");
  EXPECT_EQ(request_error(R"({"columns":["id"],"rows":{"limit":1.5}})"),
            "rows.limit: expected a 64-bit integer, got 1.5");
}

TEST(DigestMessages, UnknownMembersAreRefused) {
  EXPECT_EQ(request_error(R"({"columns":["id"],"ranges":[{}],"limit":5})"),
            "unknown field \"limit\"");
  EXPECT_EQ(request_error(R"({"columns":["id"],"ranges":[{"from":null,"too":null}]})"),
            "ranges[0]: unknown field \"too\"");
  EXPECT_EQ(request_error(R"({"columns":["id"],"rows":{"offset":5}})"),
            "rows: unknown field \"offset\"");
}

TEST(DigestMessages, ABodyThatIsNoObjectIsRefused) {
  EXPECT_EQ(request_error(R"([1,2])"), "digest request: expected a JSON object, got [1,2]");
  EXPECT_EQ(request_error(R"({"columns":["id"],"ranges":{}})"),
            "ranges: expected a JSON array, got {}");
  EXPECT_EQ(request_error(R"({"columns":["id"],"rows":[]})"),
            "rows: expected a JSON object, got []");
}
