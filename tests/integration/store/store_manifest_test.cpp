#include "storage/postgres_store.hpp"

#include "tests/integration/store/store_fixture.hpp"

#include <boost/json/serialize.hpp>

namespace tidesync::storage::testing {
namespace {

using protocol::error_code;

class store_manifest : public store_test {
protected:
  /// Every entry of the range, fetched `limit` at a time; counts the pages.
  std::vector<std::string> walk(const std::string& table, manifest_query query, int& pages) {
    std::vector<std::string> entries;
    pages = 0;
    do {
      auto page = store_->manifest("acme", db_, table, query);
      ++pages;
      for (const auto& entry : page.entries) {
        std::string key;
        for (const auto& cell : entry.key)
          key += (key.empty() ? "" : ",") + boost::json::serialize(cell);
        entries.push_back(std::to_string(entry.version) + ":" + key);
      }
      query.after = page.next;
    } while (query.after);
    return entries;
  }

  void declare(const std::string& table, const std::string& key_columns,
               const std::string& key) {
    store_->declare_table("acme", db_, table,
                          schema(R"({"columns":[)" + key_columns
                                 + R"(,{"name":"v","type":"bigint","nullable":false}],"key":)"
                                 + key + R"(,"version_column":"v","modified_column":null})"));
  }
};

TEST_F(store_manifest, PagesThroughCompositeKeysInVersionThenKeyOrder) {
  declare("stock", R"({"name":"shop","type":"integer","nullable":false},
                      {"name":"sku","type":"text","nullable":false})",
          R"(["shop","sku"])");
  upload("stock", R"({"columns":["shop","sku","v"],"rows":[[2,"b",7],[1,"b",7],[1,"a",7],
      [10,"a",7],[1,"c",8],[3,"z",5],[3,"y",9]]})");
  int pages = 0;
  auto entries = walk("stock", {std::nullopt, std::nullopt, 2, std::nullopt}, pages);
  EXPECT_EQ(entries, (std::vector<std::string>{"5:3,\"z\"", "7:1,\"a\"", "7:1,\"b\"", "7:2,\"b\"",
                                               "7:10,\"a\"", "8:1,\"c\"", "9:3,\"y\""}));
  EXPECT_EQ(pages, 4);
  auto bounded = walk("stock", {7, 8, 3, std::nullopt}, pages);
  EXPECT_EQ(bounded, (std::vector<std::string>{"7:1,\"a\"", "7:1,\"b\"", "7:2,\"b\"",
                                               "7:10,\"a\"", "8:1,\"c\""}));
  EXPECT_EQ(pages, 2);
  auto page = store_->manifest("acme", db_, "stock", {});
  EXPECT_EQ(page.key_columns, (std::vector<std::string>{"shop", "sku"}));
  EXPECT_EQ(page.entries.size(), 7u);
  EXPECT_FALSE(page.next);
}

TEST_F(store_manifest, PagesThroughTextKeys) {
  declare("notes", R"({"name":"code","type":"text","nullable":false})", R"(["code"])");
  upload("notes", R"({"columns":["code","v"],"rows":[["b",1],["a",1],["\u00e9t\u00e9",1],
      ["a b",2],["",2],["z\"q",3]]})");
  int pages = 0;
  auto entries = walk("notes", {std::nullopt, std::nullopt, 1, std::nullopt}, pages);
  ASSERT_EQ(entries.size(), 6u);
  EXPECT_EQ(pages, 6);
  EXPECT_EQ(entries.front().substr(0, 2), "1:");
  EXPECT_EQ(entries.back(), "3:\"z\\\"q\"");
  EXPECT_EQ(walk("notes", {2, 2, 1, std::nullopt}, pages),
            (std::vector<std::string>{"2:\"\"", "2:\"a b\""}));
}

TEST_F(store_manifest, PagesThroughUuidKeys) {
  declare("devices", R"({"name":"id","type":"uuid","nullable":false})", R"(["id"])");
  upload("devices", R"({"columns":["id","v"],"rows":[
      ["ffffffff-0000-0000-0000-000000000000",4],["00000000-0000-0000-0000-00000000000a",4],
      ["7c9e6679-7425-40de-944b-e07fc1f90ae7",4],["00000000-0000-0000-0000-000000000001",3]]})");
  int pages = 0;
  EXPECT_EQ(walk("devices", {3, std::nullopt, 2, std::nullopt}, pages),
            (std::vector<std::string>{"3:\"00000000-0000-0000-0000-000000000001\"",
                                      "4:\"00000000-0000-0000-0000-00000000000a\"",
                                      "4:\"7c9e6679-7425-40de-944b-e07fc1f90ae7\"",
                                      "4:\"ffffffff-0000-0000-0000-000000000000\""}));
  EXPECT_EQ(pages, 2);
}

TEST_F(store_manifest, AnExactlyFullLastPageStillEndsTheWalk) {
  declare("items", R"({"name":"id","type":"bigint","nullable":false})", R"(["id"])");
  upload("items", R"({"columns":["id","v"],"rows":[[1,1],[2,2],[3,3],[4,4]]})");
  int pages = 0;
  EXPECT_EQ(walk("items", {std::nullopt, std::nullopt, 2, std::nullopt}, pages).size(), 4u);
  EXPECT_EQ(pages, 2);
}

TEST_F(store_manifest, LimitOutsideOneToOneHundredThousandIsRejected) {
  declare("items", R"({"name":"id","type":"bigint","nullable":false})", R"(["id"])");
  for (std::int64_t limit : {0, -1, 100001})
    error_of(error_code::bad_request, [&] {
      store_->manifest("acme", db_, "items", {std::nullopt, std::nullopt, limit, std::nullopt});
    });
  store_->manifest("acme", db_, "items", {std::nullopt, std::nullopt, 100000, std::nullopt});
}

TEST_F(store_manifest, AMalformedContinuationIsRejected) {
  declare("items", R"({"name":"id","type":"bigint","nullable":false})", R"(["id"])");
  for (const auto* after : {"", "!!!", "bm90IGpzb24", "WzFd", "WyJ4IiwxXQ", "WzEsIngiXQ",
                            "WzEsMSwxXQ"})
    error_of(error_code::bad_request, [&] {
      store_->manifest("acme", db_, "items", {std::nullopt, std::nullopt, 10, after});
    });
}

} // namespace
} // namespace tidesync::storage::testing
