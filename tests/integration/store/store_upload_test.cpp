#include "storage/postgres_store.hpp"

#include "tests/integration/store/store_fixture.hpp"

#include <thread>

namespace tidesync::storage::testing {
namespace {

using protocol::error_code;

class store_upload : public store_test {
protected:
  void SetUp() override {
    store_test::SetUp();
    store_->declare_table("acme", db_, "items", items_schema());
  }

  std::string count_items() { return *scalar("SELECT count(*) FROM tidesync_data.items"); }
};

constexpr const char* three_rows = R"({"columns":["id","note","price","v"],
  "rows":[[1,"one","1.50",10],[2,null,"2.00",11],[3,"three",null,12]]})";

TEST_F(store_upload, FirstUploadInsertsEveryRowAndReportsTheSummary) {
  auto result = upload("items", three_rows);
  EXPECT_EQ(result.rows, 3);
  EXPECT_EQ(result.inserted, 3);
  EXPECT_EQ(result.updated, 0);
  EXPECT_EQ(result.version.count, 3);
  EXPECT_EQ(result.version.max_version, 12);
  EXPECT_EQ(result.version.max_modified, std::nullopt);
  EXPECT_EQ(store_->table_version("acme", db_, "items"), result.version);
}

TEST_F(store_upload, UploadIsIdempotentWhenTheSameBatchIsSentTwice) {
  auto first = upload("items", three_rows);
  auto xmins = query("SELECT id, xmin::text FROM tidesync_data.items ORDER BY id");
  auto second = upload("items", three_rows);
  EXPECT_EQ(second.inserted, 0);
  EXPECT_EQ(second.updated, 0);
  EXPECT_EQ(second.version, first.version);
  EXPECT_EQ(query("SELECT id, xmin::text FROM tidesync_data.items ORDER BY id"), xmins);
}

TEST_F(store_upload, UploadUpdatesARowByKey) {
  upload("items", three_rows);
  auto result = upload("items", R"({"columns":["id","note","price","v"],
                                    "rows":[[2,"two","2.000",20],[4,"four","4",21]]})");
  EXPECT_EQ(result.inserted, 1);
  EXPECT_EQ(result.updated, 1);
  EXPECT_EQ(result.version.count, 4);
  EXPECT_EQ(result.version.max_version, 21);
  EXPECT_EQ(query("SELECT note, price::text, v::text FROM tidesync_data.items WHERE id = 2"),
            (std::vector<std::vector<std::optional<std::string>>>{{"two", "2.000", "20"}}));
}

TEST_F(store_upload, ABatchWhoseOnlyExistingKeyComesLastCountsEveryRowOnce) {
  upload("items", three_rows);
  auto result = upload("items", R"({"columns":["id","note","v"],
                                    "rows":[[7,"new",30],[8,"new",31],[3,"changed",32]]})");
  EXPECT_EQ(result.inserted, 2);
  EXPECT_EQ(result.updated, 1);
  EXPECT_EQ(result.version.count, 5);
  EXPECT_EQ(count_items(), "5");
  EXPECT_EQ(scalar("SELECT note FROM tidesync_data.items WHERE id = 3"), "changed");
}

TEST_F(store_upload, ConcurrentUploadsToOneTableKeepTheSummaryExact) {
  constexpr int writers = 3, batches = 8, rows_per_batch = 50;
  std::vector<std::thread> threads;
  std::vector<std::string> failures(writers);
  for (int w = 0; w < writers; ++w)
    threads.emplace_back([&, w] {
      try {
        postgres_store store{store_options{database_.url()}};
        for (int b = 0; b < batches; ++b) {
          std::string rows;
          for (int r = 0; r < rows_per_batch; ++r) {
            // Every writer sends every key: inserts and updates race on the same rows.
            auto id = b * rows_per_batch + r;
            rows += (rows.empty() ? "[" : ",[") + std::to_string(id) + ","
                    + std::to_string(w * 1000 + b) + "]";
          }
          store.upload("acme", db_, "items",
                       json(R"({"columns":["id","v"],"rows":[)" + rows + "]}"));
        }
      } catch (const std::exception& e) {
        failures[w] = e.what();
      }
    });
  for (auto& thread : threads)
    thread.join();
  for (const auto& failure : failures)
    EXPECT_EQ(failure, "");
  auto summary = store_->table_version("acme", db_, "items");
  EXPECT_EQ(std::to_string(summary.count), count_items());
  EXPECT_EQ(std::to_string(summary.max_version.value_or(-1)),
            scalar("SELECT max(v) FROM tidesync_data.items"));
}

TEST_F(store_upload, AChangeOfNumericScaleAloneIsAnUpdate) {
  upload("items", three_rows);
  auto result = upload("items", R"({"columns":["id","price","v"],"rows":[[1,"1.5",10]]})");
  EXPECT_EQ(result.updated, 1);
  EXPECT_EQ(scalar("SELECT price::text FROM tidesync_data.items WHERE id = 1"), "1.5");
}

TEST_F(store_upload, ColumnsLeftOutAreNullOnInsertAndKeptOnUpdate) {
  upload("items", three_rows);
  upload("items", R"({"columns":["id","v"],"rows":[[1,30],[9,31]]})");
  EXPECT_EQ(query("SELECT id::text, note, price::text, v::text FROM tidesync_data.items"
                  " WHERE id IN (1, 9) ORDER BY id"),
            (std::vector<std::vector<std::optional<std::string>>>{
                {"1", "one", "1.50", "30"}, {"9", std::nullopt, std::nullopt, "31"}}));
}

TEST_F(store_upload, AnEmptyBatchChangesNothing) {
  auto result = upload("items", R"({"columns":["id","v"],"rows":[]})");
  EXPECT_EQ(result.rows, 0);
  EXPECT_EQ(result.version.count, 0);
  EXPECT_EQ(result.version.max_version, std::nullopt);
}

TEST_F(store_upload, ABadCellInRowNRejectsTheWholeBatchNamingRowAndColumn) {
  auto message = error_of(error_code::bad_request, [&] {
    upload("items", R"({"columns":["id","note","price","v"],
                        "rows":[[1,"a","1",1],[2,"b","2",2],[3,"c","2",3],[4,"d",12.5,4]]})");
  });
  EXPECT_NE(message.find("row 3, column \"price\""), std::string::npos) << message;
  EXPECT_EQ(count_items(), "0");
  EXPECT_EQ(store_->table_version("acme", db_, "items").count, 0);
}

TEST_F(store_upload, ANumericBeyondPostgresqlsRangeRejectsTheBatchNamingTheRow) {
  // Well-formed numeric text beyond PostgreSQL's numeric range: the codec refuses it.
  auto message = error_of(error_code::bad_request, [&] {
    upload("items", R"({"columns":["id","price","v"],
                        "rows":[[1,"1.5",1],[2,"2",2],[3,"1e200000",3]]})");
  });
  EXPECT_NE(message.find("row 2, column \"price\""), std::string::npos) << message;
  EXPECT_NE(message.find("1e200000"), std::string::npos) << message;
  EXPECT_EQ(count_items(), "0");
  // The connection is still usable after the failed COPY.
  EXPECT_EQ(upload("items", R"({"columns":["id","v"],"rows":[[1,1]]})").inserted, 1);
}

TEST_F(store_upload, ARowOfTheWrongWidthIsRejected) {
  auto message = error_of(error_code::bad_request, [&] {
    upload("items", R"({"columns":["id","note","v"],"rows":[[1,"a",1],[2,"b"]]})");
  });
  EXPECT_EQ(message, "row 1: expected 3 values, got 2");
}

TEST_F(store_upload, ADuplicateKeyInOneBatchIsRejectedNamingBothRows) {
  auto message = error_of(error_code::bad_request, [&] {
    upload("items", R"({"columns":["id","v"],"rows":[[1,1],[2,1],[1,2]]})");
  });
  EXPECT_EQ(message, "row 2 has the same key as row 0");
  EXPECT_EQ(count_items(), "0");
}

TEST_F(store_upload, KeysEqualInValueThoughWrittenDifferentlyAreADuplicate) {
  store_->declare_table("acme", db_, "prices",
                        schema(R"({"columns":[{"name":"amount","type":"numeric","nullable":false},
                                              {"name":"v","type":"bigint","nullable":false}],
                                   "key":["amount"],"version_column":"v","modified_column":null})"));
  error_of(error_code::bad_request, [&] {
    upload("prices", R"({"columns":["amount","v"],"rows":[["1.0",1],["2",1],["1.00",1]]})");
  });
  EXPECT_EQ(scalar("SELECT count(*) FROM tidesync_data.prices"), "0");
}

TEST_F(store_upload, NullInANonNullableColumnIsRejected) {
  auto message = error_of(error_code::bad_request, [&] {
    upload("items", R"({"columns":["id","v"],"rows":[[1,null]]})");
  });
  EXPECT_NE(message.find("row 0, column \"v\""), std::string::npos) << message;
}

TEST_F(store_upload, BatchColumnsMustBeKnownDistinctAndIncludeKeyAndVersion) {
  error_of(error_code::bad_request,
           [&] { upload("items", R"({"columns":["id","v","colour"],"rows":[]})"); });
  error_of(error_code::bad_request,
           [&] { upload("items", R"({"columns":["id","v","v"],"rows":[]})"); });
  auto missing_key = error_of(error_code::bad_request,
                              [&] { upload("items", R"({"columns":["note","v"],"rows":[]})"); });
  EXPECT_NE(missing_key.find("\"id\""), std::string::npos) << missing_key;
  auto missing_version = error_of(error_code::bad_request,
                                  [&] { upload("items", R"({"columns":["id"],"rows":[]})"); });
  EXPECT_NE(missing_version.find("\"v\""), std::string::npos) << missing_version;
  error_of(error_code::bad_request, [&] {
    upload("items", R"({"columns":["id","v","x\"; DROP TABLE tidesync_data.items; --"],"rows":[]})");
  });
  error_of(error_code::bad_request, [&] { upload("items", R"({"rows":[]})"); });
  error_of(error_code::bad_request, [&] { upload("items", R"([1,2])"); });
}

TEST_F(store_upload, UploadToAnUndeclaredTableIsNotFound) {
  error_of(error_code::not_found,
           [&] { upload("nowhere", R"({"columns":["id","v"],"rows":[[1,1]]})"); });
}

} // namespace
} // namespace tidesync::storage::testing
