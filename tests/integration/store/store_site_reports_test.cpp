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
          protocol::site_report{tables, not_equal, 0, 0, {}}};
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

} // namespace
} // namespace tidesync::storage::testing
