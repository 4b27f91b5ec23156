#include "protocol/manifest_cursor.hpp"

#include "protocol/error.hpp"

#include <boost/json/value.hpp>

#include <gtest/gtest.h>

using namespace tidesync::protocol;

namespace {

table_schema composite_key_schema() {
  return {{{"order_id", column_type::bigint, false},
           {"name", column_type::text, false},
           {"tidesync_version", column_type::bigint, false}},
          {"order_id", "name"},
          "tidesync_version",
          std::nullopt};
}

std::string refusal(const std::string& text) {
  try {
    decode_cursor(text, composite_key_schema());
  } catch (const api_error& e) {
    EXPECT_EQ(e.code(), error_code::bad_request);
    return e.what();
  }
  return "accepted";
}

} // namespace

TEST(ManifestCursor, IsTheUnpaddedBase64urlOfTheVersionAndKeyCellsAsAJsonArray) {
  // The documented wire form: a client builds the same string on its own.
  EXPECT_EQ(encode_cursor(5, {boost::json::value("a")}), "WzUsImEiXQ");
  EXPECT_EQ(encode_cursor(9031, {boost::json::value(17), boost::json::value("Äpfel")}),
            "WzkwMzEsMTcsIsOEcGZlbCJd");
}

TEST(ManifestCursor, DecodesWhatItEncodesIntoPostgresText) {
  auto cursor = decode_cursor("WzkwMzEsMTcsIsOEcGZlbCJd", composite_key_schema());
  EXPECT_EQ(cursor.version, 9031);
  EXPECT_EQ(cursor.key_text, (std::vector<std::string>{"17", "Äpfel"}));
}

TEST(ManifestCursor, MalformedPositionsAreRefusedAsBadRequests) {
  EXPECT_NE(refusal("not base64!").find("after: malformed position"), std::string::npos);
  EXPECT_NE(refusal("WzkwMzEsMTcsIsOEcGZlbCJd==").find("after:"), std::string::npos);
  // [5,"a"]: one key cell where the key has two.
  EXPECT_NE(refusal("WzUsImEiXQ").find("after:"), std::string::npos);
  // {"a":1}: not an array.
  EXPECT_NE(refusal("eyJhIjoxfQ").find("after:"), std::string::npos);
  // ["5",17,"x"]: the version is not an integer.
  EXPECT_NE(refusal("WyI1IiwxNywieCJd").find("after:"), std::string::npos);
  // [5,"x","y"]: a text cell where the key wants a bigint.
  EXPECT_NE(refusal("WzUsIngiLCJ5Il0").find("after:"), std::string::npos);
  // [5,null,"y"]: a key cell can't be null.
  EXPECT_NE(refusal("WzUsbnVsbCwieSJd").find("after:"), std::string::npos);
  EXPECT_NE(refusal("").find("after:"), std::string::npos);
}
