// A site whose table has a column the shared table's locked schema refuses:
// the other columns keep syncing, `status` and `verify` name the column, and
// once the operator unlocks the schema the column arrives with its values.
#include "tests/integration/agent/agent_cli_support.hpp"
#include "tests/integration/agent/agent_fixture.hpp"
#include "tests/support/child_process.hpp"

#include <boost/json.hpp>
#include <pqxx/pqxx>

namespace tidesync::testing {

namespace {

namespace json = boost::json;

class SchemaLock : public agent_test {
protected:
  void SetUp() override {
    agent_test::SetUp();
    site_exec("CREATE TABLE orders (id INTEGER PRIMARY KEY, note TEXT)");
    site_exec(rows_of("INSERT INTO orders (id, note)", "i, 'order ' || i", 500));
    prepare({"orders"});
    ASSERT_TRUE(run_once({"orders"}).all_in_sync());
  }

  run_result cli(const std::string& command, const std::vector<std::string>& extra = {}) {
    auto config = write_agent_yaml(dir_.path(), port_, token_,
                                   database_yaml("store-01", site_url_, "[orders]"));
    std::vector<std::string> args{command, "--config", config.string()};
    args.insert(args.end(), extra.begin(), extra.end());
    return run_to_completion(TIDESYNC_BINARY, args, dir_.path());
  }

  std::string store_scalar(const std::string& sql) {
    pqxx::connection conn{store_db_.url()};
    pqxx::nontransaction tx{conn};
    auto field = tx.exec(sql)[0][0];
    return field.is_null() ? "NULL" : field.c_str();
  }

  bool cloud_has_card_column() {
    return store_scalar("SELECT count(*) FROM information_schema.columns WHERE table_schema ="
                        " 'tidesync_data' AND table_name = 'orders' AND column_name = 'card'") ==
           "1";
  }
};

} // namespace

TEST_P(SchemaLock, ARefusedColumnStaysAtTheSiteWhileTheOthersSyncAndArrivesOnceUnlocked) {
  ASSERT_TRUE(store_->set_schema_locked("orders", true));
  site_exec("ALTER TABLE orders ADD COLUMN card TEXT");
  site_exec("UPDATE orders SET card = 'card-' || id, note = 'changed ' || id WHERE id <= 100");
  site_exec(rows_of("INSERT INTO orders (id, note, card)", "1000 + i, 'new', 'c' || i", 50));

  auto report = run_once({"orders"});
  EXPECT_TRUE(report.all_in_sync()) << table_of(report, "orders").error;
  EXPECT_FALSE(cloud_has_card_column());
  EXPECT_EQ(store_scalar("SELECT count(*) FROM tidesync_data.orders"), "550");
  EXPECT_EQ(store_scalar("SELECT count(*) FROM tidesync_data.orders WHERE note LIKE 'changed %'"),
            "100");

  auto status = cli("status");
  EXPECT_EQ(status.exit_code, 0) << status.out << status.err;
  EXPECT_NE(status.out.find("store-01 orders: not replicated: card (the table's schema is locked"
                            " by the operator)"),
            std::string::npos)
      << status.out;
  auto status_json = json::parse(cli("status", {"--json"}).out).as_array();
  EXPECT_EQ(json::serialize(status_json.at(0).at("not_replicated")),
            R"([{"name":"card","reason":"the table's schema is locked by the operator"}])");

  // Verify compares the shared columns only: identical, and it says what it left out.
  auto verify = cli("verify");
  EXPECT_EQ(verify.exit_code, 0) << verify.out << verify.err;
  EXPECT_NE(verify.out.find("store-01 orders: identical (550 rows"), std::string::npos)
      << verify.out;
  EXPECT_NE(verify.out.find("not replicated (left out): card"), std::string::npos) << verify.out;

  // Unlocked: the next run declares the column again, and its digest pass
  // finds the rows whose cards the cloud lacks and uploads them.
  ASSERT_TRUE(store_->set_schema_locked("orders", false));
  report = run_once({"orders"});
  EXPECT_TRUE(report.all_in_sync()) << table_of(report, "orders").error;
  ASSERT_TRUE(cloud_has_card_column());
  EXPECT_EQ(store_scalar("SELECT count(*) FROM tidesync_data.orders WHERE card IS NOT NULL"),
            "150");
  expect_remote_matches("orders");
  status = cli("status");
  EXPECT_EQ(status.out.find("not replicated"), std::string::npos) << status.out;
}

INSTANTIATE_TEST_SUITE_P(sites, SchemaLock,
                         ::testing::Values(site_kind::sqlite, site_kind::postgresql), site_name);

} // namespace tidesync::testing
