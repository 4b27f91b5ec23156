#include "protocol/json_parse.hpp"

#include <boost/json/monotonic_resource.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <gtest/gtest.h>

#include <charconv>
#include <cstring>
#include <random>
#include <string>
#include <vector>

using namespace tidesync::protocol;

namespace {

std::string shortest(double value) {
  char buffer[64];
  auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value);
  return {buffer, end};
}

bool same_bits(double a, double b) {
  return std::memcmp(&a, &b, sizeof a) == 0;
}

} // namespace

TEST(JsonParseExact, EveryDoubleComesBackFromItsShortestText) {
  std::mt19937_64 random{20240229};
  std::uniform_real_distribution<double> ordinary{0, 1e6};
  int checked = 0;
  for (int i = 0; i < 20'000; ++i) {
    double value = 0;
    auto bits = random();
    std::memcpy(&value, &bits, sizeof value);
    for (double v : {value, ordinary(random)}) {
      if (!std::isfinite(v))
        continue;
      // As the agent sends a cell: a JSON number inside an array.
      auto body = "[" + boost::json::serialize(boost::json::value(v)) + "]";
      auto parsed = parse_json_exact(body).as_array().at(0);
      double back = parsed.is_double() ? parsed.get_double() : static_cast<double>(parsed.as_int64());
      ASSERT_TRUE(same_bits(back, v)) << shortest(v) << " came back as " << shortest(back);
      ++checked;
    }
  }
  EXPECT_GT(checked, 30'000);
}

TEST(JsonParseExact, KnownBoostMisreadIsReadExactly) {
  // Boost.JSON 1.81's own parse reads this one unit in the last place off.
  auto value = parse_json_exact("1.2368089337706643E5");
  EXPECT_TRUE(same_bits(value.as_double(), 1.2368089337706643E5));
}

TEST(JsonParseExact, BuildsTheSameValuesAsBoostJson) {
  std::string text = R"({"a":[1,-2,18446744073709551615,1.5,"x\u00e9",true,false,null],)"
                     R"("b":{"c":{},"d":[]},"e":-9223372036854775808,"f":1e2})";
  auto exact = parse_json_exact(text);
  EXPECT_EQ(exact, boost::json::parse(text));
  EXPECT_TRUE(exact.at("a").at(2).is_uint64());
  EXPECT_TRUE(exact.at("f").is_double());
}

TEST(JsonParseExact, BuildsIntoTheGivenStorage) {
  auto arena = boost::json::make_shared_resource<boost::json::monotonic_resource>();
  boost::json::error_code ec;
  auto value = parse_json_exact(R"({"rows":[[1,"a"],[2,"b"]]})", ec, arena);
  ASSERT_FALSE(ec);
  EXPECT_EQ(value.storage().get(), arena.get());
  EXPECT_EQ(value.at("rows").at(1).at(1).as_string(), "b");
}

TEST(JsonParseExact, RefusesWhatBoostJsonRefuses) {
  const std::vector<std::string> malformed{"", "{", "[1,]", "{\"a\":1} x", "[1] [2]", "nul",
                                           "\"\xff\"", std::string(100, '[') + std::string(100, ']')};
  for (const auto& text : malformed) {
    boost::json::error_code exact_ec, boost_ec;
    parse_json_exact(text, exact_ec);
    boost::json::parse(text, boost_ec);
    EXPECT_TRUE(exact_ec) << text;
    EXPECT_EQ(exact_ec.message(), boost_ec.message()) << text;
  }
  EXPECT_THROW(parse_json_exact("{"), boost::system::system_error);
}

TEST(JsonParseExact, KeepsTrailingWhitespace) {
  boost::json::error_code ec;
  EXPECT_EQ(parse_json_exact(" [1] \n", ec), boost::json::parse("[1]"));
  EXPECT_FALSE(ec);
}
