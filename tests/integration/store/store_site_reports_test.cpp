// The fleet view in the store: contacts saved in batches, the fleet gauges'
// figures, and what one tenant's reports can and cannot do to them.
#include "tests/integration/store/store_fixture.hpp"

#include <chrono>

namespace tidesync::storage::testing {
namespace {

using site_reports = store_test;
using namespace std::chrono_literals;

site_contact contact(const std::string& client, const std::string& database,
                     std::chrono::system_clock::time_point at, const std::string& version,
                     std::int64_t tables, std::int64_t not_equal) {
  return {client, database, at, std::nullopt, version,
          protocol::site_report{tables, not_equal, 0, 0, {}, std::nullopt}, std::nullopt};
}

const tenant_database& named(const std::vector<tenant_database>& all, const std::string& name) {
  for (const auto& db : all)
    if (db.database == name)
      return db;
  throw std::runtime_error("no database " + name);
}

TEST_F(site_reports, AContactTheStoreRefusesIsLeftOutAndTheOthersAreSaved) {
  auto other = store_->register_database("acme", "store-02").database_id;
  const auto now = std::chrono::system_clock::now();
  // Beyond what a parsed report may carry: the column refuses it.
  auto refused = contact("acme", db_, now, "0.1.0", 3'000'000'000, 0);
  auto fine = contact("acme", other, now, "0.1.0", 4, 1);
  EXPECT_EQ(store_->save_site_contacts({refused, fine}), 1u);
  auto all = store_->list_tenant_databases();
  EXPECT_FALSE(named(all, "store-01").last_contact);
  EXPECT_TRUE(named(all, "store-02").last_contact);
  EXPECT_EQ(named(all, "store-02").tables_not_equal, 1);
  // The next batch is not held back by the one before.
  EXPECT_EQ(store_->save_site_contacts({contact("acme", db_, now, "0.1.0", 2, 0)}), 0u);
  EXPECT_TRUE(named(store_->list_tenant_databases(), "store-01").last_contact);
}

TEST_F(site_reports, ASiteCountsOnceUnderItsLatestVersionAndOnlyItsDeclaredTablesCount) {
  auto other = store_->register_database("acme", "store-02").database_id;
  store_->declare_table("acme", db_, "items", items_schema());
  const auto now = std::chrono::system_clock::now();
  // One site, two databases, two versions, a report claiming a million
  // tables not in sync where one table is declared.
  EXPECT_EQ(store_->save_site_contacts({contact("acme", db_, now - 1min, "0.1.0", 1'000'000,
                                                1'000'000),
                                        contact("acme", other, now, "0.2.0", 3, 2)}),
            0u);
  store_->create_client("quiet");
  auto silent = store_->register_database("quiet", "store-01").database_id;
  EXPECT_EQ(store_->save_site_contacts({contact("quiet", silent, now - 1h, "0.0.9", 1, 1)}), 0u);

  auto fleet = store_->summarize_fleet(5min, 15min);
  EXPECT_EQ(fleet.sites_seen, 1);
  EXPECT_EQ(fleet.sites_silent, 1);
  EXPECT_EQ(fleet.tables_not_in_sync, 1) << "store-01 declared one table; store-02 none";
  EXPECT_EQ(fleet.agents_by_version, (std::map<std::string, std::int64_t>{{"0.2.0", 1}}));
}


// The freshness view, driven report by report: what each says, what a
// reader is told, and what no report may make it claim.
class table_freshness : public store_test {
protected:
  void SetUp() override {
    store_test::SetUp();
    store_->declare_table("acme", db_, "items", items_schema());
    store_->declare_table("acme", db_, "parts", items_schema());
    // Reports are sent in the store's clock, a minute after the declarations.
    start_ = std::chrono::system_clock::now() + 1min;
  }

  /// A report `seconds` after start_ of `tables` tables, `lagging` named.
  void report(int seconds, std::int64_t tables, std::int64_t not_equal,
              std::vector<protocol::table_lag> lagging, std::optional<double> in_sync_age) {
    auto at = start_ + std::chrono::seconds{seconds};
    site_contact c{"acme", db_, at, std::nullopt, "0.2.0",
                   protocol::site_report{tables, not_equal, 0, 0, std::move(lagging),
                                         in_sync_age},
                   std::nullopt};
    ASSERT_EQ(store_->save_site_contacts({c}), 0u);
  }

  /// `state` and seconds after start_ of `in_sync_as_of` ("-" for NULL).
  std::string freshness(const std::string& table) {
    auto rows = query(
      "SELECT state, coalesce(round(extract(epoch FROM in_sync_as_of) - " +
      std::to_string(std::chrono::duration<double>(start_.time_since_epoch()).count()) +
      ")::text, '-') FROM tidesync.table_freshness WHERE client_id = 'acme' AND database_id = '" +
      db_ + "' AND table_name = '" + table + "'");
    if (rows.size() != 1)
      return "rows: " + std::to_string(rows.size());
    return *rows[0][0] + " " + *rows[0][1];
  }

  std::chrono::system_clock::time_point start_;
};

TEST_F(table_freshness, EachTableKeepsTheLastMomentItsAgentSawItEqual) {
  EXPECT_EQ(freshness("items"), "unknown -") << "no report yet";
  report(0, 2, 0, {}, std::nullopt);
  EXPECT_EQ(freshness("items"), "unknown -") << "tables not compared yet: no age sent";
  report(10, 2, 0, {}, 3.0);
  EXPECT_EQ(freshness("items"), "in sync 7");
  EXPECT_EQ(freshness("parts"), "in sync 7");
  report(20, 2, 1, {{"items", "ahead", 5, 40}}, 1.0);
  EXPECT_EQ(freshness("items"), "catching up 7") << "last seen equal before it fell behind";
  EXPECT_EQ(freshness("parts"), "in sync 19");
  report(30, 2, 1, {{"items", "scanning", 15, 0}}, 2.0);
  EXPECT_EQ(freshness("items"), "repairing 7");
  EXPECT_EQ(freshness("parts"), "in sync 28");
  report(40, 2, 1, {{"items", "error", 25, 0}}, 2.0);
  EXPECT_EQ(freshness("items"), "error 7");
  report(50, 2, 0, {}, 4.0);
  EXPECT_EQ(freshness("items"), "in sync 46");
  EXPECT_EQ(*scalar("SELECT count(*) FROM tidesync.site_report_tables"), "0");

  // A report older than the one saved (another server's, late) changes nothing.
  report(45, 2, 1, {{"items", "behind", 1, 0}}, 0.0);
  EXPECT_EQ(freshness("items"), "in sync 46");
  EXPECT_EQ(freshness("parts"), "in sync 46");
}

TEST_F(table_freshness, AReportThatCannotVouchForEveryTableClaimsNothingNew) {
  report(10, 2, 0, {}, 1.0);
  ASSERT_EQ(freshness("parts"), "in sync 9");
  // More tables lagging than the report names: the unnamed ones are unknown.
  report(20, 2, 2, {{"items", "ahead", 5, 40}}, 1.0);
  EXPECT_EQ(freshness("items"), "catching up 9");
  EXPECT_EQ(freshness("parts"), "unknown 9");
  report(30, 2, 0, {}, 1.0);
  EXPECT_EQ(freshness("parts"), "in sync 29");
  // Fewer tables reported than the server holds: one may have left the
  // agent's configuration, and would pass for in sync.
  report(40, 1, 0, {}, 1.0);
  EXPECT_EQ(freshness("items"), "unknown 29");
  EXPECT_EQ(freshness("parts"), "unknown 29");
  report(50, 2, 0, {}, 1.0);
  EXPECT_EQ(freshness("items"), "in sync 49");
  // As many tables as the server holds, but one of them is not the server's:
  // "parts" left the agent's configuration for "orders", not declared yet.
  report(60, 2, 1, {{"orders", "error", 1, 0}}, 1.0);
  EXPECT_EQ(freshness("parts"), "unknown 49") << "no longer reported, so not in sync";
  EXPECT_EQ(freshness("items"), "unknown 49");
  EXPECT_EQ(*scalar("SELECT count(*) FROM tidesync.site_report_tables"), "0")
    << "no row for a table the server does not hold";
}

TEST_F(table_freshness, ATableDeclaredLaterWasNeverInSyncUntilItsAgentSaysSo) {
  report(10, 2, 0, {}, 1.0);
  store_->declare_table("acme", db_, "orders", items_schema());
  // Declared after the last moment the database's tables were seen equal.
  query("UPDATE tidesync.tenant_tables SET declared_at = to_timestamp(" +
        std::to_string(std::chrono::duration<double>(start_.time_since_epoch()).count() + 30) +
        ") WHERE table_name = 'orders'");
  EXPECT_EQ(freshness("orders"), "unknown -");
  report(100, 3, 1, {{"orders", "ahead", 10, 500}}, 1.0);
  EXPECT_EQ(freshness("orders"), "catching up -") << "never seen equal";
  EXPECT_EQ(freshness("items"), "in sync 99");
  report(110, 3, 0, {}, 1.0);
  EXPECT_EQ(freshness("orders"), "in sync 109");
}

} // namespace
} // namespace tidesync::storage::testing
