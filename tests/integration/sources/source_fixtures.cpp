#include "tests/integration/sources/source_fixtures.hpp"

#include "protocol/cell_codec.hpp"
#include "storage/sqlite_db.hpp"
#include "storage/version_tracking.hpp"

#include <boost/json/value.hpp>

#include <gtest/gtest.h>
#include <pqxx/pqxx>
#include <sqlite3.h>

#include <atomic>
#include <unistd.h>

namespace tidesync::testing {

temp_directory::temp_directory() {
  static std::atomic<int> counter{0};
  path_ = std::filesystem::temp_directory_path() /
          ("tidesync-sources-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
  std::filesystem::remove_all(path_);
  std::filesystem::create_directories(path_);
}

temp_directory::~temp_directory() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::string temp_directory::sqlite_url(const std::string& file) const {
  return "sqlite://" + (path_ / file).string();
}

void sqlite_exec(const std::filesystem::path& file, const std::string& sql) {
  storage::sqlite_db db{file.string(), SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE};
  db.exec(sql, "test setup");
}

void pg_exec(const std::string& url, const std::string& sql) {
  pqxx::connection conn{url};
  pqxx::work tx{conn};
  tx.exec(sql);
  tx.commit();
}

std::vector<storage::text_row> read_all_rows(storage::source& source, const std::string& table,
                                             const protocol::table_schema& schema,
                                             std::int64_t page) {
  std::vector<storage::text_row> all;
  std::optional<storage::row_position> after;
  for (;;) {
    auto rows = source.read_rows(table, schema, after, std::nullopt, page);
    EXPECT_LE(static_cast<std::int64_t>(rows.size()), page);
    if (rows.empty())
      return all;
    after = storage::position_of(schema, rows.back());
    all.insert(all.end(), rows.begin(), rows.end());
  }
}

storage::table_ref tracked(const std::string& table, std::vector<std::string> key) {
  storage::table_ref ref;
  ref.name = table;
  ref.key = std::move(key);
  return ref;
}

void make_prepared_orders_and_stock(const std::string& url) {
  pg_exec(url, "CREATE TABLE orders (id bigint PRIMARY KEY, note text); "
               "CREATE TABLE stock (id bigint PRIMARY KEY, qty integer); "
               "INSERT INTO orders VALUES (1, 'a'), (2, 'b'); "
               "INSERT INTO stock VALUES (1, 5)");
  storage::apply_version_tracking(url, {tracked("orders"), tracked("stock")});
}

void expect_wire_round_trip(const protocol::table_schema& schema,
                            const std::vector<storage::text_row>& rows) {
  for (const auto& row : rows) {
    ASSERT_EQ(row.size(), schema.columns.size());
    for (std::size_t i = 0; i < row.size(); ++i) {
      if (!row[i])
        continue;
      auto type = schema.columns[i].type;
      try {
        auto back = protocol::cell_to_pg_text(protocol::cell_from_pg_text(*row[i], type), type);
        EXPECT_TRUE(back.has_value()) << schema.columns[i].name << ": " << *row[i];
      } catch (const std::exception& e) {
        ADD_FAILURE() << schema.columns[i].name << " \"" << *row[i] << "\": " << e.what();
      }
    }
  }
}

std::size_t column_index(const protocol::table_schema& schema, const std::string& column) {
  for (std::size_t i = 0; i < schema.columns.size(); ++i)
    if (schema.columns[i].name == column)
      return i;
  ADD_FAILURE() << "no column " << column;
  return 0;
}

} // namespace tidesync::testing
