#include "actors/table_sync.hpp"

#include "actors/blocking_pool.hpp"

#include "storage/state_store.hpp"
#include "tests/unit/actors/fakes.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <thread>
#include <unistd.h>

namespace tidesync::testing {

namespace {

using actors::table_state;

constexpr const char* database_id = "db-store";

std::filesystem::path fresh_directory() {
  static std::atomic<int> counter{0};
  auto path = std::filesystem::temp_directory_path() /
              ("tidesync-actors-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
  std::filesystem::remove_all(path);
  return path;
}

class TableSync : public ::testing::Test {
protected:
  void SetUp() override {
    site_->tables["orders"];
    for (int id = 1; id <= 20; ++id)
      site_->put("orders", id, "order " + std::to_string(id));
  }

  void TearDown() override { std::filesystem::remove_all(state_dir_); }

  /// Rows 21..200 at one version, as a table `prepare` backfilled (the
  /// server's maximum version then says nothing about how far a load got),
  /// and a load of them in pages of 8 whose fifth page fails for good: the
  /// server keeps the first 32 rows.
  void interrupt_a_load_of_one_version(actors::batch_sizer& pages_of_8) {
    const auto version = site_->begin_transaction();
    for (int id = 21; id <= 200; ++id)
      site_->commit("orders", id, "order " + std::to_string(id), version);
    server_->failing_ids = {36};
    ASSERT_EQ(make_sync(&pages_of_8)->run_cycle({database_id, std::nullopt, false}).state,
              table_state::error);
    ASSERT_EQ(server_->rows(database_id, "orders").size(), 32u);
    server_->failing_ids.clear();
    server_->upload_first_ids.clear();
  }

  /// Orders 21..last after SetUp's twenty, one version each.
  void add_orders(int last) {
    for (int id = 21; id <= last; ++id)
      site_->put("orders", id, "order " + std::to_string(id));
  }

  std::unique_ptr<actors::table_sync> make_sync(
      actors::batch_sizer* sizer = nullptr,
      std::chrono::milliseconds verify_interval = config::default_verify_interval) {
    actors::table_sync_parts parts;
    parts.verify_interval = verify_interval;
    parts.database = "store";
    parts.table.name = "orders";
    parts.open_source = [site = site_] { return std::make_unique<fake_source>(site); };
    parts.remote = std::make_unique<fake_remote>(server_);
    parts.uploads = &uploads_;
    if (compress_)
      parts.coding = coding_;
    parts.sizer = sizer ? sizer : &sizer_;
    parts.state = &state_;
    parts.stop = &stop_;
    parts.retry = {std::chrono::milliseconds(1), std::chrono::milliseconds(5)};
    return std::make_unique<actors::table_sync>(std::move(parts));
  }

  actors::table_report cycle(actors::table_sync& sync, bool full_pass = false) {
    actors::table_cycle request{database_id, std::nullopt, full_pass};
    {
      std::lock_guard lock{server_->mutex};
      auto& tables = server_->databases[database_id];
      if (auto found = tables.find("orders"); found != tables.end()) {
        protocol::table_version summary;
        summary.count = static_cast<std::int64_t>(found->second.size());
        for (const auto& [id, row] : found->second)
          summary.max_version = std::max(summary.max_version.value_or(0), row.version);
        request.remote = summary;
      }
    }
    return sync.run_cycle(request);
  }

  bool compress_ = false;
  std::shared_ptr<actors::body_coding> coding_ = std::make_shared<actors::body_coding>(true);
  // Every test runs the pipelined upload path the agent runs.
  actors::blocking_pool uploads_{2, "ts-upload"};
  std::filesystem::path state_dir_ = fresh_directory();
  storage::state_store state_{state_dir_.string()};
  actors::policy_batch_sizer sizer_{{1, 4, 8}, &state_, "store", "orders"};
  actors::stop_signal stop_;
  std::shared_ptr<fake_site> site_ = std::make_shared<fake_site>();
  std::shared_ptr<fake_server> server_ = std::make_shared<fake_server>();
};

TEST_F(TableSync, AnAheadTableUploadsEveryRowInBatchesWithinOneCycle) {
  auto sync = make_sync();
  auto report = cycle(*sync);
  EXPECT_EQ(report.state, table_state::in_sync) << report.error;
  EXPECT_EQ(report.rows_uploaded, 20);
  EXPECT_EQ(server_->rows(database_id, "orders").size(), 20u);
  EXPECT_GT(server_->calls_of("upload"), 1);
}

TEST_F(TableSync, ALargeUploadReadsNeitherSummaryPerBatch) {
  add_orders(200);
  std::atomic<int> local_summaries{0};
  site_->on_summary = [&](const std::string&) { ++local_summaries; };
  actors::policy_batch_sizer fixed{{8, 8, 8}, nullptr, "store", "orders"};
  auto sync = make_sync(&fixed);
  auto report = cycle(*sync);
  EXPECT_EQ(report.state, table_state::in_sync) << report.error;
  EXPECT_EQ(report.rows_uploaded, 200);
  EXPECT_EQ(server_->rows(database_id, "orders").size(), 200u);
  // 25 pages of 8: one summary before them, one after the short (empty) page.
  EXPECT_GE(server_->calls_of("upload"), 25);
  EXPECT_LE(local_summaries.load(), 3);
  EXPECT_LE(server_->calls_of("table_summary"), 2);
}

// Waits until `done` holds or 10 s have passed; answers `done()`.
template <class Condition>
bool wait_until(Condition done) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!done() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  return done();
}

TEST_F(TableSync, TheNextPageIsReadWhileThePreviousOneUploads) {
  add_orders(200);
  std::atomic<int> pages_read{0};
  site_->on_read_rows = [&](const std::string&) { ++pages_read; };
  std::atomic<bool> overlapped{false};
  server_->on_upload = [&](std::int64_t first_id) {
    // The first page's upload is held until the second page has been read:
    // one after the other, that read would never come.
    if (first_id == 1)
      overlapped = wait_until([&] { return pages_read.load() >= 2; });
  };
  actors::policy_batch_sizer fixed{{8, 8, 8}, nullptr, "store", "orders"};
  auto sync = make_sync(&fixed);
  auto report = cycle(*sync);
  EXPECT_TRUE(overlapped);
  EXPECT_EQ(report.state, table_state::in_sync) << report.error;
  EXPECT_EQ(server_->rows(database_id, "orders").size(), 200u);
  EXPECT_EQ(server_->most_uploads_in_flight, 1);
}

TEST_F(TableSync, APageThatFailsEndsTheCycleAndNoLaterPageCountsAsDone) {
  add_orders(200);
  server_->failing_ids = {20};  // in the third page of 8
  actors::policy_batch_sizer fixed{{8, 8, 8}, nullptr, "store", "orders"};
  auto sync = make_sync(&fixed);
  auto report = cycle(*sync);
  EXPECT_EQ(report.state, table_state::error);
  EXPECT_NE(report.error.find("401"), std::string::npos) << report.error;
  // The fourth page was read while the third uploaded, and is never sent.
  EXPECT_EQ(server_->upload_first_ids, (std::vector<std::int64_t>{1, 9, 17}));
  auto stored = server_->rows(database_id, "orders");
  ASSERT_EQ(stored.size(), 16u);
  EXPECT_EQ(stored.rbegin()->first, 16);
  // The next cycle starts at the page that failed, so nothing is left out.
  server_->failing_ids.clear();
  server_->upload_first_ids.clear();
  report = cycle(*sync);
  EXPECT_EQ(report.state, table_state::in_sync) << report.error;
  EXPECT_EQ(server_->rows(database_id, "orders").size(), 200u);
  ASSERT_FALSE(server_->upload_first_ids.empty());
  EXPECT_EQ(server_->upload_first_ids.front(), 17);
}

TEST_F(TableSync, APageThatFailsForAWhileIsSentAgainBeforeAnyLaterPage) {
  add_orders(200);
  server_->transient_ids = {{36, 3}};  // in the fifth page of 8
  actors::policy_batch_sizer fixed{{8, 8, 8}, nullptr, "store", "orders"};
  auto sync = make_sync(&fixed);
  auto report = cycle(*sync);
  EXPECT_EQ(report.state, table_state::in_sync) << report.error;
  EXPECT_EQ(server_->rows(database_id, "orders").size(), 200u);
  // Pages stored in order, each once: the retried page before any after it.
  std::vector<std::int64_t> expected;
  for (std::int64_t first = 1; first <= 200; first += 8)
    expected.push_back(first);
  EXPECT_EQ(server_->stored_first_ids, expected);
  EXPECT_EQ(server_->calls_of("upload"), static_cast<int>(expected.size()) + 3);
  EXPECT_EQ(server_->most_uploads_in_flight, 1);
}

TEST_F(TableSync, WithCompressionEachPageIsSentAsZstdAndArrivesWhole) {
  for (int id = 1; id <= 200; ++id)
    site_->put("orders", id, "order " + std::to_string(id) + " " + std::string(40, 'x'));
  compress_ = true;
  actors::policy_batch_sizer fixed{{50, 50, 50}, nullptr, "store", "orders"};
  auto sync = make_sync(&fixed);
  auto report = cycle(*sync);
  EXPECT_EQ(report.state, table_state::in_sync) << report.error;
  EXPECT_EQ(server_->zstd_uploads, 4);
  EXPECT_EQ(server_->gzipped_uploads, 0);
  auto stored = server_->rows(database_id, "orders");
  ASSERT_EQ(stored.size(), 200u);
  EXPECT_EQ(stored.at(200).note, "order 200 " + std::string(40, 'x'));
}

TEST_F(TableSync, AServerWithoutZstdGetsTheRefusedPageAgainInGzipAndEveryLaterOneToo) {
  for (int id = 1; id <= 200; ++id)
    site_->put("orders", id, "order " + std::to_string(id) + " " + std::string(40, 'x'));
  compress_ = true;
  server_->refused_codings = {protocol::content_coding::zstd};
  actors::policy_batch_sizer fixed{{50, 50, 50}, nullptr, "store", "orders"};
  auto sync = make_sync(&fixed);
  auto report = cycle(*sync);
  EXPECT_EQ(report.state, table_state::in_sync) << report.error;
  // The first page was refused once, then it and the pages read after it
  // went as gzip (one page was already encoded as zstd while the first was
  // refused: it is refused and sent again too).
  EXPECT_GE(server_->refused_coding_uploads, 1);
  EXPECT_LE(server_->refused_coding_uploads, 2);
  EXPECT_EQ(server_->gzipped_uploads, 4);
  EXPECT_EQ(server_->zstd_uploads, 0);
  EXPECT_EQ(coding_->current(), protocol::content_coding::gzip);
  auto stored = server_->rows(database_id, "orders");
  ASSERT_EQ(stored.size(), 200u);
  EXPECT_EQ(stored.at(1).note, "order 1 " + std::string(40, 'x'));
  EXPECT_EQ(stored.at(200).note, "order 200 " + std::string(40, 'x'));
}

TEST_F(TableSync, AServerThatReadsNoCodingGetsPlainBodies) {
  for (int id = 1; id <= 100; ++id)
    site_->put("orders", id, "order " + std::to_string(id) + " " + std::string(40, 'x'));
  compress_ = true;
  server_->refused_codings = {protocol::content_coding::zstd, protocol::content_coding::gzip};
  actors::policy_batch_sizer fixed{{50, 50, 50}, nullptr, "store", "orders"};
  auto sync = make_sync(&fixed);
  auto report = cycle(*sync);
  EXPECT_EQ(report.state, table_state::in_sync) << report.error;
  EXPECT_EQ(coding_->current(), protocol::content_coding::identity);
  EXPECT_EQ(server_->gzipped_uploads + server_->zstd_uploads, 0);
  EXPECT_EQ(server_->rows(database_id, "orders").size(), 100u);
}

TEST_F(TableSync, AFullPassThatLoadsAnEmptyCloudCopyNeedsNoDigestPass) {
  auto sync = make_sync();
  std::atomic<int> counts{0};
  site_->on_summary = [&](const std::string&) { ++counts; };
  auto report = cycle(*sync, true);
  // Each count of the site table is a scan of it: one before the load, one
  // that finds it equal after, none again while nothing moved.
  EXPECT_EQ(counts, 2);
  EXPECT_EQ(report.state, table_state::in_sync) << report.error;
  EXPECT_EQ(report.rows_uploaded, 20);
  EXPECT_FALSE(report.digest_pass_completed);
  EXPECT_EQ(server_->calls_of("digests"), 0);
  // The load's one page had the server count its summary as it landed: no
  // recount request of its own.
  EXPECT_EQ(server_->recounting_uploads, 1);
  EXPECT_EQ(server_->calls_of("recount"), 0);
  // The next full pass finds a cloud copy it did not write: it compares content.
  report = cycle(*sync, true);
  EXPECT_EQ(report.state, table_state::in_sync) << report.error;
  EXPECT_TRUE(report.digest_pass_completed);
}

TEST_F(TableSync, AnUpdateCommittedLateDuringALoadArrivesWithoutADigestPass) {
  // A transaction holds version 21 open while rows 21..204 commit after it
  // (204: the last of the 8-row pages is short, so the load ends on it).
  const auto open = site_->begin_transaction();
  add_orders(204);
  std::atomic<int> pages_read{0};
  site_->on_read_rows = [&](const std::string&) {
    // Once the upload has passed version 21 it updates row 5, already sent:
    // count and maximum stay the same, so only the late-commit window sees it.
    if (++pages_read == 4)
      site_->commit("orders", 5, "updated late", open);
  };
  actors::policy_batch_sizer fixed{{8, 8, 8}, nullptr, "store", "orders"};
  auto sync = make_sync(&fixed);
  auto report = cycle(*sync, true);
  EXPECT_EQ(report.state, table_state::in_sync) << report.error;
  EXPECT_FALSE(report.digest_pass_completed);
  auto stored = server_->rows(database_id, "orders");
  ASSERT_EQ(stored.size(), 204u);
  EXPECT_EQ(stored.at(5).note, "updated late");
  EXPECT_EQ(stored.at(5).version, open);
  // The late row was written after the recounted last page: counted again.
  EXPECT_EQ(server_->recounting_uploads, 1);
  EXPECT_EQ(server_->calls_of("recount"), 1);
}

TEST_F(TableSync, ARowDeletedDuringALoadIsDeletedInTheCloudWithoutADigestPass) {
  add_orders(200);
  std::atomic<int> pages_read{0};
  site_->on_read_rows = [&](const std::string&) {
    if (++pages_read == 4)
      site_->erase("orders", 2);  // sent with the first page
  };
  actors::policy_batch_sizer fixed{{8, 8, 8}, nullptr, "store", "orders"};
  auto sync = make_sync(&fixed);
  auto report = cycle(*sync, true);
  EXPECT_EQ(report.state, table_state::in_sync) << report.error;
  EXPECT_FALSE(report.digest_pass_completed);
  auto stored = server_->rows(database_id, "orders");
  EXPECT_EQ(stored.size(), 199u);
  EXPECT_EQ(stored.count(2), 0u);
}

TEST_F(TableSync, ACloudCopyHoldingRowsItsSummaryDidNotCountGetsTheDigestPass) {
  {
    std::lock_guard lock{server_->mutex};
    server_->databases[database_id]["orders"][1000] = fake_row{"stray", 1};
    server_->uncounted_ids = {1000};
  }
  auto sync = make_sync();
  // The summary the cycle starts from says the cloud copy is empty.
  auto report = sync->run_cycle({database_id, protocol::table_version{}, true});
  // What revealed the row: the last page's count from the data, then the
  // differencing scan deleted it (without the count, only a digest pass would).
  EXPECT_EQ(server_->recounting_uploads, 1);
  EXPECT_EQ(report.state, table_state::in_sync) << report.error;
  EXPECT_EQ(report.rows_deleted, 1);
  auto stored = server_->rows(database_id, "orders");
  EXPECT_EQ(stored.size(), 20u);
  EXPECT_EQ(stored.count(1000), 0u);
}

TEST_F(TableSync, ALoadOfOneVersionInterruptedByARestartGoesOnAfterItsLastAcknowledgedPage) {
  actors::policy_batch_sizer fixed{{8, 8, 8}, nullptr, "store", "orders"};
  ASSERT_NO_FATAL_FAILURE(interrupt_a_load_of_one_version(fixed));
  EXPECT_TRUE(state_.upload_resume("store", "orders"));
  // A new table_sync, as after a restart: it starts at the fifth page.
  auto report = cycle(*make_sync(&fixed));
  EXPECT_EQ(report.state, table_state::in_sync) << report.error;
  EXPECT_EQ(server_->rows(database_id, "orders").size(), 200u);
  ASSERT_FALSE(server_->upload_first_ids.empty());
  EXPECT_EQ(server_->upload_first_ids.front(), 33);
  EXPECT_EQ(server_->calls_of("manifest"), 0);  // no differencing scan needed
  EXPECT_FALSE(state_.upload_resume("store", "orders"));  // cleared once done
}

TEST_F(TableSync, AResumedLoadStoppedBeforeItsFirstPageKeepsItsPlace) {
  actors::policy_batch_sizer fixed{{8, 8, 8}, nullptr, "store", "orders"};
  ASSERT_NO_FATAL_FAILURE(interrupt_a_load_of_one_version(fixed));
  // The restarted agent is stopped (SIGTERM) as it reads its first page: no
  // batch starts after a stop, and the place the load had reached stays.
  site_->on_read_rows = [this](const std::string&) { stop_.request_stop(); };
  EXPECT_EQ(cycle(*make_sync(&fixed)).state, table_state::syncing);
  EXPECT_EQ(server_->rows(database_id, "orders").size(), 32u);
  EXPECT_TRUE(state_.upload_resume("store", "orders"));
  site_->on_read_rows = nullptr;
  stop_.reset();
  server_->upload_first_ids.clear();
  auto report = cycle(*make_sync(&fixed));
  EXPECT_EQ(report.state, table_state::in_sync) << report.error;
  EXPECT_EQ(server_->rows(database_id, "orders").size(), 200u);
  ASSERT_FALSE(server_->upload_first_ids.empty());
  EXPECT_EQ(server_->upload_first_ids.front(), 33);
  EXPECT_EQ(server_->calls_of("manifest"), 0);
}

TEST_F(TableSync, AnUploadRecordTheServerNoLongerMatchesIsDropped) {
  actors::policy_batch_sizer fixed{{8, 8, 8}, nullptr, "store", "orders"};
  ASSERT_NO_FATAL_FAILURE(interrupt_a_load_of_one_version(fixed));
  {
    // The cloud store is replaced by an empty one.
    std::lock_guard lock{server_->mutex};
    server_->databases.clear();
  }
  auto report = cycle(*make_sync(&fixed));
  EXPECT_EQ(report.state, table_state::in_sync) << report.error;
  EXPECT_EQ(server_->rows(database_id, "orders").size(), 200u);
  ASSERT_FALSE(server_->upload_first_ids.empty());
  EXPECT_EQ(server_->upload_first_ids.front(), 1);
  EXPECT_FALSE(state_.upload_resume("store", "orders"));
}

TEST_F(TableSync, AnEqualTableMakesNoCallsAtAll) {
  auto sync = make_sync();
  ASSERT_EQ(cycle(*sync).state, table_state::in_sync);
  auto before = server_->total_calls();
  auto report = cycle(*sync);
  EXPECT_EQ(report.state, table_state::in_sync);
  EXPECT_EQ(server_->total_calls(), before);
}

TEST_F(TableSync, ATransientFailureNeverSkipsRowsAndTheBatchIsSentAgain) {
  server_->transient_uploads = 3;
  auto sync = make_sync();
  auto report = cycle(*sync);
  EXPECT_EQ(report.state, table_state::in_sync) << report.error;
  EXPECT_EQ(report.skipped_rows, 0);
  EXPECT_TRUE(state_.skipped_rows("store", "orders").empty());
  EXPECT_EQ(server_->rows(database_id, "orders").size(), 20u);
  int transient = 0;
  for (const auto& outcome : sizer_.policy().history())
    transient += outcome.kind == sync::outcome_kind::transient;
  EXPECT_EQ(transient, 3);
}

TEST_F(TableSync, ARejectionAtTheMinimumSizeSkipsAndRecordsOnlyTheBadRow) {
  server_->poison_ids = {7};
  auto sync = make_sync();
  auto report = cycle(*sync);
  EXPECT_EQ(report.state, table_state::skipped);
  EXPECT_EQ(report.skipped_rows, 1);
  EXPECT_EQ(report.rows_uploaded, 19);
  auto skipped = state_.skipped_rows("store", "orders");
  ASSERT_EQ(skipped.size(), 1u);
  EXPECT_EQ(skipped[0].key_json, "[7]");
  EXPECT_NE(skipped[0].reason.find("poison"), std::string::npos);
  EXPECT_EQ(server_->rows(database_id, "orders").count(7), 0u);
}

TEST_F(TableSync, ABodyTooLargeAtTheMinimumSizeGoesRowByRowAndOnlyAnOversizedRowIsSkipped) {
  // Two rows fit in a body but the smallest batch is four.
  server_->max_upload_rows = 2;
  server_->oversized_ids = {7};
  actors::policy_batch_sizer sizer{{4, 4, 8}, &state_, "store", "orders"};
  auto sync = make_sync(&sizer);
  auto report = cycle(*sync);
  EXPECT_EQ(report.state, table_state::skipped) << report.error;
  EXPECT_EQ(report.rows_uploaded, 19);
  auto skipped = state_.skipped_rows("store", "orders");
  ASSERT_EQ(skipped.size(), 1u);
  EXPECT_EQ(skipped[0].key_json, "[7]");
  EXPECT_NE(skipped[0].reason.find("max_body_bytes"), std::string::npos);
  EXPECT_EQ(server_->rows(database_id, "orders").size(), 19u);
}

TEST_F(TableSync, ASkippedRowIsRetriedEveryCycleAndForgottenOnceAccepted) {
  server_->poison_ids = {7};
  auto sync = make_sync();
  ASSERT_EQ(cycle(*sync).state, table_state::skipped);
  EXPECT_EQ(cycle(*sync).state, table_state::skipped);
  EXPECT_EQ(state_.skipped_rows("store", "orders").at(0).attempts, 2);
  {
    std::lock_guard lock{server_->mutex};
    server_->poison_ids.clear();
  }
  auto report = cycle(*sync);
  EXPECT_EQ(report.state, table_state::in_sync) << report.error;
  EXPECT_TRUE(state_.skipped_rows("store", "orders").empty());
  EXPECT_EQ(server_->rows(database_id, "orders").count(7), 1u);
}

TEST_F(TableSync, ASkippedRowAloneDoesNotStartADifferencingScanEveryCycle) {
  server_->poison_ids = {7};
  auto sync = make_sync();
  ASSERT_EQ(cycle(*sync).state, table_state::skipped);
  auto manifests = server_->calls_of("manifest");
  auto report = cycle(*sync);
  EXPECT_EQ(report.state, table_state::skipped);
  EXPECT_FALSE(report.scan_pass_completed);
  EXPECT_EQ(server_->calls_of("manifest"), manifests);
}

TEST_F(TableSync, ASkippedRowDeletedAtTheSourceIsForgotten) {
  server_->poison_ids = {7};
  auto sync = make_sync();
  ASSERT_EQ(cycle(*sync).state, table_state::skipped);
  site_->erase("orders", 7);
  auto report = cycle(*sync);
  EXPECT_EQ(report.skipped_rows, 0);
  EXPECT_TRUE(state_.skipped_rows("store", "orders").empty());
}

TEST_F(TableSync, ATableBehindTheServerDeletesTheNewerRemoteRows) {
  auto sync = make_sync();
  ASSERT_EQ(cycle(*sync).state, table_state::in_sync);
  {
    std::lock_guard lock{server_->mutex};
    server_->databases[database_id]["orders"][99] = fake_row{"from a newer life", 1000};
  }
  auto report = cycle(*sync);
  EXPECT_EQ(report.state, table_state::in_sync) << report.error;
  EXPECT_EQ(report.rows_deleted, 1);
  EXPECT_EQ(server_->rows(database_id, "orders").count(99), 0u);
}

TEST_F(TableSync, RowsTheServerLostAreUploadedAgainByTheSameRunningTable) {
  auto sync = make_sync();
  ASSERT_EQ(cycle(*sync).state, table_state::in_sync);
  ASSERT_EQ(server_->rows(database_id, "orders").size(), 20u);
  // A new store: every row and the declaration gone.
  {
    std::lock_guard lock{server_->mutex};
    server_->databases[database_id].clear();
  }
  auto report = cycle(*sync);
  EXPECT_EQ(report.state, table_state::in_sync) << report.error;
  EXPECT_EQ(report.rows_uploaded, 20);
  EXPECT_EQ(server_->rows(database_id, "orders").size(), 20u);
  // A restore from an older backup: the newest rows gone, the older kept.
  {
    std::lock_guard lock{server_->mutex};
    auto& rows = server_->databases[database_id]["orders"];
    for (auto it = rows.begin(); it != rows.end();)
      it = it->second.version > 12 ? rows.erase(it) : std::next(it);
  }
  report = cycle(*sync);
  EXPECT_EQ(report.state, table_state::in_sync) << report.error;
  EXPECT_EQ(report.rows_uploaded, 8);
  EXPECT_EQ(server_->rows(database_id, "orders").size(), 20u);
}

TEST_F(TableSync, AFullPassRepairsWhatEqualCountsAndVersionsHide) {
  auto sync = make_sync();
  ASSERT_EQ(cycle(*sync).state, table_state::in_sync);
  {
    // Same count, same max version, one row different: the summaries can't tell.
    std::lock_guard lock{server_->mutex};
    auto& rows = server_->databases[database_id]["orders"];
    auto version = rows.at(3).version;
    rows.erase(3);
    rows[300] = fake_row{"stray", version};
  }
  auto report = cycle(*sync, true);
  EXPECT_EQ(report.state, table_state::in_sync) << report.error;
  EXPECT_TRUE(report.scan_pass_completed);
  auto rows = server_->rows(database_id, "orders");
  EXPECT_EQ(rows.count(300), 0u);
  EXPECT_EQ(rows.count(3), 1u);
}

TEST_F(TableSync, AScanOverRowsSharingOneVersionReadsEachManifestEntryAboutOnce) {
  {
    // As `tidesync prepare` leaves a table: every existing row at one version.
    std::lock_guard lock{site_->mutex};
    auto& rows = site_->tables["orders"];
    for (int id = 1; id <= 400; ++id)
      rows[id] = fake_row{"row " + std::to_string(id), 1};
    site_->counter = 1;
  }
  auto sync = make_sync();
  ASSERT_EQ(cycle(*sync).state, table_state::in_sync);
  {
    // A remote row the site never had, last in the order: the scan walks everything to find it.
    std::lock_guard lock{server_->mutex};
    server_->databases[database_id]["orders"][1000] = fake_row{"stray", 1};
    server_->manifest_entries = 0;
  }
  auto report = cycle(*sync);
  EXPECT_EQ(report.state, table_state::in_sync) << report.error;
  EXPECT_EQ(report.rows_deleted, 1);
  EXPECT_TRUE(report.scan_pass_completed);
  EXPECT_GT(server_->calls_of("manifest"), 40);  // batches of at most 8 rows
  // Each batch's page holds up to twice its rows (room for rows the site no
  // longer has), so an entry is read a few times, never once per batch.
  EXPECT_LT(server_->manifest_entries, 4 * 400) << server_->calls_of("manifest");
}

TEST_F(TableSync, AContinuousCycleRepairsByDigestsOnceVerifyIsDueEvenWithSkippedRows) {
  server_->poison_ids = {5};
  auto sync = make_sync(nullptr, std::chrono::milliseconds(0));
  ASSERT_EQ(cycle(*sync).state, table_state::skipped);
  {
    // Same count, same versions: only the content tells.
    std::lock_guard lock{server_->mutex};
    server_->databases[database_id]["orders"][9].note = "edited in the cloud";
  }
  auto report = cycle(*sync);
  EXPECT_TRUE(report.digest_pass_completed);
  EXPECT_EQ(report.rows_repaired, 1);
  EXPECT_EQ(server_->rows(database_id, "orders").at(9).note, "order 9");
  EXPECT_EQ(server_->rows(database_id, "orders").count(5), 0u);  // still held back
}

TEST_F(TableSync, AContinuousCycleLeavesContentAloneUntilVerifyIsDue) {
  auto sync = make_sync();
  ASSERT_EQ(cycle(*sync).state, table_state::in_sync);
  {
    std::lock_guard lock{server_->mutex};
    server_->databases[database_id]["orders"][9].note = "edited in the cloud";
  }
  auto report = cycle(*sync);
  EXPECT_FALSE(report.digest_pass_completed);
  EXPECT_EQ(server_->calls_of("digests"), 0);
}

TEST_F(TableSync, AStopDuringBackoffEndsTheCycleWithoutSkippingAnything) {
  server_->transient_uploads = 1'000'000;
  auto sync = make_sync();
  std::thread stopper([this] {
    while (server_->calls_of("upload") < 3)
      std::this_thread::yield();
    stop_.request_stop();
  });
  auto report = cycle(*sync);
  stopper.join();
  EXPECT_EQ(report.state, table_state::syncing);
  EXPECT_TRUE(state_.skipped_rows("store", "orders").empty());
}

TEST_F(TableSync, TheBatchSizeHistorySurvivesARestart) {
  auto sync = make_sync();
  ASSERT_EQ(cycle(*sync).state, table_state::in_sync);
  actors::policy_batch_sizer restarted{{1, 4, 8}, &state_, "store", "orders"};
  EXPECT_EQ(restarted.next_size(), sizer_.next_size());
  EXPECT_EQ(restarted.policy().history(), sizer_.policy().history());
}

TEST_F(TableSync, AFullPassCycleGivesUpOnALastingOutageWithAnErrorAndNothingSkipped) {
  server_->transient_uploads = 1'000'000;
  auto sync = make_sync();
  auto report = cycle(*sync, true);
  EXPECT_EQ(report.state, table_state::error);
  EXPECT_NE(report.error.find("503"), std::string::npos) << report.error;
  EXPECT_TRUE(state_.skipped_rows("store", "orders").empty());
  EXPECT_TRUE(server_->rows(database_id, "orders").empty());
}

TEST_F(TableSync, TheLateCommitMarkIsSavedOnlyWhenACycleFinishes) {
  auto sync = make_sync();
  ASSERT_EQ(cycle(*sync).state, table_state::in_sync);
  EXPECT_EQ(state_.safe_version_mark("store", "orders"), 21);
  site_->put("orders", 21, "new");
  server_->transient_uploads = 1'000'000;
  stop_.request_stop();
  EXPECT_EQ(cycle(*sync).state, table_state::syncing);
  EXPECT_EQ(state_.safe_version_mark("store", "orders"), 21);
}

TEST_F(TableSync, AnUnreachableSourceIsAnErrorAndIsOpenedAgainNextCycle) {
  int opened = 0;
  actors::table_sync_parts parts;
  parts.database = "store";
  parts.table.name = "orders";
  parts.open_source = [&]() -> std::unique_ptr<storage::source> {
    if (++opened == 1)
      throw storage::storage_error(storage::storage_errc::unavailable, "site database is down");
    return std::make_unique<fake_source>(site_);
  };
  parts.remote = std::make_unique<fake_remote>(server_);
  parts.sizer = &sizer_;
  parts.state = &state_;
  parts.stop = &stop_;
  actors::table_sync sync{std::move(parts)};
  auto report = cycle(sync);
  EXPECT_EQ(report.state, table_state::error);
  EXPECT_NE(report.error.find("site database is down"), std::string::npos);
  EXPECT_EQ(cycle(sync).state, table_state::in_sync);
  EXPECT_EQ(opened, 2);
}

} // namespace

} // namespace tidesync::testing
