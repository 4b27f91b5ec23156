#include "storage/postgres_store.hpp"

#include "tests/integration/store/store_fixture.hpp"

namespace tidesync::storage::testing {
namespace {

using protocol::error_code;

class store_delete : public store_test {
protected:
  void SetUp() override {
    store_test::SetUp();
    store_->declare_table("acme", db_, "items", items_schema());
    upload("items", R"({"columns":["id","v"],"rows":[[1,10],[2,20],[3,30],[4,40],[5,50]]})");
  }

  delete_result remove(const std::string& body) {
    return store_->delete_rows("acme", db_, "items", json(body));
  }
};

TEST_F(store_delete, DeleteByKeysRemovesThoseRowsAndUpdatesTheSummary) {
  auto result = remove(R"({"keys":[[5],[2],[99],[2]]})");
  EXPECT_EQ(result.deleted, 2);
  EXPECT_EQ(result.version.count, 3);
  EXPECT_EQ(result.version.max_version, 40);
  EXPECT_EQ(scalar("SELECT string_agg(id::text, ',' ORDER BY id) FROM tidesync_data.items"),
            "1,3,4");
  EXPECT_EQ(store_->table_version("acme", db_, "items"), result.version);
}

TEST_F(store_delete, ASingleColumnKeyMayBeGivenAsBareValues) {
  EXPECT_EQ(remove(R"({"keys":[1, 3]})").deleted, 2);
  EXPECT_EQ(remove(R"({"keys":[]})").deleted, 0);
}

TEST_F(store_delete, DeleteByCompositeKeys) {
  auto composite = schema(R"({"columns":[{"name":"shop","type":"integer","nullable":false},
      {"name":"sku","type":"text","nullable":false},{"name":"v","type":"bigint","nullable":false}],
      "key":["shop","sku"],"version_column":"v","modified_column":null})");
  store_->declare_table("acme", db_, "stock", composite);
  upload("stock", R"({"columns":["shop","sku","v"],"rows":[[1,"a",1],[1,"b",2],[2,"a",3]]})");
  auto result = store_->delete_rows("acme", db_, "stock", json(R"({"keys":[[1,"b"],[2,"b"]]})"));
  EXPECT_EQ(result.deleted, 1);
  EXPECT_EQ(result.version.count, 2);
  EXPECT_EQ(result.version.max_version, 3);
  error_of(error_code::bad_request,
           [&] { store_->delete_rows("acme", db_, "stock", json(R"({"keys":[1]})")); });
}

TEST_F(store_delete, DeleteAboveVersionKeepsRowsAtOrBelowIt) {
  auto result = remove(R"({"above_version":30})");
  EXPECT_EQ(result.deleted, 2);
  EXPECT_EQ(result.version.count, 3);
  EXPECT_EQ(result.version.max_version, 30);
}

TEST_F(store_delete, DeleteAllEmptiesThisDatabasesCopy) {
  auto result = remove(R"({"all":true})");
  EXPECT_EQ(result.deleted, 5);
  EXPECT_EQ(result.version.count, 0);
  EXPECT_EQ(result.version.max_version, std::nullopt);
}

TEST_F(store_delete, MalformedDeleteBodiesAreRejectedAndDeleteNothing) {
  for (const auto* body : {R"({})", R"({"all":false})", R"({"all":1})", R"({"keys":5})",
                           R"({"above_version":"3"})", R"({"keys":[1],"all":true})",
                           R"({"keys":["x"]})", R"({"keys":[[1,2]]})", R"({"keys":[null]})",
                           R"({"everything":true})", R"([])"})
    error_of(error_code::bad_request, [&] { remove(body); });
  EXPECT_EQ(store_->table_version("acme", db_, "items").count, 5);
}

TEST_F(store_delete, ABadKeyNamesItsPosition) {
  auto message = error_of(error_code::bad_request, [&] { remove(R"({"keys":[1, 2, "three"]})"); });
  EXPECT_NE(message.find("keys[2]"), std::string::npos) << message;
}

} // namespace
} // namespace tidesync::storage::testing
