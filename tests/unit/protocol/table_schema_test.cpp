#include "protocol/table_schema.hpp"

#include "protocol/error.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <gtest/gtest.h>

#include <string>

using namespace tidesync::protocol;

namespace {

constexpr auto example_schema = R"({
  "columns": [{"name": "id", "type": "bigint", "nullable": false},
              {"name": "note", "type": "text", "nullable": true},
              {"name": "tidesync_version", "type": "bigint", "nullable": false}],
  "key": ["id"], "version_column": "tidesync_version", "modified_column": null})";

// The message of the api_error that parsing `text` raises.
std::string parse_error(const std::string& text) {
  try {
    table_schema_from_json(boost::json::parse(text));
  } catch (const api_error& e) {
    EXPECT_EQ(e.code(), error_code::bad_request);
    return e.what();
  }
  ADD_FAILURE() << "accepted " << text;
  return {};
}

// The example schema with its first column renamed to `name`.
std::string with_column_name(const std::string& name) {
  boost::json::value json = boost::json::parse(example_schema);
  json.at("columns").at(0).at("name") = name;
  json.at("key").at(0) = name;
  return boost::json::serialize(json);
}

table_schema valid_schema() {
  return table_schema_from_json(boost::json::parse(example_schema));
}

std::string validation_error(const table_schema& schema) {
  try {
    validate(schema);
  } catch (const api_error& e) {
    return e.what();
  }
  ADD_FAILURE() << "schema accepted";
  return {};
}

} // namespace

TEST(TableSchema, ParsesTheDocumentedExample) {
  auto schema = valid_schema();
  ASSERT_EQ(schema.columns.size(), 3u);
  EXPECT_EQ(schema.columns[0], (column_def{"id", column_type::bigint, false}));
  EXPECT_EQ(schema.columns[1], (column_def{"note", column_type::text, true}));
  EXPECT_EQ(schema.key, std::vector<std::string>{"id"});
  EXPECT_EQ(schema.version_column, "tidesync_version");
  EXPECT_FALSE(schema.modified_column.has_value());
  EXPECT_EQ(schema.find("note")->type, column_type::text);
  EXPECT_EQ(schema.find("missing"), nullptr);
}

TEST(TableSchema, SurvivesAJsonRoundTrip) {
  auto schema = valid_schema();
  schema.columns.push_back({"changed_at", column_type::timestamptz, true});
  schema.columns.push_back({"price", column_type::numeric, true});
  schema.modified_column = "changed_at";
  EXPECT_EQ(table_schema_from_json(to_json(schema)), schema);
}

TEST(TableSchema, WritesCanonicalTypeNames) {
  auto json = boost::json::parse(R"json({"columns": [
      {"name": "id", "type": "INT8", "nullable": false},
      {"name": "d", "type": "float8"},
      {"name": "at", "type": "timestamp(3) with time zone"},
      {"name": "s", "type": "character varying(20)"}],
    "key": ["id"], "version_column": "id"})json");
  auto out = to_json(table_schema_from_json(json));
  const auto& columns = out.at("columns").as_array();
  EXPECT_EQ(columns[0].at("type"), "bigint");
  EXPECT_EQ(columns[1].at("type"), "double precision");
  EXPECT_EQ(columns[1].at("nullable"), true);
  EXPECT_EQ(columns[2].at("type"), "timestamptz");
  EXPECT_EQ(columns[3].at("type"), "text");
  EXPECT_TRUE(out.at("modified_column").is_null());
}

TEST(TableSchema, UnknownTypeIsNamedWithItsField) {
  auto text = std::string(example_schema);
  text.replace(text.find("\"text\""), 6, "\"blob\"");
  EXPECT_EQ(parse_error(text), "columns[1].type: unknown type \"blob\"");
}

TEST(TableSchema, MissingAndMistypedFieldsAreNamed) {
  EXPECT_EQ(parse_error("[]"), "schema: expected a JSON object, got []");
  EXPECT_EQ(parse_error(R"({"key": ["id"], "version_column": "v"})"), "columns: missing");
  EXPECT_EQ(parse_error(R"({"columns": {}, "key": [], "version_column": "v"})"),
            "columns: expected a JSON array, got {}");
  EXPECT_EQ(parse_error(R"({"columns": [{"type": "text"}], "key": [], "version_column": "v"})"),
            "columns[0].name: missing");
  EXPECT_EQ(parse_error(
                R"({"columns": [{"name": 1, "type": "text"}], "key": [], "version_column": "v"})"),
            "columns[0].name: expected a JSON string, got 1");
  EXPECT_EQ(parse_error(R"({"columns": [{"name": "a", "type": "text", "nullable": "no"}],
                            "key": [], "version_column": "v"})"),
            "columns[0].nullable: expected true or false, got \"no\"");
  EXPECT_EQ(
      parse_error(
          R"({"columns": [{"name": "a", "type": "text"}], "key": [7], "version_column": "v"})"),
      "key[0]: expected a JSON string, got 7");
}

TEST(TableSchema, UnknownFieldsAreRefused) {
  auto text = std::string(example_schema);
  text.insert(1, "\"colums\": [], ");
  EXPECT_EQ(parse_error(text), "schema: unknown field \"colums\"");
  text = example_schema;
  text.replace(text.find("\"nullable\": true"), 16, "\"nulable\": true");
  EXPECT_EQ(parse_error(text), "columns[1]: unknown field \"nulable\"");
}

TEST(TableSchema, HostileIdentifiersAreRefused) {
  for (std::string bad :
       std::initializer_list<std::string>{"x\"; DROP TABLE y; --", "", std::string(64, 'a'), "1abc",
                                          "naïve", "表", "a b", "a-b", "a.b", "a\nb"}) {
    auto message = parse_error(with_column_name(bad));
    EXPECT_EQ(message.rfind("columns[0].name: invalid name ", 0), 0u) << message;
  }
}

TEST(TableSchema, IdentifierMessagesEscapeTheName) {
  auto message = parse_error(with_column_name("x\"; DROP TABLE y; --"));
  EXPECT_NE(message.find(R"("x\"; DROP TABLE y; --")"), std::string::npos) << message;
}

TEST(TableSchema, ValidIdentifiersFollowTheDocumentedRule) {
  EXPECT_TRUE(is_valid_identifier("a"));
  EXPECT_TRUE(is_valid_identifier("_"));
  EXPECT_TRUE(is_valid_identifier("Order_Lines_2"));
  EXPECT_TRUE(is_valid_identifier(std::string(63, 'a')));
  EXPECT_FALSE(is_valid_identifier(std::string(64, 'a')));
  EXPECT_FALSE(is_valid_identifier("9lives"));
  EXPECT_FALSE(is_valid_identifier(std::string_view("a\0b", 3)));
}

TEST(TableSchema, TenantColumnNamesAreReserved) {
  EXPECT_EQ(parse_error(with_column_name("client_id")),
            "columns[0].name: \"client_id\" is reserved for the tenant columns");
  EXPECT_EQ(parse_error(with_column_name("database_id")),
            "columns[0].name: \"database_id\" is reserved for the tenant columns");
}

TEST(TableSchema, DuplicateColumnsAreRefused) {
  auto schema = valid_schema();
  schema.columns.push_back({"note", column_type::integer, true});
  EXPECT_EQ(validation_error(schema), "columns[3].name: duplicate column \"note\"");
}

TEST(TableSchema, KeyColumnsMustExistAndBeNotNull) {
  auto schema = valid_schema();
  schema.key = {"nope"};
  EXPECT_EQ(validation_error(schema), "key[0]: key column \"nope\" is not among the columns");
  schema.key = {"id", "note"};
  EXPECT_EQ(validation_error(schema), "key[1]: key column \"note\" must not be nullable");
  schema.key = {"id", "id"};
  EXPECT_EQ(validation_error(schema), "key[1]: key column \"id\" appears twice");
  schema.key = {};
  EXPECT_EQ(validation_error(schema), "key: a table needs a primary key of at least one column");
}

TEST(TableSchema, CompositeKeysOfAnyTypeAreAccepted) {
  auto schema = valid_schema();
  schema.columns.push_back({"region", column_type::text, false});
  schema.columns.push_back({"ref", column_type::uuid, false});
  schema.key = {"region", "ref", "id"};
  EXPECT_NO_THROW(validate(schema));
}

TEST(TableSchema, VersionColumnMustBeABigintColumn) {
  auto schema = valid_schema();
  schema.version_column = "missing";
  EXPECT_EQ(validation_error(schema), "version_column: \"missing\" is not among the columns");
  schema.version_column = "note";
  EXPECT_EQ(validation_error(schema), "version_column: \"note\" must be bigint, not text");
}

TEST(TableSchema, ModifiedColumnMustBeATimeColumn) {
  auto schema = valid_schema();
  schema.modified_column = "note";
  EXPECT_EQ(validation_error(schema),
            "modified_column: \"note\" must be a date, timestamp or timestamptz, not text");
  schema.modified_column = "gone";
  EXPECT_EQ(validation_error(schema), "modified_column: \"gone\" is not among the columns");
}

TEST(TableSchema, EmptyColumnListIsRefused) {
  EXPECT_EQ(parse_error(R"({"columns": [], "key": ["id"], "version_column": "v"})"),
            "columns: a table needs at least one column");
}
