// Every error status of docs/api.md, over real HTTP.
#include "server/api_server.hpp"

#include "protocol/gzip.hpp"
#include "protocol/zstd.hpp"
#include "tests/integration/server/server_fixture.hpp"

#include <boost/json.hpp>

namespace tidesync::testing {

namespace {

namespace json = boost::json;

using ApiErrors = server_test;

const std::string unknown_database = "00000000-0000-4000-8000-00000000beef";

std::int64_t row_count(test_http_client& client, const std::string& path,
                       const std::string& token) {
  auto reply = client.call("GET", path, token);
  EXPECT_EQ(reply.status, 200) << reply.body;
  return reply.json().at("count").to_number<std::int64_t>();
}

TEST_F(ApiErrors, ARequestWithoutATokenAnswers401) {
  auto reply = client().call("GET", database_path("acme", database_id_) + "/tables", "");
  EXPECT_EQ(reply.status, 401);
  EXPECT_EQ(reply.error_code(), "unauthorized");
}

TEST_F(ApiErrors, AGarbageTokenAnswers401) {
  auto reply = client().call("GET", database_path("acme", database_id_) + "/tables", "nonsense");
  EXPECT_EQ(reply.status, 401);
  auto basic = client().send("GET", database_path("acme", database_id_) + "/tables", "",
                             {{"Authorization", "Basic " + token_}});
  EXPECT_EQ(basic.status, 401);
}

TEST_F(ApiErrors, ARevokedTokenAnswers401) {
  auto token = admin_->create_token("acme", std::nullopt);
  auto path = database_path("acme", database_id_) + "/tables";
  ASSERT_EQ(client().call("GET", path, token.secret).status, 200);
  ASSERT_TRUE(admin_->revoke_token(token.token_id));
  EXPECT_EQ(client().call("GET", path, token.secret).status, 401);
}

TEST_F(ApiErrors, ATokenOfOneClientIsForbiddenOnAnotherClientsPathsBothWays) {
  auto globex_token = create_client("globex");
  auto globex_db = register_database("globex", globex_token, "hq");
  auto on_acme =
      client().call("GET", database_path("acme", database_id_) + "/tables", globex_token);
  EXPECT_EQ(on_acme.status, 403);
  EXPECT_EQ(on_acme.error_code(), "forbidden");
  auto on_globex = client().call("GET", database_path("globex", globex_db) + "/tables", token_);
  EXPECT_EQ(on_globex.status, 403);
  auto register_on_globex =
      client().call("POST", "/v1/customers/globex/databases", token_, R"({"name":"x"})");
  EXPECT_EQ(register_on_globex.status, 403);
}

TEST_F(ApiErrors, ANarrowedTokenIsForbiddenOnAnotherDatabaseEvenAnUnknownOne) {
  auto narrowed = admin_->create_token("acme", database_id_).secret;
  auto other_db = register_database("acme", token_, "store-02");
  EXPECT_EQ(client().call("GET", database_path("acme", database_id_) + "/tables", narrowed).status,
            200);
  EXPECT_EQ(client().call("GET", database_path("acme", other_db) + "/tables", narrowed).status,
            403);
  // The scope check comes before existence: no probing for other databases.
  EXPECT_EQ(
      client().call("GET", database_path("acme", unknown_database) + "/tables", narrowed).status,
      403);
}

TEST_F(ApiErrors, ANarrowedTokenRegistersOnlyItsOwnDatabaseName) {
  auto narrowed = admin_->create_token("acme", database_id_).secret;
  auto own =
      client().call("POST", "/v1/customers/acme/databases", narrowed, R"({"name":"store-01"})");
  ASSERT_EQ(own.status, 200) << own.body;
  EXPECT_EQ(own.json().at("database_id").as_string(), database_id_);
  EXPECT_EQ(own.json().at("name").as_string(), "store-01");
  for (const auto* name : {"store-02", "Store-01", "store-01 "}) {
    auto other = client().call("POST", "/v1/customers/acme/databases", narrowed,
                               R"({"name":")" + std::string{name} + R"("})");
    EXPECT_EQ(other.status, 403) << name;
    EXPECT_EQ(other.error_code(), "forbidden");
  }
  // Refused without a trace: the name was not registered.
  EXPECT_EQ(admin_->list_clients().at(0).databases, 1);
  auto malformed = client().call("POST", "/v1/customers/acme/databases", narrowed, R"({"x":1})");
  EXPECT_EQ(malformed.status, 400);
}

TEST_F(ApiErrors, ATokenNarrowedBeforeTheFirstRunRegistersItsDatabaseWithTheSameId) {
  auto narrowed = admin_->create_token("acme", "store-07");
  ASSERT_TRUE(narrowed.database);
  auto reply = client().call("POST", "/v1/customers/acme/databases", narrowed.secret,
                             R"({"name":"store-07"})");
  ASSERT_EQ(reply.status, 200) << reply.body;
  EXPECT_EQ(reply.json().at("database_id").as_string(), narrowed.database->database_id);
  EXPECT_EQ(client()
                .call("GET", database_path("acme", narrowed.database->database_id) + "/tables",
                      narrowed.secret)
                .status,
            200);
  EXPECT_EQ(
      client().call("GET", database_path("acme", database_id_) + "/tables", narrowed.secret).status,
      403);
}

TEST_F(ApiErrors, AnUnknownDatabaseAnswers404) {
  auto reply =
      client().call("GET", database_path("acme", unknown_database) + "/tables/orders", token_);
  EXPECT_EQ(reply.status, 404) << reply.body;
  EXPECT_EQ(reply.error_code(), "not_found");
}

// The token and the path's database are read in one statement: each answer
// must still come from the right check, in the documented order.
TEST_F(ApiErrors, ADatabaseOfAnotherClientUnderOnesOwnPathAnswers404) {
  auto globex_token = create_client("globex");
  auto globex_db = register_database("globex", globex_token, "hq");
  auto reply = client().call("GET", database_path("acme", globex_db) + "/tables", token_);
  EXPECT_EQ(reply.status, 404) << reply.body;
  EXPECT_EQ(reply.error_code(), "not_found");
  EXPECT_EQ(client().call("GET", database_path("globex", globex_db) + "/tables", globex_token).status,
            200);
}

TEST_F(ApiErrors, AMalformedOrUnknownDatabaseIdIsCheckedOnlyAfterTheToken) {
  for (const auto& id : {std::string{"not-a-uuid"}, unknown_database}) {
    auto path = database_path("acme", id) + "/tables";
    EXPECT_EQ(client().call("GET", path, "nonsense").status, 401) << id;
    EXPECT_EQ(client().call("GET", path, "").status, 401) << id;
    auto globex_token = create_client(id.size() < 20 ? "globexa" : "globexb");
    EXPECT_EQ(client().call("GET", path, globex_token).status, 403) << id;
    auto reply = client().call("GET", path, token_);
    EXPECT_EQ(reply.status, 404) << id << ": " << reply.body;
  }
}

TEST_F(ApiErrors, AnUndeclaredTableAnswers404) {
  auto reply = client().call("GET", table_path("never_declared"), token_);
  EXPECT_EQ(reply.status, 404) << reply.body;
  auto upload = client().call("POST", table_path("never_declared"), token_,
                              R"({"columns":["id"],"rows":[]})");
  EXPECT_EQ(upload.status, 404) << upload.body;
}

TEST_F(ApiErrors, AnUnknownRouteAnswers404) {
  for (const auto* target : {"/", "/v2/customers/acme/databases", "/v1/customers/acme",
                             "/v1/customers/acme/databases/x/tables/t/other", "/healthz/more"}) {
    auto reply = client().call("GET", target, token_);
    EXPECT_EQ(reply.status, 404) << target;
    EXPECT_EQ(reply.error_code(), "not_found") << target;
  }
}

TEST_F(ApiErrors, AWrongMethodOnAKnownPathAnswers405) {
  EXPECT_EQ(client().send("DELETE", "/healthz").status, 405);
  EXPECT_EQ(client().call("PUT", table_path("orders"), token_, "{}").status, 405);
  auto reply = client().call("GET", "/v1/customers/acme/databases", token_);
  EXPECT_EQ(reply.status, 405);
  EXPECT_EQ(reply.error_code(), "method_not_allowed");
}

TEST_F(ApiErrors, MalformedJsonAnswers400AndTheServerServesTheNextRequest) {
  declare_orders();
  auto reply = client().call("POST", table_path("orders"), token_, R"({"columns":["id",)");
  EXPECT_EQ(reply.status, 400);
  EXPECT_EQ(reply.error_code(), "bad_request");
  EXPECT_EQ(client().send("GET", "/healthz").status, 200);
  EXPECT_EQ(upload_orders(R"([[1,"ok",null,1]])").status, 200);
}

TEST_F(ApiErrors, AWrongTypeAnswers400NamingRowAndColumnAndWritesNothing) {
  declare_orders();
  auto reply = upload_orders(R"([[1,"ok","1.00",1],[2,"bad",true,1]])");
  EXPECT_EQ(reply.status, 400) << reply.body;
  EXPECT_NE(reply.error_message().find("row 1"), std::string::npos) << reply.body;
  EXPECT_NE(reply.error_message().find("price"), std::string::npos) << reply.body;
  EXPECT_EQ(row_count(client(), table_path("orders"), token_), 0);
}

TEST_F(ApiErrors, ARowOfTheWrongWidthAnswers400NamingTheRow) {
  declare_orders();
  auto reply = upload_orders(R"([[1,"ok",null,1],[2,"short"]])");
  EXPECT_EQ(reply.status, 400) << reply.body;
  EXPECT_NE(reply.error_message().find("row 1"), std::string::npos) << reply.body;
  EXPECT_EQ(row_count(client(), table_path("orders"), token_), 0);
}

TEST_F(ApiErrors, AMissingKeyColumnAnswers400NamingIt) {
  declare_orders();
  auto reply = client().call("POST", table_path("orders"), token_,
                             R"({"columns":["note","tidesync_version"],"rows":[["x",1]]})");
  EXPECT_EQ(reply.status, 400) << reply.body;
  EXPECT_NE(reply.error_message().find("id"), std::string::npos) << reply.body;
  EXPECT_EQ(row_count(client(), table_path("orders"), token_), 0);
  EXPECT_EQ(upload_orders(R"([[1,"ok",null,1]])").status, 200);
}

TEST_F(ApiErrors, AnInvalidTableNameAnswers400) {
  auto reply = client().call("GET", table_path("bad-name"), token_);
  EXPECT_EQ(reply.status, 400) << reply.body;
  EXPECT_EQ(reply.error_code(), "bad_request");
}

TEST_F(ApiErrors, ABadManifestParameterAnswers400) {
  declare_orders();
  EXPECT_EQ(client().call("GET", table_path("orders") + "/manifest?limit=abc", token_).status, 400);
  EXPECT_EQ(client().call("GET", table_path("orders") + "/manifest?limit=0", token_).status, 400);
  EXPECT_EQ(client().call("GET", table_path("orders") + "/manifest?limit=100001", token_).status,
            400);
}

TEST_F(ApiErrors, ABodyOverMaxBodyBytesAnswers413) {
  declare_orders();
  std::string big(test_max_body_bytes + 1000, ' ');
  auto reply = client().call("POST", table_path("orders"), token_, big);
  EXPECT_EQ(reply.status, 413);
  EXPECT_EQ(reply.error_code(), "payload_too_large");
  // The server closes that connection; the next request gets a new one.
  auto opened = client().connections_opened();
  EXPECT_EQ(client().send("GET", "/healthz").status, 200);
  EXPECT_EQ(client().connections_opened(), opened + 1);
}

TEST_F(ApiErrors, AGzipBombAnswers413) {
  declare_orders();
  // A few hundred bytes that inflate to 16 times the limit.
  auto bomb = protocol::gzip_compress(std::string(test_max_body_bytes * 16, ' '), 9);
  ASSERT_LT(bomb.size(), test_max_body_bytes);
  auto reply = client().send("POST", table_path("orders"), bomb,
                             {{"Authorization", "Bearer " + token_}, {"Content-Encoding", "gzip"}});
  EXPECT_EQ(reply.status, 413) << reply.body;
  EXPECT_EQ(reply.error_code(), "payload_too_large");
}

TEST_F(ApiErrors, ACorruptGzipBodyAnswers400) {
  declare_orders();
  auto reply = client().send("POST", table_path("orders"), "this is not gzip",
                             {{"Authorization", "Bearer " + token_}, {"Content-Encoding", "gzip"}});
  EXPECT_EQ(reply.status, 400) << reply.body;
}

TEST_F(ApiErrors, AZstdBombAnswers413) {
  declare_orders();
  auto bomb = protocol::zstd_compress(std::string(test_max_body_bytes * 16, ' '), 19);
  ASSERT_LT(bomb.size(), test_max_body_bytes);
  auto reply = client().send("POST", table_path("orders"), bomb,
                             {{"Authorization", "Bearer " + token_}, {"Content-Encoding", "zstd"}});
  EXPECT_EQ(reply.status, 413) << reply.body;
  EXPECT_EQ(reply.error_code(), "payload_too_large");
  EXPECT_NE(reply.error_message().find("(zstd)"), std::string::npos) << reply.body;
}

TEST_F(ApiErrors, ACorruptOrTruncatedZstdBodyAnswers400AndWritesNothing) {
  declare_orders();
  auto body = protocol::zstd_compress(
      R"({"columns":["id","note","price","tidesync_version"],"rows":[[1,"lost",null,3]]})");
  for (auto bad : {std::string("this is not zstd"), body.substr(0, body.size() - 3)}) {
    auto reply = client().send("POST", table_path("orders"), bad,
                               {{"Authorization", "Bearer " + token_}, {"Content-Encoding", "zstd"}});
    EXPECT_EQ(reply.status, 400) << reply.body;
    EXPECT_EQ(reply.error_message().rfind("zstd body is ", 0), 0u) << reply.body;
  }
  auto summary = client().call("GET", table_path("orders"), token_);
  ASSERT_EQ(summary.status, 200) << summary.body;
  EXPECT_EQ(summary.json().at("count").to_number<std::int64_t>(), 0);
}

TEST_F(ApiErrors, AnUnknownContentEncodingAnswers415WithTheCodingsItReads) {
  declare_orders();
  auto reply = client().send("POST", table_path("orders"), "{}",
                             {{"Authorization", "Bearer " + token_}, {"Content-Encoding", "br"}});
  EXPECT_EQ(reply.status, 415);
  EXPECT_EQ(reply.error_code(), "unsupported_media");
  EXPECT_EQ(reply.headers["accept-encoding"], "zstd, gzip");
  EXPECT_NE(reply.error_message().find("use zstd, gzip or identity"), std::string::npos)
      << reply.body;
}

} // namespace

} // namespace tidesync::testing
