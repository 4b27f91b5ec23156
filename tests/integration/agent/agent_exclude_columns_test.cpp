// A table's exclude_columns, from the site out: what prepare says about a
// column it can't replicate, and excluded columns never in a byte that
// leaves the site, nor in the cloud, nor in what digests compare.
#include "tests/integration/agent/agent_fixture.hpp"
#include "tests/integration/agent/cutting_proxy.hpp"

#include "storage/source.hpp"
#include "storage/version_tracking.hpp"

#include <pqxx/pqxx>

#include <random>
#include <string>
#include <vector>

namespace tidesync::testing {

namespace {

class ExcludedColumns : public agent_test {
protected:
  /// `customers` with a secret card number and a column of a type tidesync
  /// doesn't replicate (time of day; in SQLite a declared type TIME, which
  /// names no affinity tidesync maps), `count` rows of seeded random cards.
  void create_customers(int count) {
    site_exec("CREATE TABLE customers (id BIGINT PRIMARY KEY, name TEXT, card TEXT, opens TIME)");
    std::mt19937_64 random{20261202};
    std::uniform_int_distribution<std::uint64_t> digits(1'000'000'000'000'000ull,
                                                        9'999'999'999'999'999ull);
    std::string insert = "INSERT INTO customers (id, name, card, opens) VALUES ";
    for (int i = 1; i <= count; ++i) {
      cards_.push_back("4" + std::to_string(digits(random)).substr(1) + "X");
      insert += (i > 1 ? ", (" : "(") + std::to_string(i) + ", 'customer " + std::to_string(i) +
                "', '" + cards_.back() + "', '" + std::to_string(10 + i % 12) + ":30:00')";
    }
    site_exec(insert);
  }

  storage::table_ref customers(std::vector<std::string> excluded) const {
    storage::table_ref ref;
    ref.name = "customers";
    ref.exclude_columns = std::move(excluded);
    return ref;
  }

  std::string store_scalar(const std::string& sql) {
    pqxx::connection conn{store_db_.url()};
    pqxx::nontransaction tx{conn};
    auto field = tx.exec(sql)[0][0];
    return field.is_null() ? "NULL" : field.c_str();
  }

  bool site_has_version_column() {
    try {
      storage::open_source(site_url_)->describe("customers", {}, "tidesync_version", std::nullopt,
                                                {"opens"});
      return true;
    } catch (const storage::storage_error&) {
      return false;
    }
  }

  std::vector<std::string> cards_;
};

} // namespace

// prepare names the table, each column and its type, and the way out, and
// changes nothing; with the columns excluded it prepares the table.
TEST_P(ExcludedColumns, PrepareNamesAnUnreplicableColumnBeforeChangingAnything) {
  create_customers(20);
  try {
    storage::plan_tracking_steps(site_url_, {customers({})});
    FAIL() << "planned a table with a time column";
  } catch (const storage::storage_error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("table customers"), std::string::npos) << message;
    EXPECT_NE(message.find(is_postgres() ? "opens (time without time zone)" : "opens (TIME)"),
              std::string::npos)
        << message;
    EXPECT_NE(message.find("exclude_columns: [opens]"), std::string::npos) << message;
    EXPECT_EQ(message.find("card"), std::string::npos) << "text is replicable: " << message;
  }
  EXPECT_THROW(storage::apply_version_tracking(site_url_, {customers({})}), storage::storage_error);
  EXPECT_FALSE(site_has_version_column()) << "prepare changed the table it refused";

  storage::apply_version_tracking(site_url_, {customers({"opens"})});
  EXPECT_TRUE(site_has_version_column());
}

// An excluded column that does not exist, or is the key, is a clear error
// from the agent, not a silent no-op.
TEST_P(ExcludedColumns, AnExcludedKeyOrMissingColumnIsRefusedByName) {
  create_customers(5);
  storage::apply_version_tracking(site_url_, {customers({"opens"})});
  auto source = storage::open_source(site_url_);
  try {
    source->describe("customers", {}, "tidesync_version", std::nullopt, {"opens", "cvv"});
    FAIL() << "excluded a column the table does not have";
  } catch (const storage::storage_error& e) {
    EXPECT_NE(std::string{e.what()}.find("exclude_columns names cvv"), std::string::npos)
        << e.what();
  }
  try {
    source->describe("customers", {}, "tidesync_version", std::nullopt, {"opens", "id"});
    FAIL() << "excluded the key";
  } catch (const storage::storage_error& e) {
    EXPECT_NE(std::string{e.what()}.find("a key column"), std::string::npos) << e.what();
  }
}

// Every byte the agent sends passes a proxy: no card number, no excluded
// column name, in the load, in a later update, or in the digest pass; the
// cloud table has neither column and the rest of each row.
TEST_P(ExcludedColumns, NeverLeaveTheSiteAndTheOtherColumnsSync) {
  constexpr int rows = 400;
  create_customers(rows);
  storage::apply_version_tracking(site_url_, {customers({"card", "opens"})});
  cutting_proxy proxy{port_};
  auto config = agent_config({"customers"});
  config.server.url = "http://127.0.0.1:" + std::to_string(proxy.port());
  config.compress = false; // what is sent, readable in the capture
  config.databases[0].tables[0].exclude_columns = {"card", "opens"};

  auto report = run_with(config);
  ASSERT_TRUE(report.all_in_sync()) << report.summary_lines();
  EXPECT_EQ(table_of(report, "customers").rows_uploaded, rows);

  // An update of an excluded column alone moves the row's version: the row
  // is sent again, still without it, and the digest pass finds nothing to
  // repair (the digests leave the column out on both sides).
  site_exec("UPDATE customers SET card = 'CHANGED-CARD' WHERE id <= 25");
  report = run_with(config);
  ASSERT_TRUE(report.all_in_sync()) << report.summary_lines();
  EXPECT_EQ(table_of(report, "customers").rows_repaired, 0);

  const auto sent = proxy.sent();
  ASSERT_NE(sent.find("customer 399"), std::string::npos) << "the capture holds the upload";
  for (const auto& card : cards_)
    ASSERT_EQ(sent.find(card), std::string::npos) << "card " << card << " left the site";
  EXPECT_EQ(sent.find("CHANGED-CARD"), std::string::npos);
  EXPECT_EQ(sent.find("\"card\""), std::string::npos) << "the column's name was sent";
  EXPECT_EQ(sent.find("\"opens\""), std::string::npos) << "the column's name was sent";

  EXPECT_EQ(store_scalar("SELECT count(*) FROM information_schema.columns WHERE table_schema = "
                         "'tidesync_data' AND table_name = 'customers' AND column_name IN "
                         "('card', 'opens')"),
            "0");
  EXPECT_EQ(store_scalar("SELECT count(*) FROM tidesync_data.customers WHERE name = "
                         "'customer ' || id::text"),
            std::to_string(rows));
}

// Excluded after it was replicated: the values sent stay until the table's
// data for this site is removed; the agent then loads it again without them.
TEST_P(ExcludedColumns, ValuesSentBeforeTheExclusionGoWithARemoveTable) {
  constexpr int rows = 120;
  create_customers(rows);
  storage::apply_version_tracking(site_url_, {customers({"opens"})});
  auto config = agent_config({"customers"});
  config.databases[0].tables[0].exclude_columns = {"opens"};
  ASSERT_TRUE(run_with(config).all_in_sync());
  const auto held = "SELECT count(*) FROM tidesync_data.customers WHERE card IS NOT NULL";
  ASSERT_EQ(store_scalar(held), std::to_string(rows)) << "the card numbers were sent";

  config.databases[0].tables[0].exclude_columns = {"card", "opens"};
  ASSERT_TRUE(run_with(config).all_in_sync());
  EXPECT_EQ(store_scalar(held), std::to_string(rows)) << "as docs/operations.md says";

  auto report = store_->remove_tenant_data({"acme", "store-01", "customers"}, 50, {});
  EXPECT_EQ(report.rows, rows);
  auto again = run_with(config);
  ASSERT_TRUE(again.all_in_sync()) << again.summary_lines();
  EXPECT_EQ(table_of(again, "customers").rows_uploaded, rows);
  EXPECT_EQ(store_scalar(held), "0");
  EXPECT_EQ(store_scalar("SELECT count(*) FROM tidesync_data.customers"), std::to_string(rows));
}

INSTANTIATE_TEST_SUITE_P(sites, ExcludedColumns,
                         ::testing::Values(site_kind::sqlite, site_kind::postgresql), site_name);

} // namespace tidesync::testing
