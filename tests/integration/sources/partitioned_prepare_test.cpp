// Prepare and unprepare on a partitioned PostgreSQL table, whose parent holds
// no rows and takes no concurrent index build.
#include "storage/version_tracking.hpp"

#include "tests/integration/sources/source_fixtures.hpp"
#include "tests/support/test_database.hpp"

#include <gtest/gtest.h>
#include <pqxx/pqxx>

namespace tidesync::storage {
namespace {

using testing::pg_exec;
using testing::pg_int;

void create_events(const std::string& url, const std::string& version_column) {
  pg_exec(url, "CREATE TABLE events (id int, region int, note text" + version_column +
                 ", PRIMARY KEY (id, region)) PARTITION BY LIST (region);"
                 "CREATE TABLE events_1 PARTITION OF events FOR VALUES IN (1);"
                 "CREATE TABLE events_2 PARTITION OF events FOR VALUES IN (2);"
                 "INSERT INTO events (id, region, note) SELECT g, 1 + g % 2, 'old' FROM "
                 "generate_series(1, 1000) g");
}

// Valid version indexes on the parent and its partitions.
std::int64_t valid_version_indexes(const std::string& url) {
  return pg_int(url, "SELECT count(*) FROM pg_index WHERE indisvalid AND indexrelid::regclass::"
                     "text IN ('tidesync_events_version', 'tidesync_events_1_version', "
                     "'tidesync_events_2_version')");
}

std::int64_t tidesync_objects(const std::string& url) {
  return pg_int(url, "SELECT (SELECT count(*) FROM pg_class WHERE relname LIKE 'tidesync%') + "
                     "(SELECT count(*) FROM pg_trigger WHERE tgname LIKE 'tidesync%') + "
                     "(SELECT count(*) FROM pg_proc WHERE proname LIKE 'tidesync%') + "
                     "(SELECT count(*) FROM pg_attribute WHERE attname = 'tidesync_version' "
                     "AND NOT attisdropped)");
}

TEST(OnlinePreparePartitioned, ANewColumnGetsAnIndexBuiltPartitionByPartition) {
  testing::test_database db;
  create_events(db.url(), "");
  apply_version_tracking(db.url(), {testing::tracked("events")});
  EXPECT_EQ(valid_version_indexes(db.url()), 3);
  EXPECT_TRUE(plan_version_tracking(db.url(), {testing::tracked("events")}).empty());
  pg_exec(db.url(), "INSERT INTO events VALUES (5000, 2, 'new')");
  EXPECT_GT(pg_int(db.url(), "SELECT tidesync_version FROM events WHERE id = 5000"), 1);
}

TEST(OnlinePreparePartitioned, ANullableColumnIsBackfilledInEachPartitionAndRemovedAgain) {
  testing::test_database db;
  auto before = tidesync_objects(db.url());
  create_events(db.url(), ", tidesync_version bigint");
  apply_version_tracking(db.url(), {testing::tracked("events")});
  EXPECT_EQ(pg_int(db.url(), "SELECT count(*) FROM events WHERE tidesync_version IS NULL"), 0);
  EXPECT_EQ(pg_int(db.url(), "SELECT count(*) FROM pg_attribute WHERE attrelid = 'events'::"
                             "regclass AND attname = 'tidesync_version' AND attnotnull"),
            1);
  EXPECT_EQ(valid_version_indexes(db.url()), 3);
  EXPECT_TRUE(plan_version_tracking(db.url(), {testing::tracked("events")}).empty());

  apply_tracking_removal(db.url(), {testing::tracked("events")}, {.drop_columns = true});
  EXPECT_EQ(tidesync_objects(db.url()), before);
  EXPECT_EQ(pg_int(db.url(), "SELECT count(*) FROM events"), 1000);
}

TEST(OnlinePreparePartitioned, AnInterruptedIndexBuildResumesWithTheMissingPartitions) {
  testing::test_database db;
  create_events(db.url(), "");
  apply_version_tracking(db.url(), {testing::tracked("events")});
  // As a prepare killed after the first partition's build, before its attach.
  pg_exec(db.url(), "DROP INDEX tidesync_events_version;"
                    "CREATE INDEX tidesync_events_version ON ONLY events (tidesync_version, id, "
                    "region);"
                    "CREATE INDEX tidesync_events_1_version ON events_1 (tidesync_version, id, "
                    "region)");
  auto plan = plan_version_tracking(db.url(), {testing::tracked("events")});
  std::vector<std::string> expected{
    "ALTER INDEX \"tidesync_events_version\" ATTACH PARTITION \"tidesync_events_1_version\"",
    "CREATE INDEX CONCURRENTLY \"tidesync_events_2_version\" ON \"events_2\" "
    "(\"tidesync_version\", \"id\", \"region\")",
    "ALTER INDEX \"tidesync_events_version\" ATTACH PARTITION \"tidesync_events_2_version\""};
  EXPECT_EQ(plan, expected);
  apply_version_tracking(db.url(), {testing::tracked("events")});
  EXPECT_EQ(valid_version_indexes(db.url()), 3);
}

TEST(OnlinePreparePartitioned, APartitionPartitionedItselfIsRefusedBeforeAnythingRuns) {
  testing::test_database db;
  pg_exec(db.url(), "CREATE TABLE events (id int, region int, day int, PRIMARY KEY (id, region, "
                    "day)) PARTITION BY LIST (region);"
                    "CREATE TABLE events_1 PARTITION OF events FOR VALUES IN (1) "
                    "PARTITION BY LIST (day);");
  EXPECT_THROW(apply_version_tracking(db.url(), {testing::tracked("events")}), storage_error);
  EXPECT_EQ(pg_int(db.url(), "SELECT count(*) FROM pg_attribute WHERE attname = "
                             "'tidesync_version'"),
            0);
}

} // namespace
} // namespace tidesync::storage
