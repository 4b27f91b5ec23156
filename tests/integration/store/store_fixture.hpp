#pragma once

#include "storage/postgres_store.hpp"

#include "protocol/error.hpp"
#include "protocol/table_schema.hpp"
#include "tests/support/test_database.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace tidesync::storage::testing {

/// A migrated store on a fresh database, with client "acme" and its database
/// "store-01" registered.
class store_test : public ::testing::Test {
protected:
  void SetUp() override {
    store_ = std::make_unique<postgres_store>(store_options{database_.url()});
    store_->migrate();
    store_->create_client("acme");
    db_ = store_->register_database("acme", "store-01").database_id;
  }

  static boost::json::value json(const std::string& text) { return boost::json::parse(text); }

  static protocol::table_schema schema(const std::string& text) {
    return protocol::table_schema_from_json(json(text));
  }

  /// The standard test table: id bigint key, note text, price numeric, v version.
  static protocol::table_schema items_schema() {
    return schema(R"({"columns":[{"name":"id","type":"bigint","nullable":false},
                                 {"name":"note","type":"text","nullable":true},
                                 {"name":"price","type":"numeric","nullable":true},
                                 {"name":"v","type":"bigint","nullable":false}],
                      "key":["id"],"version_column":"v","modified_column":null})");
  }

  upload_result upload(const std::string& table, const std::string& body,
                       const std::string& client = "acme", std::optional<std::string> db = {}) {
    return store_->upload(client, db.value_or(db_), table, json(body));
  }

  /// Rows of a query as text (nullopt for NULL), through a separate connection.
  std::vector<std::vector<std::optional<std::string>>> query(const std::string& sql) {
    pqxx::connection connection{database_.url()};
    pqxx::nontransaction tx{connection};
    tx.exec("SET TimeZone = 'UTC'; SET DateStyle = 'ISO, YMD'");
    std::vector<std::vector<std::optional<std::string>>> rows;
    for (const auto& row : tx.exec(sql)) {
      auto& out = rows.emplace_back();
      for (const auto& field : row)
        out.push_back(field.is_null() ? std::nullopt
                                      : std::optional<std::string>(field.c_str()));
    }
    return rows;
  }

  /// The single value of a one-row, one-column query.
  std::optional<std::string> scalar(const std::string& sql) { return query(sql).at(0).at(0); }

  /// Calls `action`, expects an api_error with `code`, and returns its message.
  template <class Action>
  static std::string error_of(protocol::error_code code, Action&& action) {
    try {
      action();
    } catch (const protocol::api_error& e) {
      EXPECT_EQ(protocol::code_name(e.code()), protocol::code_name(code)) << e.what();
      return e.what();
    }
    ADD_FAILURE() << "expected an api_error";
    return {};
  }

  tidesync::testing::test_database database_;
  std::unique_ptr<postgres_store> store_;
  std::string db_;
};

} // namespace tidesync::storage::testing
