#include "tests/integration/sources/tracking_catalog.hpp"

#include "storage/version_tracking.hpp"
#include "tests/integration/sources/source_fixtures.hpp"

#include <gtest/gtest.h>
#include <pqxx/pqxx>

namespace tidesync::testing {

tracking_catalog read_tracking(const std::string& url, const std::string& table) {
  pqxx::connection conn{url};
  pqxx::nontransaction tx{conn};
  auto row = tx.exec_params(
    "SELECT (SELECT count(*) FROM pg_trigger WHERE tgrelid = c.oid AND tgname = "
    "'tidesync_version'), "
    "(SELECT count(*) FROM pg_trigger WHERE tgrelid = c.oid AND tgname = 'tidesync_notify'), "
    "(SELECT count(*) FROM pg_index i WHERE i.indrelid = c.oid AND i.indisvalid AND NOT "
    "i.indisprimary), "
    "(SELECT count(*) FROM pg_index i WHERE i.indrelid = c.oid AND NOT i.indisvalid), "
    "(SELECT count(*) FROM pg_constraint WHERE conrelid = c.oid AND contype = 'c'), "
    "(SELECT attnotnull FROM pg_attribute WHERE attrelid = c.oid AND attname = "
    "'tidesync_version'), "
    "(SELECT atthasdef FROM pg_attribute WHERE attrelid = c.oid AND attname = "
    "'tidesync_version') "
    "FROM pg_class c WHERE c.oid = to_regclass($1)",
    "\"" + table + "\"")[0];
  tracking_catalog out;
  out.version_triggers = row[0].as<std::int64_t>();
  out.notify_triggers = row[1].as<std::int64_t>();
  out.valid_indexes = row[2].as<std::int64_t>();
  out.invalid_indexes = row[3].as<std::int64_t>();
  out.checks = row[4].as<std::int64_t>();
  out.not_null = row[5].as<bool>();
  out.has_default = row[6].as<bool>();
  out.unversioned =
    tx.exec("SELECT count(*) FROM \"" + table + "\" WHERE tidesync_version IS NULL")[0][0]
      .as<std::int64_t>();
  return out;
}

void expect_fully_prepared(const std::string& url, const std::string& table) {
  auto catalog = read_tracking(url, table);
  EXPECT_EQ(catalog.version_triggers, 1);
  EXPECT_EQ(catalog.notify_triggers, 1);
  EXPECT_EQ(catalog.valid_indexes, 1);
  EXPECT_EQ(catalog.invalid_indexes, 0);
  EXPECT_EQ(catalog.checks, 0);
  EXPECT_TRUE(catalog.not_null);
  EXPECT_FALSE(catalog.has_default);
  EXPECT_EQ(catalog.unversioned, 0);
  EXPECT_TRUE(storage::plan_version_tracking(url, {tracked(table)}).empty());
}

} // namespace tidesync::testing
