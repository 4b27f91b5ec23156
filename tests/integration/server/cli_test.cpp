// The built `tidesync` binary: `server` and `admin` as an operator runs them.
#include "protocol/table_schema.hpp"
#include "storage/postgres_store.hpp"
#include "tests/integration/server/server_fixture.hpp"
#include "tests/integration/server/test_http_client.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/test_database.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <sys/wait.h>
#include <unistd.h>

namespace tidesync::testing {

namespace {

namespace fs = std::filesystem;

class TidesyncCli : public ::testing::Test {
protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("tidesync-cli-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
    config_ = dir_ / "server.yaml";
    std::ofstream{config_} << "listen: 127.0.0.1:0\n"
                           << "database: " << db_.url() << "\n"
                           << "pool_size: 2\n"
                           << "log_level: info\n";
  }

  void TearDown() override { fs::remove_all(dir_); }

  run_result run(const std::vector<std::string>& args) {
    return run_to_completion(TIDESYNC_BINARY, args, dir_);
  }

  run_result admin(std::vector<std::string> args) {
    args.insert(args.begin(), {"admin", "--config", config_.string()});
    return run(args);
  }

  /// The port `server` listens on once its log says so; 0 if it never does.
  static std::uint16_t listening_port(const child_process& server) {
    std::uint16_t port = 0;
    const std::regex listening{R"(listening on 127\.0\.0\.1:(\d+))"};
    eventually([&] {
      std::smatch match;
      auto log = server.out() + server.err();
      if (!std::regex_search(log, match, listening))
        return false;
      port = static_cast<std::uint16_t>(std::stoi(match[1]));
      return true;
    });
    return port;
  }

  test_database db_;
  fs::path dir_;
  fs::path config_;
};

TEST_F(TidesyncCli, AnUnknownSubcommandExitsWith2AndSaysSo) {
  auto result = run({"frobnicate"});
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_NE(result.err.find("unknown command 'frobnicate'"), std::string::npos) << result.err;
}

TEST_F(TidesyncCli, AdminCreateClientPrintsOnlyAWorkingToken) {
  auto result = run({"admin", "--config", config_.string(), "create-client", "cli-co"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  ASSERT_FALSE(result.out.empty());
  EXPECT_EQ(result.out.find('\n'), result.out.size() - 1) << result.out;
  auto token = result.out.substr(0, result.out.size() - 1);
  EXPECT_EQ(token.find(' '), std::string::npos);
  storage::postgres_store store{{db_.url()}};
  auto identity = store.authenticate(token);
  ASSERT_TRUE(identity.has_value());
  EXPECT_EQ(identity->client_id, "cli-co");
}

TEST_F(TidesyncCli, AdminCreateTokenWithJsonPrintsClientTokenIdAndToken) {
  ASSERT_EQ(run({"admin", "--config", config_.string(), "create-client", "cli-co"}).exit_code, 0);
  auto result = run({"admin", "--config", config_.string(), "create-token", "cli-co", "--json"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_NE(result.out.find("\"client_id\":\"cli-co\""), std::string::npos) << result.out;
  EXPECT_NE(result.out.find("\"token_id\""), std::string::npos);
  EXPECT_NE(result.out.find("\"token\""), std::string::npos);
  auto listed = run({"admin", "--config", config_.string(), "list-clients"});
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  EXPECT_NE(listed.out.find("cli-co"), std::string::npos) << listed.out;
}

TEST_F(TidesyncCli, AdminFailuresAndUsageErrorsExitWithDistinctCodes) {
  auto unknown_client = run({"admin", "--config", config_.string(), "create-token", "nobody"});
  EXPECT_EQ(unknown_client.exit_code, 1);
  EXPECT_FALSE(unknown_client.err.empty());
  EXPECT_EQ(run({"admin", "--config", config_.string(), "explode"}).exit_code, 2);
  EXPECT_EQ(run({"admin", "create-client", "x"}).exit_code, 2);
  EXPECT_EQ(run({"admin", "--config", config_.string(), "revoke-token", "no-such-id"}).exit_code,
            1);
}

TEST_F(TidesyncCli, AdminCreateTokenPrintsOnlyTheTokenOnStdoutAndItsIdOnStderr) {
  ASSERT_EQ(admin({"create-client", "cli-co"}).exit_code, 0);
  auto created = admin({"create-token", "cli-co"});
  ASSERT_EQ(created.exit_code, 0) << created.err;
  const std::regex token_only{R"(ts_[0-9a-f]{64}\n)"};
  EXPECT_TRUE(std::regex_match(created.out, token_only)) << created.out;
  auto token = created.out.substr(0, created.out.size() - 1);
  storage::postgres_store store{{db_.url()}};
  auto token_id = store.authenticate(token)->token_id;
  EXPECT_NE(created.err.find("token id: " + token_id), std::string::npos) << created.err;
  EXPECT_NE(created.err.find("revoke-token " + token_id), std::string::npos) << created.err;
  EXPECT_EQ(created.err.find(token), std::string::npos);
}

TEST_F(TidesyncCli, ATokenCreatedWithoutJsonIsListedAndCanBeRevoked) {
  auto first = admin({"create-client", "cli-co"});
  ASSERT_EQ(first.exit_code, 0) << first.err;
  auto created = admin({"create-token", "cli-co"});
  ASSERT_EQ(created.exit_code, 0) << created.err;
  auto token = created.out.substr(0, created.out.size() - 1);
  std::smatch match;
  ASSERT_TRUE(std::regex_search(created.err, match, std::regex{R"(token id: ([0-9a-f-]{36}))"}))
      << created.err;
  std::string token_id = match[1];

  auto listed = admin({"list-tokens", "cli-co"});
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  EXPECT_NE(listed.out.find(token_id), std::string::npos) << listed.out;
  EXPECT_NE(listed.out.find("all databases"), std::string::npos) << listed.out;
  EXPECT_EQ(listed.out.find(token.substr(3)), std::string::npos) << listed.out;

  child_process server{TIDESYNC_BINARY, {"server", "--config", config_.string()}, dir_};
  auto port = listening_port(server);
  ASSERT_NE(port, 0) << server.out() << server.err();
  test_http_client client{port};
  const std::string body = R"({"name":"store-01"})";
  EXPECT_EQ(client.call("POST", "/v1/customers/cli-co/databases", token, body).status, 200);
  auto revoked = admin({"revoke-token", token_id});
  ASSERT_EQ(revoked.exit_code, 0) << revoked.err;
  EXPECT_EQ(client.call("POST", "/v1/customers/cli-co/databases", token, body).status, 401);

  auto json = admin({"list-tokens", "cli-co", "--json"});
  ASSERT_EQ(json.exit_code, 0) << json.err;
  auto tokens = boost::json::parse(json.out).as_array();
  ASSERT_EQ(tokens.size(), 2u);
  EXPECT_EQ(tokens[1].at("token_id").as_string(), token_id);
  EXPECT_TRUE(tokens[1].at("revoked_at").is_string());
  EXPECT_TRUE(tokens[0].at("revoked_at").is_null());
  EXPECT_TRUE(tokens[0].at("database").is_null());
  server.signal(SIGTERM);
  EXPECT_EQ(server.wait(), 0) << server.err();
}

TEST_F(TidesyncCli, AdminCreateTokenForANewDatabaseNameRegistersItAndNarrowsTheToken) {
  ASSERT_EQ(admin({"create-client", "cli-co"}).exit_code, 0);
  auto created = admin({"create-token", "cli-co", "--database", "store-09"});
  ASSERT_EQ(created.exit_code, 0) << created.err;
  EXPECT_NE(created.err.find("for database store-09 ("), std::string::npos) << created.err;
  auto listed = admin({"list-tokens", "cli-co"});
  EXPECT_NE(listed.out.find("store-09 ("), std::string::npos) << listed.out;
  auto unknown_id =
      admin({"create-token", "cli-co", "--database", "00000000-0000-0000-0000-000000000000"});
  EXPECT_EQ(unknown_id.exit_code, 1);
  EXPECT_EQ(admin({"list-tokens", "nobody"}).exit_code, 1);
  EXPECT_EQ(admin({"list-tokens"}).exit_code, 2);
}

TEST_F(TidesyncCli, AdminLocksAndUnlocksASharedTablesSchema) {
  {
    storage::postgres_store store{storage::store_options{db_.url()}};
    store.migrate();
    store.create_client("cli-co");
    auto id = store.register_database("cli-co", "store-01").database_id;
    store.declare_table("cli-co", id, "items",
                        protocol::table_schema{{{"id", protocol::column_type::bigint, false},
                                                {"v", protocol::column_type::bigint, false}},
                                               {"id"},
                                               "v",
                                               std::nullopt});
  }
  auto locked = admin({"lock-schema", "items"});
  EXPECT_EQ(locked.exit_code, 0) << locked.err;
  EXPECT_NE(locked.err.find("table items: schema locked"), std::string::npos) << locked.err;
  auto listed = admin({"list-tables"});
  EXPECT_EQ(listed.exit_code, 0) << listed.err;
  EXPECT_TRUE(std::regex_search(listed.out, std::regex{R"(\nitems +2 +1 +locked\n)"}))
      << listed.out;
  ASSERT_EQ(admin({"unlock-schema", "items", "--json"}).out,
            "{\"table\":\"items\",\"schema_locked\":false}\n");
  EXPECT_EQ(admin({"list-tables", "--json"}).out,
            "[{\"table\":\"items\",\"columns\":2,\"tenants\":1,\"schema_locked\":false}]\n");
  auto unknown = admin({"lock-schema", "orders"});
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_NE(unknown.err.find("no shared table 'orders'"), std::string::npos) << unknown.err;
  EXPECT_EQ(admin({"lock-schema"}).exit_code, 2);
  auto hostile = admin({"lock-schema", "items\"; DROP TABLE x"});
  EXPECT_EQ(hostile.exit_code, 1);
  EXPECT_NE(hostile.err.find("invalid"), std::string::npos) << hostile.err;
}

// A client leaves: remove-client revokes its token (a running server refuses
// it), deletes its rows in batches, says what it removed, and a second run
// removes nothing; remove-table and remove-database name what they removed.
TEST_F(TidesyncCli, AdminRemovesAClientsDataAndTokensAndSaysWhat) {
  auto created = admin({"create-client", "cli-co"});
  ASSERT_EQ(created.exit_code, 0) << created.err;
  auto token = created.out.substr(0, created.out.size() - 1);
  {
    storage::postgres_store store{{db_.url()}};
    for (const auto* name : {"store-01", "store-02"}) {
      auto db = store.register_database("cli-co", name).database_id;
      store.declare_table("cli-co", db, "items",
                          protocol::table_schema_from_json(boost::json::parse(
                              R"({"columns":[{"name":"id","type":"bigint","nullable":false},
                                           {"name":"v","type":"bigint","nullable":false}],
                                "key":["id"],"version_column":"v","modified_column":null})")));
      std::string rows;
      for (int i = 1; i <= 120; ++i)
        rows += (i > 1 ? ",[" : "[") + std::to_string(i) + ",1]";
      store.upload("cli-co", db, "items",
                   boost::json::parse(R"({"columns":["id","v"],"rows":[)" + rows + "]}"));
    }
  }
  auto table = admin({"remove-table", "cli-co", "store-02", "items", "--batch", "50"});
  ASSERT_EQ(table.exit_code, 0) << table.err;
  EXPECT_NE(table.out.find("removed table items of database store-02 of client cli-co: 120 rows "
                           "in 1 table\n"),
            std::string::npos)
      << table.out;

  child_process server{TIDESYNC_BINARY, {"server", "--config", config_.string()}, dir_};
  auto port = listening_port(server);
  ASSERT_NE(port, 0) << server.out() << server.err();
  test_http_client client{port};
  const std::string body = R"({"name":"store-01"})";
  EXPECT_EQ(client.call("POST", "/v1/customers/cli-co/databases", token, body).status, 200);

  auto removed = admin({"remove-client", "cli-co", "--batch", "50"});
  ASSERT_EQ(removed.exit_code, 0) << removed.err;
  EXPECT_NE(removed.out.find("removed client cli-co: 120 rows in 1 table, 2 databases, 1 active "
                             "token revoked (1 deleted)\n"),
            std::string::npos)
      << removed.out;
  EXPECT_NE(removed.err.find("client cli-co: revoked 1 token; waiting"), std::string::npos)
      << removed.err;
  EXPECT_EQ(client.call("POST", "/v1/customers/cli-co/databases", token, body).status, 401);
  storage::postgres_store store{{db_.url()}};
  EXPECT_TRUE(store.list_clients().empty());

  auto again = admin({"remove-client", "cli-co", "--json"});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  auto json = boost::json::parse(again.out).as_object();
  EXPECT_EQ(json.at("rows").as_int64(), 0);
  EXPECT_EQ(json.at("tokens_revoked").as_int64(), 0);
  EXPECT_FALSE(json.at("client_removed").as_bool());
  auto text = admin({"remove-database", "cli-co", "store-01"});
  EXPECT_EQ(text.out, "database store-01 of client cli-co: nothing to remove (already removed, "
                      "or never there)\n");
  EXPECT_EQ(admin({"remove-table", "cli-co", "store-01"}).exit_code, 2);
  EXPECT_EQ(admin({"remove-client", "cli-co", "--batch", "0"}).exit_code, 2);
  server.signal(SIGTERM);
  EXPECT_EQ(server.wait(), 0) << server.err();
}

TEST_F(TidesyncCli, VersionHelpPrintsUsageAndExits0) {
  auto help = run({"version", "--help"});
  EXPECT_EQ(help.exit_code, 0) << help.err;
  EXPECT_NE(help.out.find("usage: tidesync version"), std::string::npos) << help.out;
  EXPECT_EQ(help.out.find('\n'), help.out.size() - 1) << help.out;
  EXPECT_EQ(run({"version", "--bogus"}).exit_code, 2);
  EXPECT_EQ(run({"version", "--help", "extra"}).exit_code, 2);
  EXPECT_EQ(run({"version"}).exit_code, 0);
}

TEST_F(TidesyncCli, ServerRejectsUnknownOptionsAndBadConfigs) {
  EXPECT_EQ(run({"server", "--bogus"}).exit_code, 2);
  auto missing = run({"server", "--config", (dir_ / "missing.yaml").string()});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_FALSE(missing.err.empty());
}

TEST_F(TidesyncCli, ServerStartsFromYamlAnswersHealthzAndExits0OnSigterm) {
  child_process server{TIDESYNC_BINARY, {"server", "--config", config_.string()}, dir_};
  auto port = listening_port(server);
  ASSERT_NE(port, 0) << server.out() << server.err();
  test_http_client client{port};
  auto reply = client.send("GET", "/healthz");
  EXPECT_EQ(reply.status, 200);
  server.signal(SIGTERM);
  EXPECT_EQ(server.wait(), 0) << server.out() << server.err();
}

TEST_F(TidesyncCli, ServerLogsOneJsonObjectPerLineWithControlCharactersEscaped) {
  std::ofstream{config_, std::ios::app} << "log_format: json\n";
  child_process server{TIDESYNC_BINARY, {"server", "--config", config_.string()}, dir_};
  auto port = listening_port(server);
  ASSERT_NE(port, 0) << server.out() << server.err();
  // A path with an escape sequence and a newline, as a hostile client sends it.
  test_http_client client{port};
  auto refused = client.send("GET", "/v1/customers/x%1b%5B31m%0Aforged/databases/d/tables");
  EXPECT_GE(refused.status, 400);
  server.signal(SIGTERM);
  EXPECT_EQ(server.wait(), 0) << server.err();
  std::istringstream lines{server.out() + server.err()};
  std::string line;
  int objects = 0;
  while (std::getline(lines, line)) {
    boost::system::error_code ec;
    auto value = boost::json::parse(line, ec);
    ASSERT_FALSE(ec) << "not a JSON object: " << line;
    const auto& object = value.as_object();
    EXPECT_TRUE(object.contains("time") && object.contains("level") && object.contains("message"))
      << line;
    EXPECT_EQ(line.find('\x1b'), std::string::npos) << line;
    ++objects;
  }
  EXPECT_GE(objects, 3) << "listening, the request, stopped";
  EXPECT_EQ((server.out() + server.err()).find("\nforged"), std::string::npos);
}

TEST_F(TidesyncCli, AdminTenantsListsEachDatabaseWithItsLastContactAndLag) {
  ASSERT_EQ(admin({"create-client", "acme"}).exit_code, 0);
  for (const auto* database : {"lagging-db", "silent-db", "new-db"})
    ASSERT_EQ(admin({"create-token", "acme", "--database", database}).exit_code, 0);
  {
    // What a fleet recorder saves from agents' reports.
    storage::postgres_store store{{db_.url(), "tidesync_data"}};
    auto id_of = [&](const std::string& name) {
      for (const auto& db : store.list_tenant_databases())
        if (db.database == name)
          return db.database_id;
      return std::string{};
    };
    auto now = std::chrono::system_clock::now();
    storage::site_contact lagging{"acme", id_of("lagging-db"), now, now, "0.1.0",
                                  protocol::site_report{5, 2, 37.5, 120, {}, std::nullopt},
                                  std::nullopt};
    lagging.report->lagging = {{"orders", "ahead", 37.5, 100}, {"items", "error", 20, 20}};
    storage::site_contact silent{"acme", id_of("silent-db"), now - std::chrono::hours(1),
                                 std::nullopt, "0.0.9",
                                 protocol::site_report{3, 0, 0, 0, {}, std::nullopt},
                                 std::nullopt};
    store.save_site_contacts({lagging, silent});
  }

  auto all = admin({"tenants", "--json"});
  ASSERT_EQ(all.exit_code, 0) << all.err;
  auto parsed = boost::json::parse(all.out);
  ASSERT_TRUE(parsed.is_array()) << all.out;
  auto rows = parsed.as_array();
  ASSERT_EQ(rows.size(), 3u) << all.out;
  for (const auto& row : rows)
    ASSERT_TRUE(row.is_object()) << all.out;
  std::map<std::string, boost::json::object> by_name;
  for (const auto& row : rows)
    by_name[std::string(row.at("database").as_string())] = row.as_object();
  const auto& lagging = by_name.at("lagging-db");
  EXPECT_EQ(lagging.at("tables_not_equal").as_int64(), 2);
  EXPECT_EQ(lagging.at("lag_seconds").as_double(), 37.5);
  EXPECT_EQ(lagging.at("agent_version").as_string(), "0.1.0");
  EXPECT_EQ(lagging.at("lagging").as_string(), "orders:ahead:37.5:100,items:error:20.0:20");
  EXPECT_FALSE(lagging.at("last_upload").is_null());
  EXPECT_GE(by_name.at("silent-db").at("silent_seconds").as_double(), 3599);
  EXPECT_TRUE(by_name.at("new-db").at("last_contact").is_null());

  auto names_of = [&](const std::vector<std::string>& options) {
    std::vector<std::string> args{"tenants", "--json"};
    args.insert(args.end(), options.begin(), options.end());
    auto result = admin(args);
    EXPECT_EQ(result.exit_code, 0) << result.err;
    std::set<std::string> names;
    auto listed = boost::json::parse(result.out);
    for (const auto& row : listed.as_array())
      names.insert(std::string(row.at("database").as_string()));
    return names;
  };
  EXPECT_EQ(names_of({"--lagging"}), std::set<std::string>{"lagging-db"});
  EXPECT_EQ(names_of({"--silent", "15m"}), (std::set<std::string>{"new-db", "silent-db"}));
  EXPECT_EQ(names_of({"--silent", "2h"}), std::set<std::string>{"new-db"});

  auto text = admin({"tenants"});
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_NE(text.out.find("CLIENT"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("never"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("60m ago"), std::string::npos) << text.out;

  // A name that would drive a terminal is printed escaped.
  ASSERT_EQ(admin({"create-token", "acme", "--database", "evil\u009b2J\u202eytinifni"}).exit_code, 0);
  auto escaped = admin({"tenants"});
  EXPECT_EQ(escaped.out.find("\u009b"), std::string::npos) << escaped.out;
  EXPECT_EQ(escaped.out.find("\u202e"), std::string::npos) << escaped.out;
  EXPECT_NE(escaped.out.find("evil\\u{009b}2J\\u{202e}ytinifni"), std::string::npos) << escaped.out;

  auto bad = admin({"tenants", "--silent", "soon"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("--silent needs a duration"), std::string::npos) << bad.err;
  EXPECT_EQ(admin({"list-clients", "--lagging"}).exit_code, 2);
}

} // namespace

} // namespace tidesync::testing
