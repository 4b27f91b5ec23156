#include "storage/postgres_store.hpp"

#include "protocol/column_refusal.hpp"
#include "tests/integration/store/store_fixture.hpp"

#include <thread>

namespace tidesync::storage::testing {
namespace {

using protocol::error_code;

class store_schema : public store_test {
protected:
  protocol::table_schema items_with(const std::string& extra_column) {
    return schema(R"({"columns":[{"name":"id","type":"bigint","nullable":false},
                                 {"name":"note","type":"text","nullable":true},
                                 {"name":"price","type":"numeric","nullable":true},
                                 {"name":"v","type":"bigint","nullable":false},)"
                  + extra_column + R"(],"key":["id"],"version_column":"v","modified_column":null})");
  }

  std::string column_type(const std::string& column) {
    return *scalar("SELECT format_type(atttypid, atttypmod) || CASE WHEN attnotnull THEN"
                   " ' not null' ELSE '' END FROM pg_attribute WHERE attrelid ="
                   " 'tidesync_data.items'::regclass AND attname = '" + column + "'");
  }
};

TEST_F(store_schema, DeclaringCreatesTheSharedTableWithTenantColumnsFirst) {
  auto stored = store_->declare_table("acme", db_, "items", items_schema());
  EXPECT_EQ(stored, items_schema());
  EXPECT_EQ(scalar("SELECT string_agg(attname, ',' ORDER BY attnum) FROM pg_attribute"
                   " WHERE attrelid = 'tidesync_data.items'::regclass AND attnum > 0"),
            "client_id,database_id,id,note,price,v");
  EXPECT_EQ(scalar("SELECT pg_get_constraintdef(oid) FROM pg_constraint"
                   " WHERE conrelid = 'tidesync_data.items'::regclass AND contype = 'p'"),
            "PRIMARY KEY (client_id, database_id, id)");
  EXPECT_EQ(scalar("SELECT count(*) FROM pg_indexes WHERE tablename = 'items' AND indexdef LIKE"
                   " '%(client_id, database_id, v, id)'"),
            "1");
  EXPECT_EQ(store_->table_version("acme", db_, "items").count, 0);
}

TEST_F(store_schema, RedeclaringTheSameSchemaIsANoOp) {
  store_->declare_table("acme", db_, "items", items_schema());
  auto before = *scalar("SELECT xmin::text FROM tidesync.remote_tables")
                + *scalar("SELECT xmin::text FROM tidesync.tenant_tables");
  EXPECT_EQ(store_->declare_table("acme", db_, "items", items_schema()), items_schema());
  EXPECT_EQ(*scalar("SELECT xmin::text FROM tidesync.remote_tables")
                + *scalar("SELECT xmin::text FROM tidesync.tenant_tables"),
            before);
}

TEST_F(store_schema, EvolvingAddsANullableColumnAndKeepsTheRows) {
  store_->declare_table("acme", db_, "items", items_schema());
  upload("items", R"({"columns":["id","v"],"rows":[[1,1]]})");
  auto stored = store_->declare_table(
      "acme", db_, "items", items_with(R"({"name":"colour","type":"text","nullable":false})"));
  ASSERT_NE(stored.find("colour"), nullptr);
  EXPECT_TRUE(stored.find("colour")->nullable);
  EXPECT_EQ(column_type("colour"), "text");
  upload("items", R"({"columns":["id","colour","v"],"rows":[[2,"red",2]]})");
  EXPECT_EQ(scalar("SELECT count(*) FROM tidesync_data.items WHERE colour IS NULL"), "1");
}

TEST_F(store_schema, AColumnAnotherTenantDeclaredStaysNullable) {
  store_->declare_table("acme", db_, "items",
                        items_with(R"({"name":"colour","type":"text","nullable":false})"));
  auto other = store_->register_database("acme", "store-02").database_id;
  auto stored = store_->declare_table("acme", other, "items", items_schema());
  ASSERT_NE(stored.find("colour"), nullptr);
  EXPECT_TRUE(stored.find("colour")->nullable);
  EXPECT_EQ(upload("items", R"({"columns":["id","v"],"rows":[[1,1]]})", "acme", other).inserted, 1);
}

TEST_F(store_schema, AnIncompatibleTypeRefusesThatColumnNamingItAndChangesNothing) {
  store_->declare_table("acme", db_, "items", items_schema());
  auto changed = items_with(R"({"name":"colour","type":"text","nullable":true})");
  changed.columns[2].type = protocol::column_type::double_precision;
  try {
    store_->declare_table("acme", db_, "items", changed);
    ADD_FAILURE() << "expected columns_refused";
  } catch (const protocol::columns_refused_error& e) {
    ASSERT_EQ(e.columns().size(), 1u);
    EXPECT_EQ(e.columns()[0].name, "price");
    EXPECT_NE(e.columns()[0].reason.find("numeric"), std::string::npos) << e.columns()[0].reason;
  }
  EXPECT_EQ(column_type("price"), "numeric");
  EXPECT_EQ(scalar("SELECT count(*) FROM pg_attribute WHERE attname = 'colour'"
                   " AND attrelid = 'tidesync_data.items'::regclass"),
            "0");  // the whole declaration was refused, the new column too
}

TEST_F(store_schema, AKeyColumnOfAnotherTypeIsAConflict) {
  store_->declare_table("acme", db_, "items", items_schema());
  auto changed = items_schema();
  changed.columns[0].type = protocol::column_type::text;
  auto message = error_of(error_code::conflict,
                          [&] { store_->declare_table("acme", db_, "items", changed); });
  EXPECT_NE(message.find("\"id\""), std::string::npos) << message;
}

TEST_F(store_schema, ADifferentKeyOrVersionColumnIsAConflict) {
  store_->declare_table("acme", db_, "items", items_schema());
  auto other_key = items_schema();
  other_key.key = {"id", "v"};
  auto message = error_of(error_code::conflict,
                          [&] { store_->declare_table("acme", db_, "items", other_key); });
  EXPECT_NE(message.find("key"), std::string::npos) << message;
  auto other_version = items_with(R"({"name":"v2","type":"bigint","nullable":false})");
  other_version.version_column = "v2";
  message = error_of(error_code::conflict,
                     [&] { store_->declare_table("acme", db_, "items", other_version); });
  EXPECT_NE(message.find("version column"), std::string::npos) << message;
}

TEST_F(store_schema, TwoDatabasesDeclaringANewTableAtOnceBothSucceed) {
  auto other = store_->register_database("acme", "store-02").database_id;
  std::vector<std::string> failures(2);
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < failures.size(); ++i)
    threads.emplace_back([&, i] {
      try {
        postgres_store store{store_options{database_.url()}};
        store.declare_table("acme", i == 0 ? db_ : other, "items",
                            i == 0 ? items_schema()
                                   : items_with(R"({"name":"colour","type":"text","nullable":true})"));
      } catch (const std::exception& e) {
        failures[i] = e.what();
      }
    });
  for (auto& thread : threads)
    thread.join();
  EXPECT_EQ(failures, (std::vector<std::string>{"", ""}));
  EXPECT_EQ(column_type("colour"), "text");
  EXPECT_EQ(store_->table_versions("acme", other).size(), 1u);
}

TEST_F(store_schema, HostileTableAndColumnNamesAreRejected) {
  for (const auto* table : {"items\"; DROP TABLE x; --", "", "1items", "a b", "caf\u00e9",
                            "x123456789012345678901234567890123456789012345678901234567890123"})
    error_of(error_code::bad_request,
             [&] { store_->declare_table("acme", db_, table, items_schema()); });
  for (const auto* column : {"x\"y", "client_id", "database_id", "", "drop table"}) {
    auto hostile = items_schema();
    hostile.columns.push_back({column, protocol::column_type::text, true});
    error_of(error_code::bad_request,
             [&] { store_->declare_table("acme", db_, "items", hostile); });
  }
  error_of(error_code::bad_request,
           [&] { upload("items\"--", R"({"columns":["id","v"],"rows":[]})"); });
  EXPECT_EQ(scalar("SELECT count(*) FROM pg_tables WHERE schemaname = 'tidesync_data'"), "0");
}

TEST_F(store_schema, LongTableNamesGetDistinctIndexNames) {
  std::string long_a(60, 'a'), long_b = std::string(59, 'a') + "b";
  store_->declare_table("acme", db_, long_a, items_schema());
  store_->declare_table("acme", db_, long_b, items_schema());
  EXPECT_EQ(scalar("SELECT count(DISTINCT indexname) FROM pg_indexes"
                   " WHERE schemaname = 'tidesync_data'"),
            "4");
}

TEST_F(store_schema, TheModifiedColumnIsIndexedAndSummarised) {
  auto with_modified = items_with(R"({"name":"changed","type":"date","nullable":true})");
  with_modified.modified_column = "changed";
  store_->declare_table("acme", db_, "items", with_modified);
  EXPECT_EQ(scalar("SELECT count(*) FROM pg_indexes WHERE tablename = 'items'"
                   " AND indexdef LIKE '%(client_id, database_id, changed)'"),
            "1");
  auto result = upload("items", R"({"columns":["id","changed","v"],
                                    "rows":[[1,"2024-02-29",1],[2,"2023-01-01",2]]})");
  EXPECT_EQ(result.version.max_modified, "2024-02-29");
}

} // namespace
} // namespace tidesync::storage::testing
