#include "storage/state_store.hpp"

#include "storage/source.hpp"
#include "storage/sqlite_db.hpp"
#include "tests/integration/sources/source_fixtures.hpp"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <algorithm>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <stdexcept>
#include <string>
#include <thread>
#include <sys/wait.h>
#include <unistd.h>

namespace tidesync::storage {
namespace {

TEST(StateStore, ValuesSurviveReopening) {
  testing::temp_directory dir;
  auto state_dir = (dir.path() / "nested" / "state").string();
  {
    state_store store{state_dir};
    store.set_database_id("store-01", "8a6e0804-2bd0-4672-b79d-d97027f9071a");
    store.set_scan_cursor("store-01", "orders", std::string{"{\"v\":7}"});
    store.set_safe_version_mark("store-01", "orders", 9'000'000'000);
    store.set_batch_history("store-01", "orders", "500,1000");
    store.set_schema_hash("store-01", "orders", "abc");
    store.set_scan_cursor("store-01", "orders", std::string{"{\"v\":8}"});
  }
  state_store store{state_dir};
  EXPECT_EQ(store.path(), state_dir + "/agent-state.db");
  EXPECT_EQ(store.database_id("store-01"), "8a6e0804-2bd0-4672-b79d-d97027f9071a");
  EXPECT_EQ(store.database_id("store-02"), std::nullopt);
  EXPECT_EQ(store.scan_cursor("store-01", "orders"), "{\"v\":8}");
  EXPECT_EQ(store.safe_version_mark("store-01", "orders"), 9'000'000'000);
  EXPECT_EQ(store.batch_history("store-01", "orders"), "500,1000");
  EXPECT_EQ(store.schema_hash("store-01", "orders"), "abc");
  EXPECT_EQ(store.schema_hash("store-01", "items"), std::nullopt);
  store.set_scan_cursor("store-01", "orders", std::nullopt);
  EXPECT_EQ(store.scan_cursor("store-01", "orders"), std::nullopt);
  EXPECT_EQ(store.batch_history("store-01", "orders"), "500,1000");
}

TEST(StateStore, AStateFileFromBeforeUploadResumesGainsTheColumnAndKeepsItsValues) {
  testing::temp_directory dir;
  auto state_dir = dir.path().string();
  {
    // table_state as state files were written before upload_resume existed.
    sqlite_db old{(dir.path() / state_store::file_name).string(),
                  SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE};
    old.exec("CREATE TABLE table_state (database TEXT NOT NULL, table_name TEXT NOT NULL, "
             "scan_cursor TEXT, safe_version_mark INTEGER, batch_history TEXT, schema_hash TEXT, "
             "PRIMARY KEY (database, table_name));"
             "INSERT INTO table_state (database, table_name, safe_version_mark) "
             "VALUES ('store-01', 'orders', 77)",
             "write an old state file");
  }
  {
    state_store store{state_dir};
    EXPECT_EQ(store.safe_version_mark("store-01", "orders"), 77);
    EXPECT_EQ(store.upload_resume("store-01", "orders"), std::nullopt);
    store.set_upload_resume("store-01", "orders", std::string{"v1 1 2 3 0"});
  }
  state_store store{state_dir};
  EXPECT_EQ(store.upload_resume("store-01", "orders"), "v1 1 2 3 0");
  store.set_upload_resume("store-01", "orders", std::nullopt);
  EXPECT_EQ(store.upload_resume("store-01", "orders"), std::nullopt);
}

TEST(StateStore, AClearedDatabaseIdIsGoneAfterReopeningAndOthersStay) {
  testing::temp_directory dir;
  {
    state_store store{dir.path().string()};
    store.set_database_id("store-01", "8a6e0804-2bd0-4672-b79d-d97027f9071a");
    store.set_database_id("store-02", "0d1f2c3e-0000-4000-8000-000000000002");
    store.set_scan_cursor("store-01", "orders", std::string{"{\"v\":7}"});
    EXPECT_TRUE(store.clear_database_id("store-01"));
    EXPECT_FALSE(store.clear_database_id("store-01"));
    EXPECT_FALSE(store.clear_database_id("never-registered"));
  }
  state_store store{dir.path().string()};
  EXPECT_EQ(store.database_id("store-01"), std::nullopt);
  EXPECT_EQ(store.database_id("store-02"), "0d1f2c3e-0000-4000-8000-000000000002");
  // Only the id goes: the table state of the database stays.
  EXPECT_EQ(store.scan_cursor("store-01", "orders"), "{\"v\":7}");
  store.set_database_id("store-01", "5b1c9a70-0000-4000-8000-000000000003");
  EXPECT_EQ(store.database_id("store-01"), "5b1c9a70-0000-4000-8000-000000000003");
}

TEST(StateStore, SkippedRowsCanBeAddedListedRemovedAndCleared) {
  testing::temp_directory dir;
  state_store store{dir.path().string()};
  store.add_skipped_row("db", "orders", "[1]", 10, "bad date");
  store.add_skipped_row("db", "orders", "[2]", 11, "bad text");
  store.add_skipped_row("db", "items", "[\"a\",1]", 12, "too long");
  store.add_skipped_row("db", "orders", "[1]", 13, "still bad");

  auto orders = store.skipped_rows("db", "orders");
  ASSERT_EQ(orders.size(), 2u);
  auto first = orders[0].key_json == "[1]" ? orders[0] : orders[1];
  EXPECT_EQ(first.attempts, 2);
  EXPECT_EQ(first.version, 13);
  EXPECT_EQ(first.reason, "still bad");
  EXPECT_FALSE(first.first_seen.empty());
  EXPECT_EQ(store.skipped_rows("db").size(), 3u);

  EXPECT_TRUE(store.remove_skipped_row("db", "orders", "[2]"));
  EXPECT_FALSE(store.remove_skipped_row("db", "orders", "[2]"));
  EXPECT_EQ(store.skipped_rows("db", "orders").size(), 1u);
  EXPECT_EQ(store.clear_skipped_rows("db", "orders"), 1);
  EXPECT_EQ(store.skipped_rows("db").size(), 1u);
  EXPECT_EQ(store.clear_skipped_rows("db"), 1);
  EXPECT_TRUE(store.skipped_rows("db").empty());
}

TEST(StateStore, AStateDirectoryThatCannotBeCreatedGivesAClearError) {
  testing::temp_directory dir;
  auto blocker = dir.path() / "file";
  std::ofstream{blocker} << "not a directory";
  try {
    state_store store{(blocker / "state").string()};
    FAIL() << "expected an error";
  } catch (const storage_error& e) {
    EXPECT_NE(std::string{e.what()}.find("state directory"), std::string::npos) << e.what();
  }
}

// A child process that writes to the state in a directory as fast as it
// can, each write acknowledged with its number on a pipe, until killed.
class killed_writer {
public:
  killed_writer(const std::filesystem::path& dir,
                const std::function<void(state_store&, std::int64_t)>& write,
                bool write_behind) {
    int acks[2];
    if (::pipe(acks) != 0)
      throw std::runtime_error("pipe failed");
    child_ = ::fork();
    if (child_ < 0)
      throw std::runtime_error("fork failed");
    if (child_ == 0) {
      ::close(acks[0]);
      state_store store{dir.string()};
      if (write_behind)
        store.write_behind(std::chrono::milliseconds{50}, nullptr);
      for (std::int64_t i = 1;; ++i) {
        write(store, i);
        if (::write(acks[1], &i, sizeof i) != sizeof i)
          ::_exit(1);
      }
    }
    ::close(acks[1]);
    acks_ = acks[0];
  }
  ~killed_writer() { kill(); }

  /// The number of the next acknowledged write; 0 when the child is gone.
  std::int64_t next_ack() {
    std::int64_t number = 0;
    if (::read(acks_, &number, sizeof number) != static_cast<ssize_t>(sizeof number))
      return 0;
    return last_ = number;
  }

  /// Kills the child; answers the last write it acknowledged, read or not:
  /// the pipe holds thousands of acknowledgements the test has not read yet
  /// when the child runs ahead (a loaded machine), and the child may have
  /// made those writes before it died.
  std::int64_t kill() {
    if (child_ <= 0)
      return last_;
    ::kill(child_, SIGKILL);
    ::waitpid(child_, nullptr, 0);
    for (std::int64_t number = 0;
         ::read(acks_, &number, sizeof number) == static_cast<ssize_t>(sizeof number);)
      last_ = number;
    ::close(acks_);
    child_ = 0;
    return last_;
  }

private:
  pid_t child_ = 0;
  int acks_ = -1;
  std::int64_t last_ = 0;
};

TEST(StateStore, AKillNineLosesNoAcknowledgedWrite) {
  testing::temp_directory dir;
  state_store{dir.path().string()};  // create the file before the child writes
  killed_writer writer{dir.path(),
                       [](state_store& store, std::int64_t i) {
                         store.set_safe_version_mark("db", "orders", i);
                         store.add_skipped_row("db", "orders", "[" + std::to_string(i) + "]", i,
                                               "bad");
                       },
                       false};
  std::int64_t acknowledged = 0;
  for (int n = 0; n < 200; ++n)
    ASSERT_GT(acknowledged = writer.next_ack(), 0);
  writer.kill();

  state_store store{dir.path().string()};
  EXPECT_GE(store.safe_version_mark("db", "orders").value_or(0), acknowledged);
  EXPECT_GE(static_cast<std::int64_t>(store.skipped_rows("db", "orders").size()), acknowledged);
}

// Rows of table_state as another connection sees the file.
std::int64_t committed_rows(const std::filesystem::path& dir) {
  sqlite_db db{(dir / state_store::file_name).string(), SQLITE_OPEN_READONLY};
  sqlite_statement st{db, "SELECT count(*) FROM table_state", "count committed rows"};
  EXPECT_TRUE(st.step());
  return st.column_int(0);
}

TEST(StateStore, WithWriteBehindProgressIsReadAtOnceAndCommittedInOneGo) {
  testing::temp_directory dir;
  state_store store{dir.path().string()};
  store.write_behind(std::chrono::hours{1}, nullptr);  // only flush() commits here
  for (int t = 0; t < 3; ++t) {
    auto table = "t" + std::to_string(t);
    store.set_safe_version_mark("db", table, 9'000'000'000 + t);
    store.set_upload_resume("db", table, std::string{"resume " + table});
    store.set_batch_history("db", table, "500");
  }
  store.set_upload_resume("db", "t1", std::nullopt);  // a later record replaces the held one
  store.set_database_id("db", "id-1");                // not a progress record: written at once
  EXPECT_EQ(store.safe_version_mark("db", "t2"), 9'000'000'002);
  EXPECT_EQ(store.upload_resume("db", "t0"), "resume t0");
  EXPECT_EQ(store.upload_resume("db", "t1"), std::nullopt);
  EXPECT_EQ(store.unflushed(), 9u);
  EXPECT_EQ(committed_rows(dir.path()), 0);
  EXPECT_EQ(state_store::read_snapshot(dir.path().string()).database_ids.at("db"), "id-1");

  store.flush();
  EXPECT_EQ(store.unflushed(), 0u);
  EXPECT_EQ(committed_rows(dir.path()), 3);
  EXPECT_EQ(store.upload_resume("db", "t1"), std::nullopt);
  EXPECT_EQ(store.safe_version_mark("db", "t2"), 9'000'000'002);
}

TEST(StateStore, TheWriterCommitsHeldProgressWithinItsIntervalAndTheDestructorTheRest) {
  testing::temp_directory dir;
  {
    state_store store{dir.path().string()};
    store.write_behind(std::chrono::milliseconds{20}, nullptr);
    store.set_scan_cursor("db", "orders", std::string{"{\"v\":1}"});
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{30};
    while (committed_rows(dir.path()) == 0 && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds{10});
    EXPECT_EQ(committed_rows(dir.path()), 1);
  }
  {
    state_store store{dir.path().string()};
    store.write_behind(std::chrono::hours{1}, nullptr);
    store.set_schema_hash("db", "items", "abc");
  }  // the destructor commits what the writer has not
  state_store store{dir.path().string()};
  EXPECT_EQ(store.scan_cursor("db", "orders"), "{\"v\":1}");
  EXPECT_EQ(store.schema_hash("db", "items"), "abc");
}

TEST(StateStore, AKillNineWithWriteBehindLosesOnlyTheLastIntervalsProgress) {
  testing::temp_directory dir;
  state_store{dir.path().string()};
  killed_writer writer{dir.path(),
                       [](state_store& store, std::int64_t i) {
                         store.set_safe_version_mark("db", "orders", i);
                       },
                       true};
  std::int64_t acknowledged = 0;
  for (int n = 0; n < 200; ++n)
    ASSERT_GT(acknowledged = writer.next_ack(), 0);
  // Marks acknowledged this long before the kill are committed: the writer
  // commits every 50 ms (the margin is for a loaded machine).
  const auto early = acknowledged;
  auto kill_at = std::chrono::steady_clock::now() + std::chrono::seconds{2};
  while (std::chrono::steady_clock::now() < kill_at)
    ASSERT_GT(writer.next_ack(), 0);
  acknowledged = writer.kill();

  state_store store{dir.path().string()};
  auto saved = store.safe_version_mark("db", "orders").value_or(0);
  EXPECT_GE(saved, early);
  EXPECT_LE(saved, acknowledged + 1);  // never a mark that was not set
}

TEST(StateStore, TheStateFileIsInWalMode) {
  testing::temp_directory dir;
  state_store store{dir.path().string()};
  store.set_database_id("db", "id");
  EXPECT_TRUE(std::filesystem::exists(dir.path() / "agent-state.db-wal"));
}

TEST(StateStoreSnapshot, ReadsTheIdsAndSkippedRowsAnOpenStoreWrote) {
  testing::temp_directory dir;
  state_store store{dir.path().string()};
  store.set_database_id("store-01", "8a6e0804-2bd0-4672-b79d-d97027f9071a");
  store.add_skipped_row("store-01", "orders", "[1]", 10, "bad date");
  store.add_skipped_row("store-02", "items", "[\"a\"]", 11, "too long");

  auto snapshot = state_store::read_snapshot(dir.path().string());
  EXPECT_EQ(snapshot.database_ids,
            (std::map<std::string, std::string>{
              {"store-01", "8a6e0804-2bd0-4672-b79d-d97027f9071a"}}));
  ASSERT_EQ(snapshot.skipped_rows.size(), 2u);
  auto expected = store.skipped_rows("store-01");
  expected.push_back(store.skipped_rows("store-02").at(0));
  // Oldest first, but both may carry the same first_seen second: compare as sets.
  auto by_database = [](const skipped_row& a, const skipped_row& b) { return a.database < b.database; };
  std::sort(snapshot.skipped_rows.begin(), snapshot.skipped_rows.end(), by_database);
  EXPECT_EQ(snapshot.skipped_rows, expected);
}

TEST(StateStoreSnapshot, AMissingStateFileIsAnEmptySnapshotAndIsNotCreated) {
  testing::temp_directory dir;
  auto state_dir = dir.path() / "state";
  auto snapshot = state_store::read_snapshot(state_dir.string());
  EXPECT_TRUE(snapshot.database_ids.empty());
  EXPECT_TRUE(snapshot.skipped_rows.empty());
  EXPECT_FALSE(std::filesystem::exists(state_dir));
}

TEST(StateStoreSnapshot, AClosedStateFileIsReadWithoutLeavingWalOrShmFiles) {
  testing::temp_directory dir;
  {
    state_store store{dir.path().string()};
    store.set_database_id("store-01", "id-1");
  }
  auto file = dir.path() / state_store::file_name;
  auto wal = file, shm = file;
  wal += "-wal";
  shm += "-shm";
  ASSERT_FALSE(std::filesystem::exists(wal));
  auto modified = std::filesystem::last_write_time(file);

  auto snapshot = state_store::read_snapshot(dir.path().string());
  EXPECT_EQ(snapshot.database_ids.at("store-01"), "id-1");
  EXPECT_FALSE(std::filesystem::exists(wal));
  EXPECT_FALSE(std::filesystem::exists(shm));
  EXPECT_EQ(std::filesystem::last_write_time(file), modified);
}

TEST(StateStoreSnapshot, AFileThatIsNotSqliteIsAStorageError) {
  testing::temp_directory dir;
  std::ofstream{dir.path() / state_store::file_name} << "not a database, long enough to be read";
  EXPECT_THROW(state_store::read_snapshot(dir.path().string()), storage_error);
}

} // namespace
} // namespace tidesync::storage
