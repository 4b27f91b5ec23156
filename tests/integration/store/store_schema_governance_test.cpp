#include "storage/postgres_store.hpp"

#include "protocol/column_refusal.hpp"
#include "tests/integration/store/store_fixture.hpp"

#include <chrono>
#include <future>

namespace tidesync::storage::testing {
namespace {

using namespace std::chrono_literals;
using protocol::error_code;

// The operator's rules for shared tables and the per-tenant limits: what one
// tenant's declaration may change of a table every tenant writes to.
class store_governance : public store_test {
protected:
  void SetUp() override {
    store_test::SetUp();
    store_->create_client("globex");
    globex_db_ = store_->register_database("globex", "store-01").database_id;
    store_->declare_table("acme", db_, "items", items_schema());
  }

  /// A store of the same database with other limits.
  std::unique_ptr<postgres_store> store_with(declaration_limits limits) {
    return std::make_unique<postgres_store>(
        store_options{database_.url(), "tidesync_data", limits});
  }

  static protocol::table_schema with_columns(protocol::table_schema schema, int extra,
                                             const std::string& prefix = "extra_") {
    for (int i = 0; i < extra; ++i)
      schema.columns.push_back({prefix + std::to_string(i), protocol::column_type::text, true});
    return schema;
  }

  std::string shared_columns() {
    return *scalar("SELECT count(*) FROM pg_attribute WHERE attrelid ="
                   " 'tidesync_data.items'::regclass AND attnum > 0 AND NOT attisdropped");
  }

  /// The columns a declaration was refused for; fails the test when it was not.
  template <class Action>
  static std::vector<protocol::refused_column> refused_by(Action&& action) {
    try {
      action();
    } catch (const protocol::columns_refused_error& e) {
      EXPECT_EQ(protocol::http_status(e.code()), 409);
      return e.columns();
    }
    ADD_FAILURE() << "expected columns_refused";
    return {};
  }

  std::string globex_db_;
};

TEST_F(store_governance, FourHundredExtraColumnsAreRefusedAndTheSharedTableKeepsItsShape) {
  auto message = error_of(error_code::limit_exceeded, [&] {
    store_->declare_table("globex", globex_db_, "items", with_columns(items_schema(), 400));
  });
  EXPECT_NE(message.find("404 columns"), std::string::npos) << message;
  EXPECT_NE(message.find("tenants.columns_per_table"), std::string::npos) << message;
  EXPECT_EQ(shared_columns(), "6");
  EXPECT_EQ(protocol::http_status(error_code::limit_exceeded), 422);
}

TEST_F(store_governance, ADatabaseOverItsTableLimitIsRefusedButKeepsItsTables) {
  auto limited = store_with({.tables_per_database = 2});
  limited->declare_table("globex", globex_db_, "items", items_schema());
  limited->declare_table("globex", globex_db_, "orders", items_schema());
  auto message = error_of(error_code::limit_exceeded, [&] {
    limited->declare_table("globex", globex_db_, "returns", items_schema());
  });
  EXPECT_NE(message.find("tenants.tables_per_database"), std::string::npos) << message;
  EXPECT_EQ(scalar("SELECT count(*) FROM pg_tables WHERE tablename = 'returns'"), "0");
  // Declaring a table it has again is not a new table.
  EXPECT_NO_THROW(limited->declare_table("globex", globex_db_, "orders", items_schema()));
  // Another database has its own allowance.
  EXPECT_NO_THROW(limited->declare_table("acme", db_, "returns", items_schema()));
}

TEST_F(store_governance, ALockedSchemaRefusesNewColumnsAndTakesTheRest) {
  ASSERT_TRUE(store_->set_schema_locked("items", true));
  auto declared = with_columns(items_schema(), 1, "secret_");
  auto refused = refused_by([&] { store_->declare_table("globex", globex_db_, "items", declared); });
  ASSERT_EQ(refused.size(), 1u);
  EXPECT_EQ(refused[0].name, "secret_0");
  EXPECT_NE(refused[0].reason.find("locked"), std::string::npos) << refused[0].reason;
  EXPECT_EQ(shared_columns(), "6");
  EXPECT_EQ(store_->declare_table("globex", globex_db_, "items",
                                  protocol::without_columns(declared, refused)),
            items_schema());
  upload("items", R"({"columns":["id","note","v"],"rows":[[1,"globex",1]]})", "globex",
         globex_db_);
  EXPECT_EQ(store_->table_version("globex", globex_db_, "items").count, 1);

  ASSERT_TRUE(store_->set_schema_locked("items", false));
  store_->declare_table("globex", globex_db_, "items", declared);
  EXPECT_EQ(shared_columns(), "7");
}

TEST_F(store_governance, ASecondTenantsTableOfTheSameNameWithAnotherKeyIsAConflict) {
  upload("items", R"({"columns":["id","v"],"rows":[[1,1]]})");
  auto keyed_by_code = schema(R"({"columns":[{"name":"code","type":"text","nullable":false},
                                             {"name":"v","type":"bigint","nullable":false}],
                                  "key":["code"],"version_column":"v","modified_column":null})");
  auto message = error_of(error_code::conflict, [&] {
    store_->declare_table("globex", globex_db_, "items", keyed_by_code);
  });
  EXPECT_EQ(message, "key (code) differs from the stored key (id)");
  EXPECT_EQ(shared_columns(), "6");
  EXPECT_EQ(store_->table_version("acme", db_, "items").count, 1);
  EXPECT_EQ(scalar("SELECT count(*) FROM tidesync.tenant_tables WHERE client_id = 'globex'"), "0");
}

TEST_F(store_governance, ListingShowsEachSharedTableAndItsLock) {
  store_->declare_table("globex", globex_db_, "items", items_schema());
  store_->declare_table("globex", globex_db_, "orders", items_schema());
  ASSERT_TRUE(store_->set_schema_locked("orders", true));
  EXPECT_FALSE(store_->set_schema_locked("no_such_table", true));
  auto tables = store_->list_remote_tables();
  ASSERT_EQ(tables.size(), 2u);
  EXPECT_EQ(tables[0].table, "items");
  EXPECT_EQ(tables[0].columns, 4u);
  EXPECT_EQ(tables[0].tenants, 2u);
  EXPECT_FALSE(tables[0].schema_locked);
  EXPECT_EQ(tables[1].table, "orders");
  EXPECT_EQ(tables[1].tenants, 1u);
  EXPECT_TRUE(tables[1].schema_locked);
}

TEST_F(store_governance, NewColumnsBeyondTheSharedTableLimitAreRefused) {
  auto limited = store_with({.columns_per_table = 6, .columns_per_shared_table = 6});
  auto declared = with_columns(items_schema(), 2, "a_");
  limited->declare_table("acme", db_, "items", declared);
  auto more = with_columns(items_schema(), 2, "b_");
  auto refused = refused_by([&] { limited->declare_table("globex", globex_db_, "items", more); });
  ASSERT_EQ(refused.size(), 2u);
  EXPECT_NE(refused[0].reason.find("limit of 6 columns"), std::string::npos) << refused[0].reason;
  EXPECT_EQ(shared_columns(), "8");  // 6 and the two tenant columns
  EXPECT_NO_THROW(limited->declare_table("globex", globex_db_, "items",
                                         protocol::without_columns(more, refused)));
}

// ALTER TABLE … ADD COLUMN needs the shared table's exclusive lock; while it
// waits for a long transaction, every other upload to the table would queue
// behind it. The declaration must wait only moments at a time, and give up.
TEST_F(store_governance, AddingAColumnNeverQueuesOtherTenantsUploadsBehindALongTransaction) {
  pqxx::connection reader{database_.url()};
  pqxx::work long_transaction{reader};
  long_transaction.exec("SELECT count(*) FROM tidesync_data.items");  // holds ACCESS SHARE

  auto declaring = std::async(std::launch::async, [&] {
    auto other = store_with({});
    try {
      other->declare_table("globex", globex_db_, "items", with_columns(items_schema(), 1));
      return std::string{"declared"};
    } catch (const protocol::api_error& e) {
      return std::string{protocol::code_name(e.code())} + ": " + e.what();
    }
  });
  // Wait until the declaration has asked for the lock at least once.
  auto deadline = std::chrono::steady_clock::now() + 30s;
  while (scalar("SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'ALTER TABLE%'") == "0" &&
         declaring.wait_for(0s) != std::future_status::ready)
    ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "the declaration never tried the DDL";

  for (int i = 1; i <= 5; ++i) {
    auto started = std::chrono::steady_clock::now();
    upload("items", R"({"columns":["id","v"],"rows":[[)" + std::to_string(i) + "," +
                        std::to_string(i) + "]]}");
    EXPECT_LT(std::chrono::steady_clock::now() - started, 2s) << "upload " << i << " queued";
  }
  ASSERT_EQ(declaring.wait_for(60s), std::future_status::ready);
  auto outcome = declaring.get();
  EXPECT_EQ(outcome.rfind("unavailable: ", 0), 0u) << outcome;
  EXPECT_NE(outcome.find("busy"), std::string::npos) << outcome;
  EXPECT_EQ(shared_columns(), "6");

  long_transaction.commit();
  store_->declare_table("globex", globex_db_, "items", with_columns(items_schema(), 1));
  EXPECT_EQ(shared_columns(), "7");
  EXPECT_EQ(store_->table_version("acme", db_, "items").count, 5);
}

TEST_F(store_governance, AnInvalidModifiedIndexLeftByAFailedBuildIsRebuilt) {
  auto with_modified = with_columns(items_schema(), 0);
  with_modified.columns.push_back({"changed", protocol::column_type::date, true});
  with_modified.modified_column = "changed";
  store_->declare_table("acme", db_, "items", with_modified);
  auto index = *scalar("SELECT indexname FROM pg_indexes WHERE tablename = 'items'"
                       " AND indexdef LIKE '%(client_id, database_id, changed)'");
  // What an interrupted CREATE INDEX CONCURRENTLY leaves behind.
  query("UPDATE pg_index SET indisvalid = false WHERE indexrelid = 'tidesync_data.\"" + index +
        "\"'::regclass");
  store_->declare_table("globex", globex_db_, "items", with_modified);
  EXPECT_EQ(scalar("SELECT bool_and(i.indisvalid)::text || count(*) FROM pg_index i"
                   " JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname = '" + index + "'"),
            "true1");
}

} // namespace
} // namespace tidesync::storage::testing
