// `tidesync verify` as an operator runs it: the real binary against a real
// server on loopback and real SQLite and PostgreSQL sites.
#include "tests/integration/agent/agent_cli_support.hpp"
#include "tests/integration/agent/agent_fixture.hpp"
#include "tests/support/child_process.hpp"

#include <boost/json.hpp>
#include <pqxx/pqxx>

namespace tidesync::testing {

namespace {

namespace json = boost::json;

class VerifyCli : public agent_test {
protected:
  void SetUp() override {
    agent_test::SetUp();
    site_exec("CREATE TABLE orders (id INTEGER PRIMARY KEY, note TEXT, price NUMERIC)");
    site_exec("CREATE TABLE items (code TEXT PRIMARY KEY, label TEXT)");
    site_exec("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3000) "
              "INSERT INTO orders SELECT i, 'order ' || i, i * 0.25 FROM n");
    site_exec("INSERT INTO items VALUES ('a', 'first'), ('b', 'second'), ('é', 'third')");
    prepare({"orders", "items"});
    ASSERT_TRUE(run_once({"orders", "items"}).all_in_sync());
  }

  run_result verify(const std::vector<std::string>& extra = {}) {
    auto config = write_agent_yaml(dir_.path(), port_, token_,
                                   database_yaml("store-01", site_url_, "[orders, items]"));
    std::vector<std::string> args{"verify", "--config", config.string()};
    args.insert(args.end(), extra.begin(), extra.end());
    return run_to_completion(TIDESYNC_BINARY, args, dir_.path());
  }

  void store_exec(const std::string& sql) {
    pqxx::connection conn{store_db_.url()};
    pqxx::work tx{conn};
    tx.exec_params(sql, database_id());
    tx.commit();
  }

  json::object table_json(const json::array& tables, const std::string& name) {
    for (const auto& table : tables)
      if (table.at("table").as_string() == name)
        return table.as_object();
    ADD_FAILURE() << "no table " << name << " in " << json::serialize(tables);
    return {};
  }
};

} // namespace

TEST_P(VerifyCli, IdenticalTablesExitZero) {
  auto result = verify();
  EXPECT_EQ(result.exit_code, 0) << result.out << result.err;
  EXPECT_NE(result.out.find("store-01 orders: identical (3000 rows at the site, 3000 in the cloud"),
            std::string::npos)
    << result.out;
  EXPECT_NE(result.out.find("store-01 items: identical"), std::string::npos) << result.out;
}

TEST_P(VerifyCli, NamesMissingExtraAndDifferentRowsAndExitsOne) {
  store_exec("DELETE FROM tidesync_data.orders WHERE database_id = $1::uuid AND id = 1234");
  store_exec("UPDATE tidesync_data.orders SET price = 99.5 WHERE database_id = $1::uuid AND id = 7");
  store_exec("INSERT INTO tidesync_data.orders (client_id, database_id, id, note, tidesync_version)"
             " VALUES ('acme', $1::uuid, 90000, 'stray', 1)");
  auto result = verify();
  EXPECT_EQ(result.exit_code, 1) << result.out << result.err;
  EXPECT_NE(result.out.find("store-01 orders: different"), std::string::npos) << result.out;
  EXPECT_NE(result.out.find("missing   [\"1234\"]"), std::string::npos) << result.out;
  EXPECT_NE(result.out.find("extra     [\"90000\"]"), std::string::npos) << result.out;
  EXPECT_NE(result.out.find("different [\"7\"]"), std::string::npos) << result.out;
  EXPECT_NE(result.out.find("store-01 items: identical"), std::string::npos) << result.out;

  // Verify changes nothing: the same differences are still there.
  auto again = verify({"--json", "--table", "orders"});
  EXPECT_EQ(again.exit_code, 1) << again.err;
  auto tables = json::parse(again.out).as_array();
  ASSERT_EQ(tables.size(), 1u);
  auto orders = table_json(tables, "orders");
  EXPECT_EQ(orders.at("state").as_string(), "different");
  EXPECT_EQ(orders.at("missing_count").as_int64(), 1);
  EXPECT_EQ(orders.at("extra_count").as_int64(), 1);
  EXPECT_EQ(orders.at("different_count").as_int64(), 1);
  EXPECT_EQ(json::serialize(orders.at("missing")), R"([["1234"]])");

  // The full pass repairs what verify found; verify then agrees.
  EXPECT_TRUE(run_once({"orders", "items"}).all_in_sync());
  EXPECT_EQ(verify().exit_code, 0);
}

TEST_P(VerifyCli, ManyDifferencesNameTwentyAndCountTheRest) {
  store_exec("DELETE FROM tidesync_data.orders WHERE database_id = $1::uuid AND id <= 50");
  auto result = verify({"--database", "store-01", "--table", "orders"});
  EXPECT_EQ(result.exit_code, 1) << result.err;
  EXPECT_NE(result.out.find("50 missing in the cloud"), std::string::npos) << result.out;
  EXPECT_NE(result.out.find("missing   ... and 30 more"), std::string::npos) << result.out;
  EXPECT_EQ(result.out.find("items"), std::string::npos) << result.out;
}

TEST_P(VerifyCli, AnUnknownDatabaseOrTableIsAUsageError) {
  auto result = verify({"--database", "store-99"});
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_NE(result.err.find("no database named 'store-99'"), std::string::npos) << result.err;
  result = verify({"--table", "nope"});
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_NE(result.err.find("no table named 'nope'"), std::string::npos) << result.err;
}

TEST_P(VerifyCli, AServerThatIsDownIsAnErrorNotIdentical) {
  server_->stop();
  auto result = verify({"--json"});
  EXPECT_EQ(result.exit_code, 1);
  auto tables = json::parse(result.out).as_array();
  ASSERT_EQ(tables.size(), 2u);
  EXPECT_EQ(table_json(tables, "orders").at("state").as_string(), "error");
  EXPECT_FALSE(table_json(tables, "orders").at("error").is_null());
}

INSTANTIATE_TEST_SUITE_P(sites, VerifyCli,
                         ::testing::Values(site_kind::sqlite, site_kind::postgresql), site_name);

} // namespace tidesync::testing
