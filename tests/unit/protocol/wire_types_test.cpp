#include "protocol/table_version.hpp"

#include "protocol/error.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <gtest/gtest.h>

using namespace tidesync::protocol;

TEST(TableVersion, SurvivesAJsonRoundTrip) {
  table_version full{1200, 9031, "2024-02-29 13:45:01.123456+00"};
  EXPECT_EQ(table_version_from_json(to_json(full)), full);
  table_version empty{};
  EXPECT_EQ(table_version_from_json(to_json(empty)), empty);
  EXPECT_EQ(boost::json::serialize(to_json(empty)),
            R"({"count":0,"max_version":null,"max_modified":null})");
}

TEST(TableVersion, MalformedObjectsAreRefusedNamingTheField) {
  auto message = [](const char* text) -> std::string {
    try {
      table_version_from_json(boost::json::parse(text));
    } catch (const api_error& e) {
      return e.what();
    }
    return "accepted";
  };
  EXPECT_EQ(message("{}"), "count: missing");
  EXPECT_EQ(message(R"({"count": "3"})"), "count: expected a 64-bit integer, got \"3\"");
  EXPECT_EQ(message(R"({"count": -1})"), "count: must not be negative");
  EXPECT_EQ(message(R"({"count": 1, "max_version": 1.5})"),
            "max_version: expected a 64-bit integer, got 1.5");
  EXPECT_EQ(message(R"({"count": 1, "max_modified": 5})"),
            "max_modified: expected a JSON string, got 5");
  EXPECT_EQ(message("[]"), "table version: expected a JSON object, got []");
}

TEST(ErrorModel, CodesMapToStatusesAndNamesBothWays) {
  EXPECT_EQ(http_status(error_code::bad_request), 400);
  EXPECT_EQ(http_status(error_code::payload_too_large), 413);
  EXPECT_EQ(http_status(error_code::unavailable), 503);
  EXPECT_EQ(http_status(error_code::internal), 500);
  for (int i = 0; i <= static_cast<int>(error_code::internal); ++i) {
    auto code = static_cast<error_code>(i);
    EXPECT_EQ(code_from_name(code_name(code)), code) << code_name(code);
  }
  EXPECT_EQ(code_from_name("no_such_code"), error_code::internal);
}

TEST(ErrorModel, ErrorBodyIsEscapedJson) {
  auto body = error_body(error_code::bad_request, "row 3, column \"price\": bad");
  EXPECT_EQ(body, R"({"error":{"code":"bad_request","message":"row 3, column \"price\": bad"}})");
  EXPECT_EQ(boost::json::parse(body).at("error").at("code"), "bad_request");
}

TEST(ErrorModel, ErrorBodyIsJsonWhateverBytesTheMessageQuotes) {
  // A request's Content-Encoding is quoted in the 415 answer, and may hold any byte.
  auto body = error_body(error_code::unsupported_media,
                         "Content-Encoding \"ide\xd6tity\" is not supported; use gzip or identity");
  boost::json::error_code ec;
  auto parsed = boost::json::parse(body, ec);
  ASSERT_FALSE(ec) << body;
  EXPECT_EQ(parsed.at("error").at("message"),
            "Content-Encoding \"ide\\xd6tity\" is not supported; use gzip or identity");
}
