#include "storage/postgres_store.hpp"

#include "tests/integration/store/store_fixture.hpp"

#include <functional>

namespace tidesync::storage::testing {
namespace {

using protocol::error_code;

// Enough rows that the body is checked and sent in several chunks, so the
// last rows are checked while PostgreSQL already holds the first.
constexpr int large_batch_rows = 20'000;
constexpr int last_row = large_batch_rows - 1;

class store_streaming_upload : public store_test {
protected:
  void SetUp() override {
    store_test::SetUp();
    store_->declare_table("acme", db_, "items", items_schema());
  }

  /// A body of `rows` rows `[id, "note <id>", "<id>.50", 100 + id]` with ids
  /// from `first_id`; `edit` may replace the text of any row.
  static std::string body(int rows, int first_id = 0,
                          const std::function<std::string(int, std::string)>& edit = {}) {
    std::string text = R"({"columns":["id","note","price","v"],"rows":[)";
    for (int row = 0; row < rows; ++row) {
      auto id = std::to_string(first_id + row);
      auto line = "[" + id + ",\"note " + id + "\",\"" + id + ".50\"," +
                  std::to_string(100 + first_id + row) + "]";
      text += (row == 0 ? "" : ",") + (edit ? edit(row, line) : line);
    }
    return text + "]}";
  }

  std::string count_items() { return *scalar("SELECT count(*) FROM tidesync_data.items"); }

  /// As the server uploads: the body read from its text as it loads, or,
  /// when that gives up, parsed whole. `streamed` says which it was.
  upload_result upload(const std::string& table, const std::string& text) {
    auto result = store_->upload_text("acme", db_, table, text);
    streamed = result.has_value();
    return result ? *result : store_->upload("acme", db_, table, json(text));
  }

  bool streamed = false;
};

TEST_F(store_streaming_upload, ALargeBatchOfNewRowsIsWrittenWhole) {
  auto result = upload("items", body(large_batch_rows));
  EXPECT_TRUE(streamed) << "a body in the agents' shape is loaded from its text";
  EXPECT_EQ(result.inserted, large_batch_rows);
  EXPECT_EQ(result.version.count, large_batch_rows);
  EXPECT_EQ(result.version.max_version, 100 + last_row);
  EXPECT_EQ(count_items(), std::to_string(large_batch_rows));
  EXPECT_EQ(scalar("SELECT note || ' ' || price::text FROM tidesync_data.items WHERE id = " +
                   std::to_string(last_row)),
            "note 19999 19999.50");
}

TEST_F(store_streaming_upload, ABadCellInTheLastChunkWritesNothingAndNamesTheRow) {
  auto bad_last = [](int row, std::string line) {
    return row == last_row ? R"([19999,"x","not a number",1])" : line;
  };
  auto message = error_of(error_code::bad_request,
                          [&] { upload("items", body(large_batch_rows, 0, bad_last)); });
  EXPECT_EQ(message, "row 19999, column \"price\": expected a JSON string holding a numeric, got "
                     "\"not a number\"");
  EXPECT_FALSE(streamed);
  EXPECT_EQ(count_items(), "0");
  EXPECT_EQ(store_->table_version("acme", db_, "items").count, 0);
  // The store's connection is fine afterwards.
  EXPECT_EQ(upload("items", body(3)).inserted, 3);
}

TEST_F(store_streaming_upload, AKeyRepeatedChunksApartIsRejectedNamingBothRows) {
  auto repeat_third = [](int row, std::string line) {
    return row == last_row ? R"([3,"again","1",1])" : line;
  };
  auto message = error_of(error_code::bad_request,
                          [&] { upload("items", body(large_batch_rows, 0, repeat_third)); });
  EXPECT_EQ(message, "row 19999 has the same key as row 3");
  EXPECT_EQ(count_items(), "0");
}

TEST_F(store_streaming_upload, ABadCellIsReportedBeforeARepeatedKeyOfEarlierRows) {
  auto edit = [](int row, std::string line) {
    if (row == 2)
      return std::string(R"([1,"again","1",1])");
    return row == last_row ? std::string(R"([19999,"x","1",true])") : line;
  };
  auto message =
      error_of(error_code::bad_request, [&] { upload("items", body(large_batch_rows, 0, edit)); });
  EXPECT_EQ(message.rfind("row 19999, column \"v\": expected an integer", 0), 0u) << message;
}

TEST_F(store_streaming_upload, ABadCellAfterAnExistingKeyWritesNothing) {
  upload("items", body(10));
  // Row 5 exists already, which PostgreSQL only reports at the end of the COPY.
  auto bad_last = [](int row, std::string line) {
    return row == last_row ? R"([19999,"x","1",null])" : line;
  };
  auto message = error_of(error_code::bad_request,
                          [&] { upload("items", body(large_batch_rows, 0, bad_last)); });
  EXPECT_EQ(message, "row 19999, column \"v\": null in a non-nullable column");
  EXPECT_EQ(count_items(), "10");
  EXPECT_EQ(scalar("SELECT note FROM tidesync_data.items WHERE id = 5"), "note 5");
}

TEST_F(store_streaming_upload, AnExistingKeyInTheLastChunkTurnsTheBatchIntoAnUpsert) {
  upload("items", R"({"columns":["id","note","v"],"rows":[[19999,"old",1]]})");
  auto result = upload("items", body(large_batch_rows));
  EXPECT_EQ(result.rows, large_batch_rows);
  EXPECT_EQ(result.inserted, large_batch_rows - 1);
  EXPECT_EQ(result.updated, 1);
  EXPECT_TRUE(streamed);
  EXPECT_EQ(count_items(), std::to_string(large_batch_rows));
  EXPECT_EQ(scalar("SELECT note FROM tidesync_data.items WHERE id = 19999"), "note 19999");
}

// Chunks of the body are in PostgreSQL before the end of its text shows that
// it is not in the usual shape: nothing of them stays, and the document reader
// decides, here accepting the body whole.
TEST_F(store_streaming_upload, ABodyThatLeavesItsShapeAfterRowsWereSentIsReadAgainWhole) {
  auto text = body(large_batch_rows);
  text.insert(text.size() - 1, R"(,"comment":null)");
  auto after_text = store_->upload_text("acme", db_, "items", text);
  EXPECT_FALSE(after_text) << "a third key is outside the usual shape";
  EXPECT_EQ(count_items(), "0");
  EXPECT_EQ(store_->table_version("acme", db_, "items").count, 0);
  // The document reader refuses the unknown key by name.
  auto message = error_of(error_code::bad_request, [&] { upload("items", text); });
  EXPECT_NE(message.find("comment"), std::string::npos) << message;
  // A body cut short in its last row, and a numeric beyond int64 in its last
  // row (which only the document reader reads), the same way.
  auto cut = body(large_batch_rows);
  cut.resize(cut.size() - 5);
  EXPECT_FALSE(store_->upload_text("acme", db_, "items", cut));
  EXPECT_EQ(count_items(), "0");
  auto huge_last = [](int row, std::string line) {
    return row == last_row ? R"([19999,"x",18446744073709551615,1])" : line;
  };
  auto result = upload("items", body(large_batch_rows, 0, huge_last));
  EXPECT_FALSE(streamed);
  EXPECT_EQ(result.inserted, large_batch_rows);
  EXPECT_EQ(scalar("SELECT price::text FROM tidesync_data.items WHERE id = 19999"),
            "18446744073709551615");
  EXPECT_EQ(count_items(), std::to_string(large_batch_rows));
}

} // namespace
} // namespace tidesync::storage::testing
