// Every endpoint of docs/api.md over real HTTP against a real PostgreSQL store.
#include "server/api_server.hpp"

#include "protocol/gzip.hpp"
#include "protocol/zstd.hpp"
#include "protocol/url_encoding.hpp"
#include "tests/integration/server/server_fixture.hpp"

#include <boost/json.hpp>

namespace tidesync::testing {

namespace {

namespace json = boost::json;

using ApiEndpoints = server_test;

std::int64_t as_int(const json::value& v) {
  return v.to_number<std::int64_t>();
}

TEST_F(ApiEndpoints, HealthzAnswersOkWithoutAToken) {
  auto reply = client().send("GET", "/healthz");
  EXPECT_EQ(reply.status, 200);
  EXPECT_EQ(reply.json(), json::parse(R"({"status":"ok"})"));
}

TEST_F(ApiEndpoints, ReadyzAnswersReadyWhenTheDatabaseAnswers) {
  auto reply = client().send("GET", "/readyz");
  EXPECT_EQ(reply.status, 200) << reply.body;
  EXPECT_EQ(reply.json(), json::parse(R"({"status":"ready"})"));
}

TEST_F(ApiEndpoints, MetricsAreServedInPrometheusTextFormat) {
  declare_orders();
  ASSERT_EQ(upload_orders(R"([[1,"a","1.50",10],[2,"b",null,10]])").status, 200);
  auto reply = client().send("GET", "/metrics");
  EXPECT_EQ(reply.status, 200);
  EXPECT_NE(reply.headers["content-type"].find("text/plain"), std::string::npos);
  EXPECT_NE(reply.body.find("tidesync_server_requests_total{route=\"upload\",status=\"200\"} 1"),
            std::string::npos)
      << reply.body;
  EXPECT_NE(reply.body.find("tidesync_server_rows_uploaded_total 2"), std::string::npos);
  EXPECT_NE(reply.body.find("tidesync_server_request_duration_seconds_bucket"), std::string::npos);
  EXPECT_NE(reply.body.find("tidesync_server_pool_busy"), std::string::npos);
}

TEST_F(ApiEndpoints, RegisteringTheSameDatabaseTwiceAnswersTheSameId) {
  auto again = register_database("acme", token_, "store-01");
  EXPECT_EQ(again, database_id_);
  auto other = register_database("acme", token_, "store-02");
  EXPECT_NE(other, database_id_);
}

TEST_F(ApiEndpoints, DeclaringASchemaAnswersTheStoredSchema) {
  auto body = schema_body(R"([{"name":"id","type":"int8","nullable":false},
                              {"name":"tidesync_version","type":"bigint","nullable":false}])",
                          R"(["id"])");
  auto reply = client().call("PUT", table_path("items") + "/schema", token_, body);
  ASSERT_EQ(reply.status, 200) << reply.body;
  auto stored = reply.json();
  EXPECT_EQ(stored.at("columns").at(0).at("type"), "bigint");
  EXPECT_EQ(stored.at("key"), json::parse(R"(["id"])"));
  // Re-declaring the same schema is a no-op.
  auto again = client().call("PUT", table_path("items") + "/schema", token_, body);
  EXPECT_EQ(again.status, 200);
  EXPECT_EQ(again.json(), stored);
}

TEST_F(ApiEndpoints, ASchemaEvolvesByAddingNullableColumns) {
  declare_orders();
  auto reply = client().call("PUT", table_path("orders") + "/schema", token_,
                             schema_body(R"([{"name":"id","type":"bigint","nullable":false},
                    {"name":"note","type":"text","nullable":true},
                    {"name":"price","type":"numeric","nullable":true},
                    {"name":"shipped","type":"boolean","nullable":true},
                    {"name":"tidesync_version","type":"bigint","nullable":false}])",
                                         R"(["id"])"));
  ASSERT_EQ(reply.status, 200) << reply.body;
  EXPECT_NE(reply.body.find("shipped"), std::string::npos);
  auto upload = client().call("POST", table_path("orders"), token_,
                              R"({"columns":["id","shipped","tidesync_version"],
                                  "rows":[[1,true,5]]})");
  EXPECT_EQ(upload.status, 200) << upload.body;
}

TEST_F(ApiEndpoints, AColumnOfAnotherTypeAnswers409ListingTheRefusedColumn) {
  declare_orders();
  auto reply = client().call("PUT", table_path("orders") + "/schema", token_,
                             schema_body(R"([{"name":"id","type":"bigint","nullable":false},
                    {"name":"note","type":"integer","nullable":true},
                    {"name":"tidesync_version","type":"bigint","nullable":false}])",
                                         R"(["id"])"));
  EXPECT_EQ(reply.status, 409) << reply.body;
  EXPECT_EQ(reply.error_code(), "columns_refused");
  EXPECT_NE(reply.error_message().find("note"), std::string::npos) << reply.body;
  EXPECT_EQ(json::serialize(reply.json().at("error").at("refused_columns")),
            R"([{"name":"note","reason":"declared as integer but the shared table stores it as text"}])");
}

TEST_F(ApiEndpoints, ALockedSchemaAnswers409ForNewColumnsAndTheRestIsAccepted) {
  declare_orders();
  ASSERT_TRUE(admin_->set_schema_locked("orders", true));
  auto columns = [](const std::string& extra) {
    return schema_body(R"([{"name":"id","type":"bigint","nullable":false},)" + extra +
                           R"({"name":"tidesync_version","type":"bigint","nullable":false}])",
                       R"(["id"])");
  };
  auto reply = client().call("PUT", table_path("orders") + "/schema", token_,
                             columns(R"({"name":"card","type":"text","nullable":true},)"));
  EXPECT_EQ(reply.status, 409) << reply.body;
  EXPECT_EQ(reply.error_code(), "columns_refused");
  EXPECT_EQ(json::serialize(reply.json().at("error").at("refused_columns")),
            R"([{"name":"card","reason":"the table's schema is locked by the operator"}])");
  EXPECT_EQ(client().call("PUT", table_path("orders") + "/schema", token_, columns("")).status,
            200);
}

TEST_F(ApiEndpoints, ADeclarationOverTheColumnLimitAnswers422) {
  std::string extra;
  for (int i = 0; i < 400; ++i)
    extra += R"({"name":"c)" + std::to_string(i) + R"(","type":"text","nullable":true},)";
  auto reply = client().call("PUT", table_path("orders") + "/schema", token_,
                             schema_body(R"([{"name":"id","type":"bigint","nullable":false},)" +
                                             extra +
                                             R"({"name":"tidesync_version","type":"bigint",)"
                                             R"("nullable":false}])",
                                         R"(["id"])"));
  EXPECT_EQ(reply.status, 422) << reply.body;
  EXPECT_EQ(reply.error_code(), "limit_exceeded");
  EXPECT_NE(reply.error_message().find("tenants.columns_per_table"), std::string::npos)
      << reply.body;
}

TEST_F(ApiEndpoints, AFreshTableHasAnEmptyVersionSummary) {
  declare_orders();
  auto reply = client().call("GET", table_path("orders"), token_);
  ASSERT_EQ(reply.status, 200) << reply.body;
  EXPECT_EQ(reply.json(), json::parse(R"({"count":0,"max_version":null,"max_modified":null})"));
}

TEST_F(ApiEndpoints, AnUploadShowsInTheVersionSummary) {
  declare_orders();
  auto upload = upload_orders(R"([[1,"first","12.50",100],[2,null,null,101]])");
  ASSERT_EQ(upload.status, 200) << upload.body;
  EXPECT_EQ(upload.json(),
            json::parse(R"({"rows":2,"inserted":2,"updated":0,"count":2,"max_version":101})"));
  auto summary = client().call("GET", table_path("orders"), token_);
  EXPECT_EQ(summary.json(), json::parse(R"({"count":2,"max_version":101,"max_modified":null})"));
}

TEST_F(ApiEndpoints, UploadIsIdempotentWhenTheSameBatchIsSentTwice) {
  declare_orders();
  const std::string rows = R"([[1,"first","12.50",100],[2,"second","3",100]])";
  ASSERT_EQ(upload_orders(rows).status, 200);
  auto again = upload_orders(rows);
  ASSERT_EQ(again.status, 200) << again.body;
  EXPECT_EQ(as_int(again.json().at("inserted")), 0);
  EXPECT_EQ(as_int(again.json().at("count")), 2);
  auto summary = client().call("GET", table_path("orders"), token_).json();
  EXPECT_EQ(as_int(summary.at("count")), 2);
  EXPECT_EQ(as_int(summary.at("max_version")), 100);
}

TEST_F(ApiEndpoints, TheTablesSummaryListsEveryDeclaredTableInOneResponse) {
  declare_orders();
  auto items = client().call("PUT", table_path("items") + "/schema", token_,
                             schema_body(R"([{"name":"sku","type":"text","nullable":false},
                                 {"name":"tidesync_version","type":"bigint","nullable":false}])",
                                         R"(["sku"])"));
  ASSERT_EQ(items.status, 200) << items.body;
  ASSERT_EQ(upload_orders(R"([[1,"a",null,7]])").status, 200);
  auto reply = client().call("GET", database_path("acme", database_id_) + "/tables", token_);
  ASSERT_EQ(reply.status, 200) << reply.body;
  EXPECT_EQ(reply.json(), json::parse(R"({"tables":{
      "items":{"count":0,"max_version":null,"max_modified":null},
      "orders":{"count":1,"max_version":7,"max_modified":null}}})"));
}

TEST_F(ApiEndpoints, AnUnchangedTablesSummaryAnswers304ToItsETag) {
  declare_orders();
  ASSERT_EQ(upload_orders(R"([[1,"a",null,7]])").status, 200);
  const auto listing = database_path("acme", database_id_) + "/tables";
  auto first = client().call("GET", listing, token_);
  ASSERT_EQ(first.status, 200) << first.body;
  ASSERT_TRUE(first.headers.contains("etag"));
  auto etag = first.headers["etag"];
  EXPECT_EQ(etag.size(), 34u) << etag;  // 32 hex digits, quoted
  EXPECT_EQ(etag.front(), '"');

  auto ask = [&](const std::string& if_none_match) {
    return client().send("GET", listing, "",
                         {{"Authorization", "Bearer " + token_},
                          {"If-None-Match", if_none_match}});
  };
  auto unchanged = ask(etag);
  EXPECT_EQ(unchanged.status, 304);
  EXPECT_EQ(unchanged.body, "");
  EXPECT_EQ(unchanged.headers["etag"], etag);
  // A list naming it, its weak form and "*" match as well (RFC 9110 13.1.2).
  EXPECT_EQ(ask("\"0123\", " + etag).status, 304);
  EXPECT_EQ(ask("W/" + etag).status, 304);
  EXPECT_EQ(ask("*").status, 304);
  EXPECT_EQ(ask("\"0123\"").status, 200);
  EXPECT_EQ(ask("").status, 200);

  // Any change to a summary is a new listing with a new tag.
  ASSERT_EQ(upload_orders(R"([[1,"b",null,8]])").status, 200);
  auto changed = ask(etag);
  ASSERT_EQ(changed.status, 200) << changed.body;
  EXPECT_NE(changed.headers["etag"], etag);
  EXPECT_EQ(changed.json().at("tables").at("orders").at("max_version"), 8);
  EXPECT_EQ(ask(changed.headers["etag"]).status, 304);

  // The tag is checked after the token, never instead of it.
  auto anonymous = client().send("GET", listing, "", {{"If-None-Match", "*"}});
  EXPECT_EQ(anonymous.status, 401);
}

TEST_F(ApiEndpoints, DeleteByKeysRemovesThoseRows) {
  declare_orders();
  ASSERT_EQ(upload_orders(R"([[1,"a",null,10],[2,"b",null,11],[3,"c",null,12]])").status, 200);
  auto reply = client().call("DELETE", table_path("orders"), token_, R"({"keys":[[1],3]})");
  ASSERT_EQ(reply.status, 200) << reply.body;
  EXPECT_EQ(reply.json(), json::parse(R"({"deleted":2,"count":1,"max_version":11})"));
}

TEST_F(ApiEndpoints, DeleteAboveAVersionRemovesNewerRows) {
  declare_orders();
  ASSERT_EQ(upload_orders(R"([[1,"a",null,10],[2,"b",null,11],[3,"c",null,12]])").status, 200);
  auto reply = client().call("DELETE", table_path("orders"), token_, R"({"above_version":10})");
  ASSERT_EQ(reply.status, 200) << reply.body;
  EXPECT_EQ(reply.json(), json::parse(R"({"deleted":2,"count":1,"max_version":10})"));
}

TEST_F(ApiEndpoints, DeleteAllEmptiesThisDatabasesCopyOnly) {
  declare_orders();
  ASSERT_EQ(upload_orders(R"([[1,"a",null,10],[2,"b",null,11]])").status, 200);
  auto other_db = register_database("acme", token_, "store-02");
  auto other_path = database_path("acme", other_db) + "/tables/orders";
  ASSERT_EQ(client()
                .call("PUT", other_path + "/schema", token_,
                      schema_body(R"([{"name":"id","type":"bigint","nullable":false},
                                    {"name":"tidesync_version","type":"bigint","nullable":false}])",
                                  R"(["id"])"))
                .status,
            200);
  ASSERT_EQ(client()
                .call("POST", other_path, token_,
                      R"({"columns":["id","tidesync_version"],"rows":[[1,5]]})")
                .status,
            200);
  auto reply = client().call("DELETE", table_path("orders"), token_, R"({"all":true})");
  ASSERT_EQ(reply.status, 200) << reply.body;
  EXPECT_EQ(reply.json(), json::parse(R"({"deleted":2,"count":0,"max_version":null})"));
  EXPECT_EQ(as_int(client().call("GET", other_path, token_).json().at("count")), 1);
}

TEST_F(ApiEndpoints, TheManifestPagesWithNextUntilTheLastPage) {
  declare_orders();
  ASSERT_EQ(upload_orders(R"([[1,"a",null,10],[2,"b",null,10],[3,"c",null,11],
                              [4,"d",null,12],[5,"e",null,13]])")
                .status,
            200);
  std::vector<std::int64_t> keys;
  std::string after;
  int pages = 0;
  while (true) {
    auto target = table_path("orders") + "/manifest?min_version=10&max_version=12&limit=2";
    if (!after.empty())
      target += "&after=" + protocol::url_encode(after);
    auto reply = client().call("GET", target, token_);
    ASSERT_EQ(reply.status, 200) << reply.body;
    auto page = reply.json();
    EXPECT_EQ(page.at("key_columns"), json::parse(R"(["id"])"));
    for (const auto& entry : page.at("entries").as_array())
      keys.push_back(as_int(entry.at("key").at(0)));
    ++pages;
    ASSERT_LT(pages, 10);
    if (page.at("next").is_null())
      break;
    after = std::string(page.at("next").as_string());
  }
  EXPECT_EQ(keys, (std::vector<std::int64_t>{1, 2, 3, 4}));
  EXPECT_GE(pages, 2);
}

TEST_F(ApiEndpoints, CompositeTextAndUuidKeysWorkThroughHttp) {
  auto path = table_path("lines");
  auto declared = client().call("PUT", path + "/schema", token_,
                                schema_body(R"([{"name":"region","type":"text","nullable":false},
                    {"name":"id","type":"uuid","nullable":false},
                    {"name":"qty","type":"integer","nullable":true},
                    {"name":"tidesync_version","type":"bigint","nullable":false}])",
                                            R"(["region","id"])"));
  ASSERT_EQ(declared.status, 200) << declared.body;
  const std::string a = "8f14e45f-ceea-467f-a0e6-a6b4ff3c8f1d";
  const std::string b = "00000000-0000-4000-8000-000000000001";
  auto upload = client().call("POST", path, token_,
                              R"({"columns":["region","id","qty","tidesync_version"],"rows":[
                                 ["north",")" +
                                  a + R"(",1,1],["south",")" + a + R"(",2,1],
                                 ["north",")" +
                                  b + R"(",3,2]]})");
  ASSERT_EQ(upload.status, 200) << upload.body;
  auto manifest = client().call("GET", path + "/manifest", token_);
  ASSERT_EQ(manifest.status, 200) << manifest.body;
  EXPECT_EQ(manifest.json().at("key_columns"), json::parse(R"(["region","id"])"));
  EXPECT_EQ(manifest.json().at("entries").as_array().size(), 3u);
  auto deleted = client().call("DELETE", path, token_, R"({"keys":[["south",")" + a + R"("]]})");
  ASSERT_EQ(deleted.status, 200) << deleted.body;
  EXPECT_EQ(as_int(deleted.json().at("deleted")), 1);
  EXPECT_EQ(as_int(deleted.json().at("count")), 2);
}

TEST_F(ApiEndpoints, AGzipBodyIsAccepted) {
  declare_orders();
  auto body = protocol::gzip_compress(
      R"({"columns":["id","note","price","tidesync_version"],"rows":[[1,"zipped",null,3]]})");
  auto reply = client().send("POST", table_path("orders"), body,
                             {{"Authorization", "Bearer " + token_}, {"Content-Encoding", "gzip"}});
  ASSERT_EQ(reply.status, 200) << reply.body;
  EXPECT_EQ(as_int(reply.json().at("inserted")), 1);
}

TEST_F(ApiEndpoints, AZstdBodyIsAcceptedInAnyCase) {
  declare_orders();
  int id = 0;
  for (std::string coding : {"zstd", "ZSTD"}) {
    auto body = protocol::zstd_compress(R"({"columns":["id","note","price","tidesync_version"],)"
                                        R"("rows":[[)" + std::to_string(++id) +
                                        R"(,"squeezed",null,3]]})");
    auto reply = client().send("POST", table_path("orders"), body,
                               {{"Authorization", "Bearer " + token_}, {"Content-Encoding", coding}});
    ASSERT_EQ(reply.status, 200) << reply.body;
    EXPECT_EQ(as_int(reply.json().at("inserted")), 1);
  }
}

TEST_F(ApiEndpoints, OneConnectionServesManyRequestsWithKeepAlive) {
  auto opened = client().connections_opened();
  for (int i = 0; i < 20; ++i)
    ASSERT_EQ(client().send("GET", "/healthz").status, 200);
  EXPECT_EQ(client().connections_opened(), opened);
}

} // namespace

} // namespace tidesync::testing
