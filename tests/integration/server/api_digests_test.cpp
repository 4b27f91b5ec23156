// POST …/digests and …/recount over real HTTP against a real PostgreSQL store,
// as the agent uses them and as a hostile client might.
#include "protocol/content_digest.hpp"

#include "tests/integration/server/server_fixture.hpp"

#include <boost/json.hpp>
#include <pqxx/pqxx>

#include <optional>
#include <string>
#include <vector>

namespace tidesync::testing {

namespace {

namespace json = boost::json;
using protocol::column_type;


std::string text_of(const json::value& value) {
  return std::string(value.as_string());
}

const std::vector<column_type> orders_types{column_type::bigint, column_type::text,
                                            column_type::numeric, column_type::bigint};

// The digest the agent computes over rows given as PostgreSQL text.
std::string local_digest(const std::vector<std::vector<std::optional<std::string>>>& rows,
                         const std::vector<column_type>& types) {
  protocol::row_digest digest;
  for (const auto& row : rows) {
    for (std::size_t i = 0; i < row.size(); ++i)
      digest.add_cell(row[i] ? std::optional<std::string_view>{*row[i]} : std::nullopt, types[i]);
    digest.end_row();
  }
  return digest.finish();
}

class digests_test : public server_test {
protected:
  http_reply digests(const std::string& body, const std::string& table = "orders") {
    return client().call("POST", table_path(table) + "/digests", token_, body);
  }

  http_reply recount(const std::string& table = "orders") {
    return client().call("POST", table_path(table) + "/recount", token_, "{}");
  }

  /// Runs SQL on the store's database as something other than the API would.
  void sql(const std::string& statement) {
    pqxx::connection connection{db_.url()};
    pqxx::work tx{connection};
    tx.exec0(statement);
    tx.commit();
  }

  static constexpr const char* all_columns = R"(["id","note","price","tidesync_version"])";
};

using DigestsOverHttp = digests_test;

TEST_F(DigestsOverHttp, ARangeDigestEqualsTheDigestTheAgentComputesLocally) {
  declare_orders();
  ASSERT_EQ(upload_orders(R"([[1,"a","1.50",10],[2,null,"2",10],[3,"c",null,11],[4,"",
                              "-0.5e1",12]])")
                .status,
            200);
  auto reply = digests(std::string(R"({"columns":)") + all_columns +
                       R"(,"ranges":[{"from":null,"to":null},{"from":[2],"to":[4]},
                                     {"from":[4],"to":null},{"from":[9],"to":null}]})");
  ASSERT_EQ(reply.status, 200) << reply.body;
  auto answer = reply.json();
  EXPECT_EQ(answer.at("columns"), json::parse(all_columns));
  const auto& ranges = answer.at("ranges").as_array();
  ASSERT_EQ(ranges.size(), 4u);
  // What the site's source would print for the same rows, numeric spelled differently.
  std::vector<std::vector<std::optional<std::string>>> site{
      {"1", "a", "1.50", "10"}, {"2", std::nullopt, "2", "10"}, {"3", "c", std::nullopt, "11"},
      {"4", "", "-5", "12"}};
  EXPECT_EQ(ranges[0].at("count"), 4);
  EXPECT_EQ(text_of(ranges[0].at("digest")), local_digest(site, orders_types));
  EXPECT_EQ(ranges[1].at("count"), 2);
  EXPECT_EQ(text_of(ranges[1].at("digest")), local_digest({site[1], site[2]}, orders_types));
  EXPECT_EQ(ranges[2].at("count"), 1);
  EXPECT_EQ(text_of(ranges[2].at("digest")), local_digest({site[3]}, orders_types));
  EXPECT_EQ(ranges[3].at("count"), 0);
  EXPECT_EQ(text_of(ranges[3].at("digest")), local_digest({}, orders_types));
}

TEST_F(DigestsOverHttp, ARowListingPagesWithNext) {
  declare_orders();
  ASSERT_EQ(upload_orders(R"([[1,"a",null,10],[2,"b",null,10],[3,"c",null,10],[4,"d",null,10],
                              [5,"e",null,10]])")
                .status,
            200);
  std::vector<std::int64_t> seen;
  json::value after = nullptr;
  int pages = 0;
  do {
    auto body = std::string(R"({"columns":["id","note"],"rows":{"from":[2],"to":null,"limit":2)") +
                (after.is_null() ? "" : R"(,"after":)" + json::serialize(after)) + "}}";
    auto reply = digests(body);
    ASSERT_EQ(reply.status, 200) << reply.body;
    auto answer = reply.json();
    for (const auto& row : answer.at("rows").as_array()) {
      seen.push_back(row.at("key").at(0).as_int64());
      auto id = std::to_string(seen.back());
      std::string note(1, static_cast<char>('a' + seen.back() - 1));
      std::vector<std::optional<std::string_view>> cells{id, note};
      EXPECT_EQ(text_of(row.at("digest")),
                protocol::single_row_digest(cells, std::vector<column_type>{column_type::bigint,
                                                                            column_type::text})
                    );
    }
    after = answer.at("next");
    ASSERT_LE(++pages, 5);
  } while (!after.is_null());
  EXPECT_EQ(seen, (std::vector<std::int64_t>{2, 3, 4, 5}));
  EXPECT_EQ(pages, 2);
}

TEST_F(DigestsOverHttp, RecountFixesASummaryChangedBySql) {
  declare_orders();
  ASSERT_EQ(upload_orders(R"([[1,"a",null,10],[2,"b",null,11],[3,"c",null,12]])").status, 200);
  sql("DELETE FROM tidesync_data.orders WHERE id = 3");
  sql("UPDATE tidesync_data.orders SET tidesync_version = 20 WHERE id = 1");
  auto stale = client().call("GET", table_path("orders"), token_);
  ASSERT_EQ(stale.status, 200) << stale.body;
  EXPECT_EQ(stale.json().at("count"), 3);
  auto reply = recount();
  ASSERT_EQ(reply.status, 200) << reply.body;
  EXPECT_EQ(reply.json().at("count"), 2);
  EXPECT_EQ(reply.json().at("max_version"), 20);
  auto fresh = client().call("GET", table_path("orders"), token_);
  EXPECT_EQ(fresh.json(), reply.json());
}

TEST_F(DigestsOverHttp, AnUploadCanAskForItsSummaryCountedFromTheData) {
  declare_orders();
  ASSERT_EQ(upload_orders(R"([[1,"a",null,10],[2,"b",null,11]])").status, 200);
  sql("DELETE FROM tidesync_data.orders WHERE id = 2");  // the summary still counts it
  const std::string body =
    R"({"columns":["id","note","price","tidesync_version"],"rows":[[3,"c",null,12]]})";
  auto plain = client().call("POST", table_path("orders"), token_, body);
  ASSERT_EQ(plain.status, 200) << plain.body;
  EXPECT_EQ(plain.json().at("count"), 3);  // incremental: 2 + 1
  auto counted = client().call("POST", table_path("orders") + "?recount=true", token_, body);
  ASSERT_EQ(counted.status, 200) << counted.body;
  EXPECT_EQ(counted.json().at("count"), 2);  // rows 1 and 3, counted
  EXPECT_EQ(counted.json().at("max_version"), 12);
  EXPECT_EQ(client().call("GET", table_path("orders"), token_).json().at("count"), 2);
  EXPECT_EQ(client().call("POST", table_path("orders") + "?recount=false", token_, body).status,
            200);
  auto bad = client().call("POST", table_path("orders") + "?recount=yes", token_, body);
  EXPECT_EQ(bad.status, 400) << bad.body;
  EXPECT_NE(bad.body.find("recount"), std::string::npos) << bad.body;
}

TEST_F(DigestsOverHttp, ATenantCannotDigestAnotherTenantsTable) {
  declare_orders();
  ASSERT_EQ(upload_orders(R"([[1,"secret",null,10]])").status, 200);
  auto globex = create_client("globex");
  auto globex_db = register_database("globex", globex, "store-01");
  auto body = R"({"columns":["id","note"],"ranges":[{}]})";
  // acme's path with globex's token.
  auto reply = client().call("POST", table_path("orders") + "/digests", globex, body);
  EXPECT_EQ(reply.status, 403) << reply.body;
  reply = client().call("POST", table_path("orders") + "/recount", globex, "{}");
  EXPECT_EQ(reply.status, 403) << reply.body;
  // globex's own path naming acme's database.
  reply = client().call("POST",
                        database_path("globex", database_id_) + "/tables/orders/digests",
                        globex, body);
  EXPECT_EQ(reply.status, 404) << reply.body;
  // globex's own database, which never declared the table.
  reply = client().call("POST", database_path("globex", globex_db) + "/tables/orders/digests",
                        globex, body);
  EXPECT_EQ(reply.status, 404) << reply.body;
  reply = client().call("POST", database_path("globex", globex_db) + "/tables/orders/recount",
                        globex, "{}");
  EXPECT_EQ(reply.status, 404) << reply.body;
}

TEST_F(DigestsOverHttp, AnUndeclaredTableIs404) {
  declare_orders();
  auto reply = digests(R"({"columns":["id"],"ranges":[{}]})", "nothing_here");
  EXPECT_EQ(reply.status, 404) << reply.body;
  EXPECT_EQ(recount("nothing_here").status, 404);
}

TEST_F(DigestsOverHttp, BadBodiesAnswer400NamingTheField) {
  declare_orders();
  struct bad {
    std::string body;
    std::string message;
  };
  for (const auto& [body, message] : std::vector<bad>{
           {R"({"ranges":[{}]})", "columns: missing"},
           {R"({"columns":["id"]})", "expected exactly one of \"ranges\" and \"rows\""},
           {R"({"columns":["id"],"ranges":[{"from":["1"]}]})",
            "ranges[0].from[0]: expected an integer between -9223372036854775808 and "
            "9223372036854775807, got \"1\""},
           {R"({"columns":["id"],"ranges":[{"from":[1,2]}]})",
            "ranges[0].from: expected 1 key cells, got 2"},
           {R"({"columns":["id"],"ranges":[{"to":[null]}]})",
            "ranges[0].to[0]: a key cell cannot be null"},
           {R"({"columns":["id"],"rows":{"limit":0}})", "rows.limit: expected 1 to 10000"},
           {R"({"columns":["id"],"rows":{},"extra":1})", "unknown field \"extra\""},
           {R"({"columns":["note"],"ranges":[{}]})",
            "columns: the key column \"id\" must be digested"},
           {R"({"columns":["id","note","id"],"ranges":[{}]})",
            "columns[2]: \"id\" is listed twice"},
           {R"({"columns":["id"],"ranges":[{}])", ""},
       }) {
    auto reply = digests(body);
    EXPECT_EQ(reply.status, 400) << body << " → " << reply.body;
    EXPECT_EQ(reply.error_code(), "bad_request") << body;
    if (!message.empty())
      EXPECT_EQ(reply.error_message(), message) << body;
    else
      EXPECT_NE(reply.error_message().find("malformed JSON body"), std::string::npos)
          << reply.body;
  }
}

TEST_F(DigestsOverHttp, AColumnTheTableLacksIsLeftOutOfTheAnswer) {
  declare_orders();
  ASSERT_EQ(upload_orders(R"([[1,"a",null,10]])").status, 200);
  auto reply = digests(R"({"columns":["id","shipped","note"],"ranges":[{}]})");
  ASSERT_EQ(reply.status, 200) << reply.body;
  EXPECT_EQ(reply.json().at("columns"), json::parse(R"(["id","note"])"));
  EXPECT_EQ(text_of(reply.json().at("ranges").at(0).at("digest")),
            local_digest({{"1", "a"}}, {column_type::bigint, column_type::text}));
}

TEST_F(DigestsOverHttp, RangesFromAboveToAreEmpty) {
  declare_orders();
  ASSERT_EQ(upload_orders(R"([[1,"a",null,10],[5,"e",null,10]])").status, 200);
  auto reply = digests(R"({"columns":["id"],"ranges":[{"from":[5],"to":[1]},{"from":[1],"to":[1]}]})");
  ASSERT_EQ(reply.status, 200) << reply.body;
  auto answer = reply.json();
  for (const auto& range : answer.at("ranges").as_array())
    EXPECT_EQ(range.at("count"), 0);
  reply = digests(R"({"columns":["id"],"rows":{"from":[5],"to":[1]}})");
  ASSERT_EQ(reply.status, 200) << reply.body;
  EXPECT_TRUE(reply.json().at("rows").as_array().empty());
  EXPECT_TRUE(reply.json().at("next").is_null());
}

TEST_F(DigestsOverHttp, AThousandRangesAreAnsweredAndOneMoreIsRefused) {
  declare_orders();
  ASSERT_EQ(upload_orders(R"([[1,"a",null,10],[500,"e",null,10]])").status, 200);
  auto body = [](int count) {
    std::string ranges;
    for (int i = 0; i < count; ++i)
      ranges += std::string(i > 0 ? "," : "") + R"({"from":[)" + std::to_string(i) + R"(],"to":[)" +
                std::to_string(i + 1) + "]}";
    return R"({"columns":["id"],"ranges":[)" + ranges + "]}";
  };
  auto reply = digests(body(1000));
  ASSERT_EQ(reply.status, 200) << reply.body.substr(0, 300);
  auto answer = reply.json();
  const auto& ranges = answer.at("ranges").as_array();
  ASSERT_EQ(ranges.size(), 1000u);
  EXPECT_EQ(ranges[1].at("count"), 1);
  EXPECT_EQ(ranges[500].at("count"), 1);
  EXPECT_EQ(ranges[2].at("count"), 0);
  reply = digests(body(1001));
  EXPECT_EQ(reply.status, 400);
  EXPECT_EQ(reply.error_message(), "ranges: expected 1 to 1000 ranges");
}

TEST_F(DigestsOverHttp, KeysWithNulOrInvalidUtf8AreRefused) {
  ASSERT_EQ(client()
                .call("PUT", table_path("notes") + "/schema", token_,
                      schema_body(R"([{"name":"k","type":"text","nullable":false},
                                      {"name":"tidesync_version","type":"bigint",
                                       "nullable":false}])",
                                  R"(["k"])"))
                .status,
            200);
  auto reply = digests(R"({"columns":["k"],"ranges":[{"from":["a\u0000b"]}]})", "notes");
  EXPECT_EQ(reply.status, 400);
  EXPECT_EQ(reply.error_message(),
            "ranges[0].from[0]: expected a JSON string without NUL characters, got \"a\\u0000b\"");
  reply = digests("{\"columns\":[\"k\"],\"ranges\":[{\"from\":[\"\xc3\x28\"]}]}", "notes");
  EXPECT_EQ(reply.status, 400);
  EXPECT_NE(reply.error_message().find("malformed JSON body"), std::string::npos) << reply.body;
}

TEST_F(DigestsOverHttp, SqlInKeyCellsAndColumnNamesStaysData) {
  ASSERT_EQ(client()
                .call("PUT", table_path("notes") + "/schema", token_,
                      schema_body(R"([{"name":"k","type":"text","nullable":false},
                                      {"name":"tidesync_version","type":"bigint",
                                       "nullable":false}])",
                                  R"(["k"])"))
                .status,
            200);
  auto evil = R"(x'); DELETE FROM tidesync.clients; --)";
  ASSERT_EQ(client()
                .call("POST", table_path("notes"), token_,
                      std::string(R"({"columns":["k","tidesync_version"],"rows":[[")") + evil +
                          R"(",1],["y",1]]})")
                .status,
            200);
  auto reply = digests(std::string(R"({"columns":["k","k\"; DROP TABLE tidesync.clients; --"],)") +
                       R"("ranges":[{"from":[")" + evil + R"("],"to":["x'); DELETE FROM tidesync.clients; -."]}]})",
                       "notes");
  ASSERT_EQ(reply.status, 200) << reply.body;
  EXPECT_EQ(reply.json().at("columns"), json::parse(R"(["k"])"));
  EXPECT_EQ(reply.json().at("ranges").at(0).at("count"), 1);
  reply = digests(std::string(R"({"columns":["k"],"rows":{"after":[")") + evil + R"("]}})", "notes");
  ASSERT_EQ(reply.status, 200) << reply.body;
  ASSERT_EQ(reply.json().at("rows").as_array().size(), 1u);
  EXPECT_EQ(reply.json().at("rows").at(0).at("key").at(0), "y");
  // The tenant and its token are still there.
  EXPECT_EQ(client().call("GET", table_path("notes"), token_).status, 200);
}

TEST_F(DigestsOverHttp, KeysOfEveryTypeServeAsRangeBounds) {
  // One key column of each key-able type; a range around each row finds it.
  auto columns = R"([{"name":"k_smallint","type":"smallint","nullable":false},
    {"name":"k_integer","type":"integer","nullable":false},
    {"name":"k_bigint","type":"bigint","nullable":false},
    {"name":"k_numeric","type":"numeric","nullable":false},
    {"name":"k_real","type":"real","nullable":false},
    {"name":"k_double","type":"double precision","nullable":false},
    {"name":"k_boolean","type":"boolean","nullable":false},
    {"name":"k_text","type":"text","nullable":false},
    {"name":"k_bytea","type":"bytea","nullable":false},
    {"name":"k_date","type":"date","nullable":false},
    {"name":"k_timestamp","type":"timestamp","nullable":false},
    {"name":"k_timestamptz","type":"timestamptz","nullable":false},
    {"name":"k_uuid","type":"uuid","nullable":false},
    {"name":"tidesync_version","type":"bigint","nullable":false}])";
  auto key = R"(["k_smallint","k_integer","k_bigint","k_numeric","k_real","k_double","k_boolean",
                 "k_text","k_bytea","k_date","k_timestamp","k_timestamptz","k_uuid"])";
  auto declared = client().call("PUT", table_path("typed") + "/schema", token_,
                                schema_body(columns, key));
  ASSERT_EQ(declared.status, 200) << declared.body;
  std::string names = R"(["k_smallint","k_integer","k_bigint","k_numeric","k_real","k_double",
    "k_boolean","k_text","k_bytea","k_date","k_timestamp","k_timestamptz","k_uuid"])";
  std::string low = R"([1,1,1,"1.5",1.5,-0.0,false,"a","\\x00","4714-11-24 BC",
    "2024-01-01 00:00:00","2024-01-01 02:00:00+02","00000000-0000-0000-0000-000000000001"])";
  std::string mid = R"([1,1,1,"1.50",1.5,0.0,true,"é","\\xFF","2024-02-29",
    "2024-01-01T00:00:00.5","2024-01-01 00:00:00.5Z","0E9A1F3C-5B7D-4E2A-9C1B-ABCDEF012345"])";
  std::string high = R"([1,1,1,"1.50",1.5,"Infinity",true,"é","\\xff","infinity",
    "infinity","infinity","ffffffff-ffff-ffff-ffff-ffffffffffff"])";
  auto upload = client().call("POST", table_path("typed"), token_,
                              R"({"columns":)" + names.substr(0, names.size() - 1) +
                                  R"(,"tidesync_version"],"rows":[)" +
                                  low.substr(0, low.size() - 1) + ",1]," +
                                  mid.substr(0, mid.size() - 1) + ",1]," +
                                  high.substr(0, high.size() - 1) + ",1]]}");
  ASSERT_EQ(upload.status, 200) << upload.body;
  auto reply = digests(R"({"columns":)" + names + R"(,"ranges":[{"from":)" + low + R"(,"to":)" +
                           mid + R"(},{"from":)" + mid + R"(,"to":)" + high + R"(},{"from":)" +
                           high + R"(,"to":null},{"from":null,"to":)" + low + "}]}",
                       "typed");
  ASSERT_EQ(reply.status, 200) << reply.body;
  auto answer = reply.json();
  const auto& ranges = answer.at("ranges").as_array();
  EXPECT_EQ(ranges[0].at("count"), 1);
  EXPECT_EQ(ranges[1].at("count"), 1);
  EXPECT_EQ(ranges[2].at("count"), 1);
  EXPECT_EQ(ranges[3].at("count"), 0);
  // Every key cell comes back in the store's own spelling and digests as the sent one.
  auto listed = digests(R"({"columns":)" + names + R"(,"rows":{"from":)" + mid + R"(,"to":)" +
                            high + "}}",
                        "typed");
  ASSERT_EQ(listed.status, 200) << listed.body;
  auto rows = listed.json().at("rows").as_array();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].at("key").at(8), "\\xff");
  EXPECT_EQ(rows[0].at("key").at(12), "0e9a1f3c-5b7d-4e2a-9c1b-abcdef012345");
  EXPECT_EQ(rows[0].at("key").at(11), "2024-01-01 00:00:00.5+00");
}

TEST_F(DigestsOverHttp, AMillionCloudRowsInOneRangeArePagedAndDigested) {
  declare_orders();
  ASSERT_EQ(upload_orders(R"([[1,"a",null,10]])").status, 200);
  // Rows written into the store behind the API's back, all in one range of the site.
  sql("INSERT INTO tidesync_data.orders (client_id, database_id, id, note, tidesync_version) "
      "SELECT client_id, database_id, g, 'x', 11 FROM tidesync_data.orders, "
      "generate_series(2, 1000001) g WHERE id = 1");
  auto reply = digests(R"({"columns":["id","note"],"ranges":[{"from":[1],"to":null}]})");
  ASSERT_EQ(reply.status, 200) << reply.body;
  EXPECT_EQ(reply.json().at("ranges").at(0).at("count"), 1'000'001);
  // A listing answers one bounded page with a place to go on from.
  reply = digests(R"({"columns":["id","note"],"rows":{"from":[1],"limit":10000}})");
  ASSERT_EQ(reply.status, 200);
  EXPECT_LT(reply.body.size(), 1'000'000u);
  auto answer = reply.json();
  EXPECT_EQ(answer.at("rows").as_array().size(), 10'000u);
  EXPECT_EQ(answer.at("next"), json::parse("[10000]"));
  reply = digests(R"({"columns":["id","note"],"rows":{"after":[999999],"limit":10000}})");
  ASSERT_EQ(reply.status, 200);
  EXPECT_EQ(reply.json().at("rows").as_array().size(), 2u);
  EXPECT_TRUE(reply.json().at("next").is_null());
}

} // namespace
} // namespace tidesync::testing
