// The requests today's agent sends (actors/http_remote.cpp, actors/wire_body.cpp),
// with literal bodies as the agent builds them, each answered as before:
// same status, same members. v1 may only grow; this test says if it changed.
#include "protocol/content_digest.hpp"

#include "tests/integration/server/server_fixture.hpp"

#include <boost/json.hpp>

#include <set>
#include <string>

namespace tidesync::testing {

namespace {

namespace json = boost::json;

using AgentReplay = server_test;

std::string text_of(const json::value& value) {
  return std::string(value.as_string());
}

std::set<std::string> members(const json::value& value) {
  std::set<std::string> out;
  for (const auto& member : value.as_object())
    out.emplace(member.key());
  return out;
}

using names = std::set<std::string>;

TEST_F(AgentReplay, TodaysAgentRequestsAreAnsweredAsBefore) {
  const auto base = "/v1/customers/acme/databases";
  // register_database: {"name":…}
  auto reply = client().call("POST", base, token_, R"({"name":"store-01"})");
  ASSERT_EQ(reply.status, 200) << reply.body;
  EXPECT_EQ(members(reply.json()), (names{"database_id", "name"})) << reply.body;
  EXPECT_EQ(reply.json().at("database_id"), database_id_.c_str());
  auto db = std::string(base) + "/" + database_id_;

  // list_tables before any declaration.
  reply = client().call("GET", db + "/tables", token_);
  ASSERT_EQ(reply.status, 200) << reply.body;
  EXPECT_EQ(reply.json(), json::parse(R"({"tables":{}})"));

  // declare_schema: json::serialize(protocol::to_json(schema)).
  const std::string schema =
      R"({"columns":[{"name":"id","type":"bigint","nullable":false},)"
      R"({"name":"note","type":"text","nullable":true},)"
      R"({"name":"price","type":"numeric","nullable":true},)"
      R"({"name":"ratio","type":"double precision","nullable":true},)"
      R"({"name":"changed","type":"timestamptz","nullable":true},)"
      R"({"name":"tidesync_version","type":"bigint","nullable":false}],)"
      R"("key":["id"],"version_column":"tidesync_version","modified_column":"changed"})";
  reply = client().call("PUT", db + "/tables/orders/schema", token_, schema);
  ASSERT_EQ(reply.status, 200) << reply.body;
  EXPECT_EQ(members(reply.json()), (names{"columns", "key", "version_column", "modified_column"}))
      << reply.body;

  // table_summary of the fresh table.
  reply = client().call("GET", db + "/tables/orders", token_);
  ASSERT_EQ(reply.status, 200) << reply.body;
  EXPECT_EQ(members(reply.json()), (names{"count", "max_version", "max_modified"})) << reply.body;
  EXPECT_EQ(reply.json().at("count"), 0);
  EXPECT_TRUE(reply.json().at("max_version").is_null());

  // upload: wire_body upload_body.
  reply = client().call(
      "POST", db + "/tables/orders", token_,
      R"({"columns":["id","note","price","ratio","changed","tidesync_version"],"rows":[)"
      R"([1,"a","1.50",1.2368089337706643E5,"2024-02-29 13:45:01.5+00",7],)"
      R"([2,null,null,null,null,7],[3,"c","-3",-0.0,"2024-03-01 00:00:00+00",8],)"
      R"([4,"d","4",1E-2,"2024-03-02 00:00:00+00",9]]})");
  ASSERT_EQ(reply.status, 200) << reply.body;
  EXPECT_EQ(members(reply.json()), (names{"count", "max_version", "inserted", "updated", "rows"}))
      << reply.body;
  EXPECT_EQ(reply.json().at("count"), 4);
  EXPECT_EQ(reply.json().at("max_version"), 9);

  // list_tables: one summary per declared table.
  reply = client().call("GET", db + "/tables", token_);
  ASSERT_EQ(reply.status, 200) << reply.body;
  EXPECT_EQ(members(reply.json()), names{"tables"});
  EXPECT_EQ(members(reply.json().at("tables")), names{"orders"});
  EXPECT_EQ(reply.json().at("tables").at("orders").at("count"), 4);

  // manifest: GET …/manifest?limit=&min_version=&max_version=[&after=].
  reply = client().call("GET", db + "/tables/orders/manifest?limit=2&min_version=0&max_version=9",
                        token_);
  ASSERT_EQ(reply.status, 200) << reply.body;
  EXPECT_EQ(members(reply.json()), (names{"entries", "key_columns", "next"})) << reply.body;
  ASSERT_EQ(reply.json().at("entries").as_array().size(), 2u);
  EXPECT_EQ(members(reply.json().at("entries").at(0)), (names{"version", "key"}));
  EXPECT_EQ(reply.json().at("entries").at(0).at("key"), json::parse("[1]"));
  auto next = std::string(reply.json().at("next").as_string());
  reply = client().call("GET", db + "/tables/orders/manifest?limit=2&min_version=0&after=" + next,
                        token_);
  ASSERT_EQ(reply.status, 200) << reply.body;
  EXPECT_EQ(reply.json().at("entries").at(0).at("key"), json::parse("[3]"));
  EXPECT_TRUE(reply.json().at("next").is_null()) << reply.body;

  // delete_rows, the three forms of wire_body.
  reply = client().call("DELETE", db + "/tables/orders", token_, R"({"keys":[[2]]})");
  ASSERT_EQ(reply.status, 200) << reply.body;
  EXPECT_EQ(members(reply.json()), (names{"deleted", "count", "max_version"}))
      << reply.body;
  EXPECT_EQ(reply.json().at("deleted"), 1);
  reply = client().call("DELETE", db + "/tables/orders", token_, R"({"above_version":8})");
  ASSERT_EQ(reply.status, 200) << reply.body;
  EXPECT_EQ(reply.json().at("deleted"), 1);
  EXPECT_EQ(reply.json().at("max_version"), 8);
  reply = client().call("DELETE", db + "/tables/orders", token_, R"({"all":true})");
  ASSERT_EQ(reply.status, 200) << reply.body;
  EXPECT_EQ(reply.json().at("deleted"), 2);
  EXPECT_EQ(reply.json().at("count"), 0);
}

TEST_F(AgentReplay, ADoubleTheAgentSendsIsStoredExactly) {
  // Boost.JSON 1.81's parse reads 1.2368089337706643E5 one unit in the last
  // place low; the store must hold the site's value, or digests never agree.
  ASSERT_EQ(client()
                .call("PUT", table_path("ratios") + "/schema", token_,
                      schema_body(R"([{"name":"id","type":"bigint","nullable":false},
                                      {"name":"ratio","type":"double precision","nullable":true},
                                      {"name":"tidesync_version","type":"bigint",
                                       "nullable":false}])",
                                  R"(["id"])"))
                .status,
            200);
  auto reply = client().call(
      "POST", table_path("ratios"), token_,
      R"({"columns":["id","ratio","tidesync_version"],"rows":[[1,1.2368089337706643E5,1],)"
      R"([2,4.1645270271585476E4,1],[3,1.9546646168002186E5,1]]})");
  ASSERT_EQ(reply.status, 200) << reply.body;
  reply = client().call("POST", table_path("ratios") + "/digests", token_,
                        R"({"columns":["id","ratio"],"rows":{}})");
  ASSERT_EQ(reply.status, 200) << reply.body;
  auto answer = reply.json();
  const auto& rows = answer.at("rows").as_array();
  ASSERT_EQ(rows.size(), 3u);
  const char* sent[] = {"123680.89337706643", "41645.270271585476", "195466.46168002186"};
  for (std::size_t i = 0; i < rows.size(); ++i) {
    auto id = std::to_string(i + 1);
    std::vector<std::optional<std::string_view>> cells{id, sent[i]};
    EXPECT_EQ(text_of(rows[i].at("digest")),
              protocol::single_row_digest(
                  cells, std::vector<protocol::column_type>{protocol::column_type::bigint,
                                                            protocol::column_type::double_precision}))
        << sent[i];
  }
}

} // namespace
} // namespace tidesync::testing
