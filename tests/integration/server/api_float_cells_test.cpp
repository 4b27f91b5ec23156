// real and double precision cells over real HTTP: exact strings, the previous
// release's numbers, strict refusals, and float keys in the manifest.
#include "server/api_server.hpp"

#include "protocol/url_encoding.hpp"
#include "tests/integration/server/server_fixture.hpp"

#include <boost/json.hpp>
#include <pqxx/pqxx>

namespace tidesync::testing {

namespace {

namespace json = boost::json;

class ApiFloatCells : public server_test {
protected:
  /// Declares `readings` (k double precision key, r real, d double precision, version).
  void declare_readings() {
    auto reply =
        client().call("PUT", table_path("readings") + "/schema", token_,
                      schema_body(R"([{"name":"k","type":"double precision","nullable":false},
                      {"name":"r","type":"real","nullable":true},
                      {"name":"d","type":"double precision","nullable":true},
                      {"name":"tidesync_version","type":"bigint","nullable":false}])",
                                  R"(["k"])"));
    ASSERT_EQ(reply.status, 200) << reply.body;
  }

  http_reply upload_readings(const std::string& rows) {
    return client().call("POST", table_path("readings"), token_,
                         R"({"columns":["k","r","d","tidesync_version"],"rows":)" + rows + "}");
  }

  /// `select` over the stored rows ordered by k, one text per row.
  std::vector<std::string> stored(const std::string& select) {
    pqxx::connection connection{db_.url()};
    pqxx::nontransaction tx{connection};
    std::vector<std::string> out;
    for (const auto& row : tx.exec("SELECT " + select + " FROM tidesync_data.readings ORDER BY k"))
      out.push_back(row[0].is_null() ? "NULL" : row[0].as<std::string>());
    return out;
  }
};

TEST_F(ApiFloatCells, StringsAreStoredBitExactWhereABoostJsonNumberWouldBeRounded) {
  declare_readings();
  // Boost.JSON 1.81 parses 90.33333333333333 to a neighbour of the nearest double.
  auto reply = upload_readings(R"([["90.33333333333333","0.1","1044227.8738926059",1],
                                   ["-0","-0","2.2345442730765653e-07",1],
                                   ["Infinity","NaN","5e-324",1],
                                   ["-Infinity","3.4028235e+38","1.7976931348623157e+308",1]])");
  ASSERT_EQ(reply.status, 200) << reply.body;
  EXPECT_EQ(stored("k::text || ' ' || r::text || ' ' || d::text"),
            (std::vector<std::string>{
                "-Infinity 3.4028235e+38 1.7976931348623157e+308", "-0 -0 2.2345442730765653e-07",
                "90.33333333333333 0.1 1044227.8738926059", "Infinity NaN 5e-324"}));
}

TEST_F(ApiFloatCells, NumbersFromThePreviousReleaseAreStillAccepted) {
  declare_readings();
  auto reply = upload_readings(R"([[1.5, 2, -0.25, 1], [2, null, 1e300, 1]])");
  ASSERT_EQ(reply.status, 200) << reply.body;
  EXPECT_EQ(stored("r::text || ' ' || d::text"), (std::vector<std::string>{"2 -0.25", "NULL"}));
  EXPECT_EQ(stored("d::text").back(), "1e+300");
}

TEST_F(ApiFloatCells, AMalformedOrOutOfRangeStringIsA400NamingRowAndColumn) {
  declare_readings();
  const std::pair<std::string, std::string> cases[] = {
      {R"([["1",null,null,1],["2",null,"1e",1]])", "row 1, column \"d\": expected a JSON string "
                                                   "holding a float literal"},
      {R"([["0x10",null,null,1]])", "row 0, column \"k\": expected a JSON string holding a float"},
      {R"([["1","nan",null,1]])", "row 0, column \"r\": expected a JSON string holding a float"},
      {R"([["1","1e39",null,1]])",
       "row 0, column \"r\": expected a number within the range of real, got \"1e39\""},
      {R"([["1",null,"1e-400",1]])",
       "row 0, column \"d\": expected a number within the range of double precision"},
  };
  for (const auto& [rows, message] : cases) {
    auto reply = upload_readings(rows);
    EXPECT_EQ(reply.status, 400) << rows;
    EXPECT_EQ(std::string(reply.json().at("error").at("message").as_string()).rfind(message, 0), 0u)
        << reply.body;
  }
  EXPECT_TRUE(stored("k::text").empty());
}

TEST_F(ApiFloatCells, TheManifestSendsFloatKeysAsStringsOnlyWhenAsked) {
  declare_readings();
  ASSERT_EQ(upload_readings(R"([["90.33333333333333",null,null,1]])").status, 200);
  auto path = table_path("readings") + "/manifest";
  auto numbers = client().call("GET", path, token_).json().at("entries").at(0).at("key").at(0);
  EXPECT_TRUE(numbers.is_double()) << numbers;
  auto strings = client().call("GET", path + "?floats=string", token_).json();
  EXPECT_EQ(strings.at("entries").at(0).at("key").at(0), json::string("90.33333333333333"));
  auto bad = client().call("GET", path + "?floats=text", token_);
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(
      bad.json().at("error").at("message"),
      json::string("query parameter floats: expected \"string\" or \"number\", got \"text\""));
}

TEST_F(ApiFloatCells, ManifestPagesAfterFloatKeysLoseAndRepeatNothing) {
  declare_readings();
  // Neighbouring doubles that a rounding parser would confuse in `after`.
  const std::vector<std::string> keys{"90.33333333333331", "90.33333333333333", "90.33333333333334",
                                      "90.33333333333336"};
  std::string rows;
  for (const auto& key : keys)
    rows += (rows.empty() ? "[" : ",") + ("[\"" + key + "\",null,null,1]");
  ASSERT_EQ(upload_readings(rows + "]").status, 200);
  std::vector<std::string> seen;
  std::string after;
  for (int page = 0; page < 10; ++page) {
    auto target = table_path("readings") + "/manifest?floats=string&limit=1";
    if (!after.empty())
      target += "&after=" + protocol::url_encode(after);
    auto reply = client().call("GET", target, token_);
    ASSERT_EQ(reply.status, 200) << reply.body;
    auto body = reply.json();
    for (const auto& entry : body.at("entries").as_array())
      seen.emplace_back(entry.at("key").at(0).as_string());
    if (body.at("next").is_null())
      break;
    after = std::string(body.at("next").as_string());
  }
  EXPECT_EQ(seen, keys);
}

} // namespace

} // namespace tidesync::testing
