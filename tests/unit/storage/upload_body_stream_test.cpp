#include "storage/upload_body_stream.hpp"

#include "protocol/error.hpp"
#include "protocol/json_parse.hpp"
#include "storage/copy_batch.hpp"

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <gtest/gtest.h>

#include <optional>
#include <random>
#include <string>
#include <vector>

namespace tidesync::storage {
namespace {

namespace json = boost::json;

// Writes down what the stream hands over, one line per event.
class recording_sink : public upload_body_stream::sink {
public:
  void columns(const std::vector<std::string>& names) override {
    std::string line = "columns";
    for (const auto& name : names)
      line += " " + name;
    events.push_back(line);
  }
  void cell(std::size_t row, std::size_t column, const json::value& cell) override {
    events.push_back(std::to_string(row) + "." + std::to_string(column) + " " +
                     json::serialize(cell));
  }
  void row_end(std::size_t row, std::size_t cells) override {
    events.push_back("end " + std::to_string(row) + " " + std::to_string(cells));
  }
  std::vector<std::string> events;
};

// Every event of `text` read `slice` bytes at a time; nullopt when off shape.
std::optional<std::vector<std::string>> events_of(std::string_view text, std::size_t slice) {
  recording_sink sink;
  upload_body_stream stream(text, sink);
  try {
    while (stream.read_some(slice)) {
    }
  } catch (const upload_body_stream::off_shape&) {
    return std::nullopt;
  }
  EXPECT_TRUE(stream.done());
  EXPECT_EQ(stream.consumed(), text.size());
  return sink.events;
}

TEST(UploadBodyStream, HandsOverColumnsCellsAndRowEndsInOrder) {
  auto events =
      events_of(R"({"columns":["id","note"],"rows":[[1,"a\"b"],[-2,null],[3,true,"x"],[]]})", 4096);
  ASSERT_TRUE(events);
  EXPECT_EQ(*events, (std::vector<std::string>{"columns id note", "0.0 1", R"(0.1 "a\"b")",
                                               "end 0 2", "1.0 -2", "1.1 null", "end 1 2", "2.0 3",
                                               "2.1 true", R"(2.2 "x")", "end 2 3", "end 3 0"}));
}

TEST(UploadBodyStream, ReadsTheSameEventsWhateverTheSliceSize) {
  // Strings, keys and numbers cut anywhere, escapes and multi-byte UTF-8 included.
  std::string text = R"( { "columns" : ["id", "n\u00e9"] , "rows" : [ [9223372036854775807, "üñî\ncode \\ \"q\""],)"
                     R"([-9223372036854775808, ""], [0, "🙂"] ] } )";
  auto whole = events_of(text, text.size());
  ASSERT_TRUE(whole);
  EXPECT_EQ(whole->size(), 10u);
  for (std::size_t slice = 1; slice < 12; ++slice)
    EXPECT_EQ(events_of(text, slice), whole) << "slices of " << slice;
}

TEST(UploadBodyStream, AnythingOutsideTheUsualShapeIsOffShape) {
  for (const char* text : {
           R"({"rows":[[1]],"columns":["id"]})",          // keys the other way round
           R"({"columns":["id"],"rows":[[1]],"x":1})",    // a key after the rows
           R"({"columns":["id"],"columns":["id"],"rows":[]})",
           R"({"columns":["id"]})",                       // no rows
           R"({"columns":["id"],"rows":[[1.5]]})",        // a fraction
           R"({"columns":["id"],"rows":[[1e3]]})",        // an exponent
           R"({"columns":["id"],"rows":[[18446744073709551615]]})",  // beyond int64
           R"({"columns":["id"],"rows":[[[1]]]})",        // a nested array
           R"({"columns":["id"],"rows":[[{"a":1}]]})",    // an object cell
           R"({"columns":["id"],"rows":[1]})",            // a row that is not an array
           R"({"columns":[1],"rows":[]})",                // a column name that is not a string
           R"({"columns":["id"],"rows":[[1]]} {})",       // a second document
           R"({"columns":["id"],"rows":[[1]]}x)",         // bytes after the document
           R"({"columns":["id"],"rows":[[1],)",           // cut short
           R"([1,2])", "", "null", R"({"columns":["id"],"rows":[["\xff"]]})"}) {
    EXPECT_FALSE(events_of(text, 4096)) << text;
    EXPECT_FALSE(events_of(text, 3)) << text;
  }
}

TEST(UploadBodyStream, ASinkThatThrowsEndsTheReadingOffShape) {
  class refusing_sink : public recording_sink {
    void row_end(std::size_t, std::size_t) override {
      throw protocol::api_error(protocol::error_code::bad_request, "no");
    }
  } sink;
  std::string text = R"({"columns":["id"],"rows":[[1],[2]]})";
  upload_body_stream stream(text, sink);
  EXPECT_THROW(stream.read_some(text.size()), upload_body_stream::off_shape);
}

// The schema of the property test below: a cell of most wire types.
protocol::table_schema mixed_schema() {
  using protocol::column_type;
  return {{{"id", column_type::bigint, false},
           {"name", column_type::text, true},
           {"amount", column_type::numeric, true},
           {"ratio", column_type::double_precision, true},
           {"small", column_type::smallint, true},
           {"flag", column_type::boolean, true},
           {"at", column_type::timestamptz, true},
           {"doc", column_type::jsonb, true},
           {"v", column_type::bigint, false}},
          {"id"},
          "v",
          std::nullopt};
}

// A random body: mostly in the usual shape with hostile cells, sometimes
// reordered, cut or with a wrong cell, so both readers' refusals are compared too.
std::string random_body(std::mt19937_64& random) {
  // A cell is one of `valid`, now and then one of `invalid`.
  auto pick = [&](std::initializer_list<const char*> valid,
                  std::initializer_list<const char*> invalid) {
    const auto& from = random() % 200 == 0 ? invalid : valid;
    return std::string(*(from.begin() + random() % from.size()));
  };
  std::string rows;
  auto row_count = random() % 40;
  for (std::size_t r = 0; r < row_count; ++r) {
    // Now and then a key repeats an earlier row's.
    auto id = random() % 100 == 0 ? std::to_string(random() % (r + 1) + 1) : std::to_string(r + 1);
    std::string row = "[" + id;
    row += "," + pick({R"("plain")", R"("tab\there")", R"("back\\slash")", R"("nl\nand\r")",
                       R"("\u00e9\ud83d\ude00")", "null", R"("")"},
                      {"17", R"("\u0000")"});
    row += "," + pick({R"("12.50")", R"("-0.000")", "42", R"("NaN")", R"("1e3")", "null"},
                      {R"("abc")", "1.5"});
    row += "," + pick({R"("0.1")", R"("-0")", R"("Infinity")", R"("2.2345442730765653e-07")", "3",
                       "null"},
                      {R"("1e999")", "0.5"});
    row += "," + pick({"32767", "-32768", "0", "null"}, {"32768", R"("1")", "true"});
    row += "," + pick({"true", "false", "null"}, {"1", R"("t")"});
    row += "," + pick({R"("2024-02-29 13:45:01.123456+00")", R"("1999-12-31 23:59:59-08:30")",
                       "null"},
                      {R"("2024-02-30 00:00:00+00")"});
    row += "," + pick({R"("{\"a\": [1, 2.5, null]}")", R"("[]")", "null"}, {R"("{bad")"});
    row += "," + pick({"1", "9223372036854775807", "-1"}, {"null", "1.0"});
    if (random() % 300 == 0)
      row += ",1";  // one cell too many
    row += "]";
    rows += (r == 0 ? "" : ",") + row;
  }
  std::string columns = R"(["id","name","amount","ratio","small","flag","at","doc","v"])";
  if (random() % 30 == 0)
    columns = R"(["id","name","v"])";
  std::string body = R"({"columns":)" + columns + R"(,"rows":[)" + rows + "]}";
  switch (random() % 25) {
  case 0: body = R"({"rows":[)" + rows + R"(],"columns":)" + columns + "}"; break;
  case 1: body = body.substr(0, random() % (body.size() + 1)); break;
  case 2: body += " "; break;
  default: break;
  }
  return body;
}

// What the document reader makes of a body: the rendered batch or the message.
struct outcome {
  std::optional<copy_batch> batch;
  std::string message;
};

outcome rendered_as_document(const protocol::table_schema& schema, const std::string& text) {
  json::error_code ec;
  auto body = protocol::parse_json_exact(text, ec);
  if (ec)
    return {std::nullopt, "malformed"};
  try {
    return {prepare_upload(schema, body, "acme", "db"), {}};
  } catch (const protocol::api_error& e) {
    return {std::nullopt, e.what()};
  }
}

// The reference is the document reader: where the stream renders, it renders
// the same text; where it refuses with a message, the document reader says
// the same; everything else the stream leaves to the document reader.
TEST(UploadRenderer, ABodyReadFromItsTextRendersExactlyAsItsDocument) {
  auto schema = mixed_schema();
  std::mt19937_64 random{20261201};
  int streamed = 0;
  int refused = 0;
  for (int i = 0; i < 3000; ++i) {
    auto text = random_body(random);
    auto expected = rendered_as_document(schema, text);
    try {
      upload_renderer renderer(schema, upload_renderer::body_text{text}, "acme", "db");
      std::size_t handed = 0;
      while (renderer.render_some(1 + random() % 300)) {
        // Only whole lines are handed on, and every call hands some on.
        auto end = renderer.rendered_bytes();
        ASSERT_GT(end, handed) << text;
        ASSERT_EQ(renderer.batch().copy_text[end - 1], '\n') << text;
        handed = end;
      }
      renderer.finish();
      EXPECT_EQ(renderer.rendered_bytes(), renderer.batch().copy_text.size());
      ASSERT_TRUE(expected.batch) << text << "\nthe document reader said: " << expected.message;
      EXPECT_EQ(renderer.batch().copy_text, expected.batch->copy_text) << text;
      EXPECT_EQ(renderer.row_count(), expected.batch->rows) << text;
      ++streamed;
    } catch (const upload_body_stream::off_shape&) {
    } catch (const protocol::api_error& e) {
      EXPECT_EQ(e.what(), expected.message) << text;
      ++refused;
    }
  }
  // The generator must reach both outcomes, or the comparison proves little.
  EXPECT_GT(streamed, 1000);
  EXPECT_GT(refused, 50);
}

TEST(UploadRenderer, EmptyTellsABodyWithoutRowsBeforeRendering) {
  auto schema = mixed_schema();
  std::string none = R"({"columns":["id","v"],"rows":[]})";
  std::string one = R"({"columns":["id","v"],"rows":[[1,2]]})";
  EXPECT_TRUE(upload_renderer(schema, upload_renderer::body_text{none}, "a", "b").empty());
  EXPECT_FALSE(upload_renderer(schema, upload_renderer::body_text{one}, "a", "b").empty());
}

// Small first rows say little about the rest: a body of tiny rows and then
// one huge cell must not reserve many times its own size.
TEST(UploadRenderer, TextSizedFromTinyFirstRowsStaysWithinTwiceTheBody) {
  protocol::table_schema schema{{{"id", protocol::column_type::bigint, false},
                                 {"note", protocol::column_type::text, true},
                                 {"v", protocol::column_type::bigint, false}},
                                {"id"},
                                "v",
                                std::nullopt};
  std::string text = R"({"columns":["id","note","v"],"rows":[)";
  for (int i = 0; i < 2000; ++i)
    text += "[" + std::to_string(i) + ",null,1],";
  text += "[99999,\"" + std::string(8 << 20, 'x') + "\",1]]}";
  upload_renderer renderer(schema, upload_renderer::body_text{text}, "acme",
                           "3f1c2a9e-5b7d-4e21-9c1f-7a8b6d5e4c3b");
  renderer.finish();
  EXPECT_EQ(renderer.row_count(), 2001u);
  EXPECT_LE(renderer.batch().copy_text.capacity(), 2 * text.size() + (64 << 10));
}

} // namespace
} // namespace tidesync::storage
