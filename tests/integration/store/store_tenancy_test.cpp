#include "storage/postgres_store.hpp"

#include "tests/integration/store/store_fixture.hpp"

namespace tidesync::storage::testing {
namespace {

using protocol::error_code;

class store_tenancy : public store_test {
protected:
  void SetUp() override {
    store_test::SetUp();
    store_->create_client("globex");
    globex_db_ = store_->register_database("globex", "store-01").database_id;
    second_db_ = store_->register_database("acme", "store-02").database_id;
    for (auto& [client, db] : {std::pair{std::string("acme"), db_},
                               std::pair{std::string("globex"), globex_db_},
                               std::pair{std::string("acme"), second_db_}})
      store_->declare_table(client, db, "items", items_schema());
  }

  std::string globex_db_;
  std::string second_db_;
};

constexpr const char* acme_rows = R"({"columns":["id","note","v"],
  "rows":[[1,"acme one",5],[2,"acme two",6]]})";
constexpr const char* other_rows = R"({"columns":["id","note","v"],
  "rows":[[1,"other one",100]]})";

TEST_F(store_tenancy, TwoClientsWithTheSameTableNameDoNotSeeEachOthersRows) {
  upload("items", acme_rows);
  auto globex = upload("items", other_rows, "globex", globex_db_);
  EXPECT_EQ(globex.inserted, 1);  // same key, other tenant: a new row, not an update
  EXPECT_EQ(store_->table_version("acme", db_, "items").count, 2);
  EXPECT_EQ(store_->table_version("acme", db_, "items").max_version, 6);
  EXPECT_EQ(store_->table_version("globex", globex_db_, "items").count, 1);
  EXPECT_EQ(store_->manifest("acme", db_, "items", {}).entries.size(), 2u);
  EXPECT_EQ(store_->manifest("globex", globex_db_, "items", {}).entries.size(), 1u);
  EXPECT_EQ(store_->delete_rows("globex", globex_db_, "items", json(R"({"all":true})")).deleted, 1);
  EXPECT_EQ(scalar("SELECT string_agg(note, ',' ORDER BY id) FROM tidesync_data.items"),
            "acme one,acme two");
}

TEST_F(store_tenancy, TwoDatabasesOfOneClientAreIsolated) {
  upload("items", acme_rows);
  upload("items", other_rows, "acme", second_db_);
  EXPECT_EQ(store_->delete_rows("acme", db_, "items", json(R"({"keys":[1]})")).deleted, 1);
  EXPECT_EQ(store_->table_version("acme", second_db_, "items").count, 1);
  EXPECT_EQ(scalar("SELECT note FROM tidesync_data.items WHERE id = 1"), "other one");
  auto above = store_->delete_rows("acme", second_db_, "items", json(R"({"above_version":0})"));
  EXPECT_EQ(above.deleted, 1);
  EXPECT_EQ(store_->table_version("acme", db_, "items").count, 1);
}

TEST_F(store_tenancy, ADatabaseOfAnotherClientIsNotFound) {
  error_of(error_code::not_found, [&] { store_->require_database("acme", globex_db_); });
  error_of(error_code::not_found, [&] { store_->table_version("acme", globex_db_, "items"); });
  error_of(error_code::not_found, [&] { upload("items", acme_rows, "acme", globex_db_); });
  error_of(error_code::not_found,
           [&] { store_->declare_table("acme", globex_db_, "other", items_schema()); });
  error_of(error_code::not_found, [&] { store_->require_database("acme", "not-a-uuid"); });
  store_->require_database("globex", globex_db_);
}

TEST_F(store_tenancy, TableVersionsListsEveryDeclaredTableOfTheDatabaseOnly) {
  store_->declare_table("acme", db_, "orders", items_schema());
  upload("items", acme_rows);
  auto versions = store_->table_versions("acme", db_);
  ASSERT_EQ(versions.size(), 2u);
  EXPECT_EQ(versions.at("items").count, 2);
  EXPECT_EQ(versions.at("items").max_version, 6);
  EXPECT_EQ(versions.at("orders").count, 0);
  EXPECT_EQ(store_->table_versions("globex", globex_db_).size(), 1u);
  EXPECT_EQ(store_->table_versions("globex", globex_db_).at("items").count, 0);
}

TEST_F(store_tenancy, ATableThisDatabaseNeverDeclaredIsNotFoundEvenIfAnotherDid) {
  store_->declare_table("globex", globex_db_, "private_table", items_schema());
  error_of(error_code::not_found, [&] { store_->table_version("acme", db_, "private_table"); });
  error_of(error_code::not_found, [&] { store_->manifest("acme", db_, "private_table", {}); });
  error_of(error_code::not_found, [&] {
    store_->delete_rows("acme", db_, "private_table", json(R"({"all":true})"));
  });
}

} // namespace
} // namespace tidesync::storage::testing
