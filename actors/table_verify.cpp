// The content-digest pass of table_sync: what catches everything equal
// counts and versions hide (rewound versions, writes made in the store by
// other means, a missed change).
#include "actors/table_sync.hpp"

#include "actors/table_sync_detail.hpp"
#include "actors/wire_body.hpp"
#include "storage/state_store.hpp"
#include "sync/decision.hpp"

#include <spdlog/spdlog.h>

namespace tidesync::actors {

namespace {

// Repair, then walk the ranges that differed again, at most this many times.
constexpr int max_repair_rounds = 3;

} // namespace

digest_call table_sync::digest_caller() {
  return [this](const protocol::digest_request& request) {
    if (parts_.stop->stop_requested())
      throw detail::cycle_stopped{};
    auto answer = with_retry("compare digests", [&] {
      return parts_.remote->digests(database_id_, remote_table(), schema_, request);
    });
    if (!answer.status.ok())
      fail("compare digests", answer.status);
    return answer.value;
  };
}

void table_sync::drop_skipped(sync::content_diff& diff) const {
  // Rows held as skipped are missing on purpose; they are retried on their own.
  std::erase_if(diff.missing, [&](const auto& key) { return is_skipped(key); });
  std::erase_if(diff.different, [&](const auto& key) { return is_skipped(key); });
}

void table_sync::digest_pass() {
  refresh_remote();
  digest_walk walk{*source_, table_name(), schema_, digest_caller(), {}, parts_.uploads};
  auto result = walk.run(std::nullopt, 0);
  show_compared(result.rows_compared, result.ranges_compared, true);
  drop_skipped(result.diff);
  bool found = !result.diff.empty();
  for (int round = 1; round <= max_repair_rounds; ++round) {
    if (result.diff.empty())
      break;
    repair(result.diff);
    if (round == max_repair_rounds) {
      digest_clean_ = false;
      break;
    }
    result = walk.run_ranges(result.differing);
    drop_skipped(result.diff);
  }
  finish_verify_pass(found);
  pass_completed_ = true;
  report_.scan_pass_completed = true;
  report_.digest_pass_completed = true;
  spdlog::info("{}.{}: content digest pass completed{}", parts_.database, table_name(),
               found ? ", differences repaired" : ": identical");
}

bool table_sync::verify_due() const {
  auto now = std::chrono::steady_clock::now();
  return now - verify_done_at_.value_or(started_at_) >= parts_.verify_interval;
}

void table_sync::verify_slice() {
  if (!verify_running_) {
    if (!caught_up_ || !verify_due())
      return;
    verify_running_ = true;
    verify_next_.reset();
    verify_found_ = false;
  }
  digest_walk walk{*source_, table_name(), schema_, digest_caller(), {}, parts_.uploads};
  auto result = walk.run(verify_next_, parts_.verify_slice_rows);
  show_compared(result.rows_compared, result.ranges_compared, !result.next);
  drop_skipped(result.diff);
  if (!result.diff.empty()) {
    verify_found_ = true;
    repair(result.diff);
  }
  verify_next_ = result.next;
  if (verify_next_)
    return;
  verify_running_ = false;
  verify_done_at_ = std::chrono::steady_clock::now();
  finish_verify_pass(verify_found_);
  report_.digest_pass_completed = true;
  spdlog::log(verify_found_ ? spdlog::level::info : spdlog::level::debug,
              "{}.{}: content digest pass completed{}", parts_.database, table_name(),
              verify_found_ ? ", differences repaired" : ": identical");
}

void table_sync::repair(const sync::content_diff& diff) {
  spdlog::info("{}.{}: content digests differ: {} rows missing in the cloud, {} extra, {} "
               "different; repairing",
               parts_.database, table_name(), diff.missing.size(), diff.extra.size(),
               diff.different.size());
  report_.rows_repaired += static_cast<std::int64_t>(diff.size());
  delete_keys(diff.extra);
  std::vector<sync::row_key> upload = diff.missing;
  upload.insert(upload.end(), diff.different.begin(), diff.different.end());
  upload_keys(upload);
  remote_stale_ = true;
}

bool table_sync::loaded_whole_table(std::int64_t mark) {
  // A full pass compares content to find what differs between two copies.
  // When this pass found the cloud copy empty and wrote every row it holds,
  // what could differ is what changed at the site meanwhile, and each change
  // has a cheaper net: rows that committed late below the upload's position
  // (the late-commit window from this pass's own mark), deletes (the
  // differencing scan on the counts), newer versions (the catch-up). The
  // server then counts its rows from the data: rows nothing here sent (a
  // summary that said 0 wrongly) would make the counts differ.
  // The load's own catch-up has just found the two summaries equal. Each
  // count of the site table is a scan of it, so they are compared again only
  // when something moved since: the server's summary, or a late commit written.
  const bool stale = remote_stale_;
  if (stale)
    refresh_remote();
  const auto written = report_.rows_uploaded + report_.rows_deleted;
  catch_late_commits(mark);
  if (stale || report_.rows_uploaded + report_.rows_deleted != written ||
      last_decision_ != sync::sync_decision::equal) {
    catch_up(true);
    if (last_decision_ != sync::sync_decision::equal)
      return false;
  }
  // The load's last upload had the server count its summary from the data,
  // and the catch-up compared the site's count with that, unless something
  // was written after it: then the server counts again now.
  if (!recounted_) {
    auto answer = with_retry("recount", [&] {
      return parts_.remote->recount(database_id_, remote_table());
    });
    if (!answer.status.ok())
      fail("recount", answer.status);
    remote_ = answer.value;
    remote_stale_ = false;
    recounted_ = true;
    auto local = source_->summary(table_name(), schema_);
    if (sync::decide(local, remote_) != sync::sync_decision::equal)
      return false;
  }
  pass_completed_ = true;
  report_.scan_pass_completed = true;
  spdlog::info("{}.{}: loaded whole into an empty cloud copy by this pass and recounted equal: "
               "no content digest pass needed", parts_.database, table_name());
  return true;
}

void table_sync::finish_verify_pass(bool found_differences) {
  // The version GETs answer from a summary the store maintains on every API
  // write; writes made another way leave it wrong. The digests told the
  // truth, so when they found something, or the summaries still disagree,
  // the server recounts from the data.
  refresh_remote();
  auto local = source_->summary(table_name(), schema_);
  if (!found_differences && sync::decide(local, remote_) == sync::sync_decision::equal)
    return;
  if (!found_differences && explained_by_skipped(local))
    return;
  auto answer = with_retry("recount", [&] {
    return parts_.remote->recount(database_id_, remote_table());
  });
  if (!answer.status.ok())
    fail("recount", answer.status);
  if (answer.value.count != remote_.count || answer.value.max_version != remote_.max_version)
    spdlog::warn("{}.{}: the cloud's summary was wrong (count {} → {}): recounted from the data",
                 parts_.database, table_name(), remote_.count, answer.value.count);
  remote_ = answer.value;
  remote_stale_ = false;
}

} // namespace tidesync::actors
