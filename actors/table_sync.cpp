#include "actors/table_sync.hpp"

#include "actors/blocking_pool.hpp"
#include "actors/table_sync_detail.hpp"
#include "actors/wire_body.hpp"
#include "metrics/agent_metrics.hpp"
#include "storage/state_store.hpp"
#include "sync/catch_up_plan.hpp"
#include "sync/decision.hpp"
#include "sync/load_progress.hpp"

#include <spdlog/spdlog.h>

#include <chrono>
#include <cmath>
#include <future>
#include <memory>
#include <utility>

namespace tidesync::actors {

using detail::cycle_error;
using detail::cycle_stopped;

table_sync::table_sync(table_sync_parts parts) : parts_(std::move(parts)) {
  report_.database = parts_.database;
  report_.table = parts_.table.name;
  sources_ = parts_.sources;
  if (!sources_)
    sources_ = std::make_shared<source_pool>(parts_.open_source, 1);
}

table_sync::~table_sync() = default;

table_report table_sync::run_cycle(const table_cycle& cycle) {
  report_ = table_report{};
  report_.database = parts_.database;
  report_.table = table_name();
  full_pass_ = cycle.full_pass;
  cycle_started_ = std::chrono::steady_clock::now();
  pass_completed_ = false;
  digest_clean_ = true;
  std::optional<source_pool::loan> source;
  bool stopped = false;
  try {
    source.emplace(sources_->borrow());
    source_ = &**source;
    run_steps(cycle);
    report_.state = final_state(cycle.full_pass);
    show_end_of_cycle();
    report_.quiet = report_.state == table_state::in_sync && report_.rows_uploaded == 0 &&
                    report_.rows_deleted == 0 && report_.rows_repaired == 0 && !verify_running_;
    if (parts_.metrics) {
      auto now = std::chrono::system_clock::now().time_since_epoch();
      parts_.metrics->set_last_success(std::chrono::duration<double>(now).count());
    }
  } catch (const cycle_stopped&) {
    report_.state = table_state::syncing;
    stopped = true;
  } catch (const storage::storage_error& e) {
    report_.state = table_state::error;
    report_.error = e.what();
    if (parts_.metrics) {
      parts_.metrics->add_error(metrics::error_kind::source);
      parts_.metrics->set_phase(metrics::table_phase::error);
    }
    if (e.code() == storage::storage_errc::unavailable) {
      source_lost(e);
      if (source)
        source->discard();
    } else {
      spdlog::error("{}.{}: local source: {}", parts_.database, table_name(), e.what());
    }
  } catch (const std::exception& e) {
    report_.state = table_state::error;
    report_.error = e.what();
    if (parts_.metrics)
      parts_.metrics->set_phase(metrics::table_phase::error);
    spdlog::error("{}.{}: {}", parts_.database, table_name(), e.what());
  }
  source_ = nullptr;
  report_skipped_rows();
  // For `tidesync status`: why the table fails, or that it no longer does
  // (a stopped cycle says neither). Written only when it changes.
  if (report_.state == table_state::error)
    save_error(report_.error);
  else if (!stopped)
    save_error(std::nullopt);
  return report_;
}

void table_sync::save_error(const std::optional<std::string>& error) {
  try {
    parts_.state->set_table_error(parts_.database, table_name(), error);
  } catch (const std::exception& e) {
    spdlog::warn("{}.{}: saving the table's error for status failed: {}", parts_.database,
                 table_name(), e.what());
  }
}

void table_sync::run_steps(const table_cycle& cycle) {
  database_id_ = cycle.database_id;
  // Taken first: a transaction that commits after this point has a version
  // at or above it, so the next cycle's late-commit window will see it.
  const auto mark = source_->safe_version();
  prepare_schema(cycle.remote.has_value());
  remote_ = cycle.remote.value_or(protocol::table_version{});
  remote_stale_ = false;
  // An upload resumes after its cursor within a cycle only: by the next one
  // the server may have lost rows (a new store, a restore) that a cursor
  // carried over would step past. Without it the upload starts from the
  // server's own maximum, which the cycle's summary has just said.
  last_uploaded_.reset();
  load_upload_resume();
  if (!cursor_loaded_) {
    if (auto text = parts_.state->scan_cursor(parts_.database, table_name()))
      cursor_ = sync::scan_cursor::from_string(*text).value_or(sync::scan_cursor{});
    cursor_loaded_ = true;
  }
  retry_skipped_rows();
  catch_late_commits(parts_.state->safe_version_mark(parts_.database, table_name()));
  const bool cloud_was_empty = remote_.count == 0;
  recounted_ = false;
  recount_last_page_ = cycle.full_pass && cloud_was_empty;
  catch_up(!cycle.full_pass);
  recount_last_page_ = false;
  if (cycle.full_pass) {
    if (!(cloud_was_empty && report_.rows_uploaded > 0 && loaded_whole_table(mark))) {
      digest_pass();
      catch_up(false);
    }
  } else {
    verify_slice();
  }
  // Logged once the source served a whole cycle: a table whose first
  // statements work and a later one times out on a lock is still down.
  if (source_down_) {
    source_down_ = false;
    spdlog::info("{}.{}: local source reachable again", parts_.database, table_name());
  }
  // An idle table's mark rarely moves: write only what changed.
  if (saved_mark_ != mark) {
    parts_.state->set_safe_version_mark(parts_.database, table_name(), mark);
    saved_mark_ = mark;
  }
}

void table_sync::source_lost(const storage::storage_error& error) {
  // One line when the source goes away; the cycles that find it still gone are debug detail.
  spdlog::log(source_down_ ? spdlog::level::debug : spdlog::level::warn,
              "{}.{}: local source unavailable, reconnecting next cycle: {}", parts_.database,
              table_name(), error.what());
  source_down_ = true;
}

void table_sync::catch_up(bool allow_scan) {
  for (;;) {
    if (parts_.stop->stop_requested())
      throw cycle_stopped{};
    if (remote_stale_)
      refresh_remote();
    auto local = source_->summary(table_name(), schema_);
    last_decision_ = sync::decide(local, remote_);
    caught_up_ = last_decision_ == sync::sync_decision::equal || explained_by_skipped(local);
    show_decision(local);
    switch (last_decision_) {
      case sync::sync_decision::equal:
        clear_upload_resume();  // an upload finished before its record was cleared
        return;
      case sync::sync_decision::behind:
        delete_behind(local);
        break;
      case sync::sync_decision::ahead:
        // Full pages follow one another without reading either summary
        // again, so a large load costs no count per batch; the page that
        // comes back short ends the run and the loop decides afresh.
        if (!upload_ahead(local, true))
          return;
        break;
      case sync::sync_decision::scan:
        // An upload a restart interrupted goes on where it was acknowledged.
        if (resume_from_ && upload_ahead(local, true))
          break;
        // Same max version but an upload of that version still under way (one
        // transaction's rows span several batches): continue it before scanning.
        if (last_uploaded_ && upload_ahead(local, false))
          break;
        last_uploaded_.reset();
        if (!allow_scan || pass_completed_ || explained_by_skipped(local))
          return;
        scan_batch();
        break;
    }
  }
}

bool table_sync::upload_ahead(const protocol::table_version& local, bool follow_full_pages) {
  std::optional<storage::row_position> after;
  std::optional<std::int64_t> min_version;
  if (resume_from_) {
    // Pages after it may be on the server already: sent again, they change nothing.
    after = storage::row_position{resume_from_->version, resume_from_->key};
    resume_from_.reset();
  } else if (auto start = sync::upload_start(local, remote_, last_uploaded_); start && start->key) {
    after = storage::row_position{start->version, *start->key};
  } else if (start) {
    min_version = start->version + 1;
  }
  auto rows = read_page(after, min_version, static_cast<std::int64_t>(parts_.sizer->next_size()));
  if (rows.empty())
    return false;  // every row above the remote version is skipped
  // A long load says how far it is at a steady pace, not per batch.
  const auto expected = std::max<std::int64_t>(local.count - remote_.count, 0);
  sync::load_progress progress{expected, sync::load_progress::clock::now(),
                               parts_.progress_every};
  const auto uploaded_before = report_.rows_uploaded;
  bool told = false;
  if (parts_.metrics && follow_full_pages)
    parts_.metrics->add_expected_rows(expected);
  const auto tell_progress = [&](bool finished) {
    progress.add(report_.rows_uploaded - uploaded_before - progress.done());
    const auto now = sync::load_progress::clock::now();
    if (finished) {
      if (told)
        spdlog::info("{}.{}: loaded {} rows in {} ({} rows/s)", parts_.database, table_name(),
                     progress.done(), sync::duration_text(progress.seconds_since_start(now)),
                     std::llround(progress.rate(now)));
    } else if (progress.due(now)) {
      told = true;
      spdlog::info("{}.{}: loading: {}", parts_.database, table_name(), progress.describe(now));
    }
  };
  // Pipelined: while one page uploads on the upload pool, this thread reads
  // and encodes the next. Only one page is ever in flight, and the resume position moves
  // only when its upload is acknowledged, so the server's maximum never
  // passes a page that did not arrive.
  std::future<void> sending;
  const auto finish_sending = [&] {
    if (sending.valid())
      std::exchange(sending, {}).get();  // rethrows the upload's failure
  };
  // An error while the upload runs waits for it first: it uses this page and this table_sync.
  unwind_wait unwind_guard{sending};
  auto body = encode_page(rows);
  for (;;) {
    auto last = storage::position_of(schema_, rows.back());
    const bool full = last_page_full_;
    if (!skipped_keys_.empty()) {
      // Rows already skipped are retried on their own each cycle, not in batches.
      const auto read = rows.size();
      std::erase_if(rows, [&](const storage::text_row& row) {
        return is_skipped(storage::position_of(schema_, row).key);
      });
      if (rows.size() != read)
        body = {};
    }
    const bool more = follow_full_pages && full && !parts_.stop->stop_requested();
    // Asked before the upload starts: the batch-size actor is not asked from two threads at once.
    const auto next_limit = more ? static_cast<std::int64_t>(parts_.sizer->next_size()) : 0;
    // The end of a load into an empty cloud copy: counted from the data by
    // the server as it lands, so loaded_whole_table needs no recount request.
    body.recount = recount_last_page_ && !full && body.json_bytes > 0;
    auto page = std::make_shared<ahead_page>(ahead_page{std::move(rows), std::move(body)});
    if (parts_.uploads != nullptr)
      sending = parts_.uploads->submit([this, page] { send_rows(page->rows, page->body); });
    else
      send_rows(page->rows, page->body);
    if (more) {
      rows = read_page(last, std::nullopt, next_limit);
      body = encode_page(rows);
    }
    finish_sending();
    last_uploaded_ = sync::row_position{last.version, last.key};
    tell_progress(false);
    // A load that spans pages can resume here after a restart (a single
    // full page sent while a version's upload continues, too); one that
    // reached its end leaves nothing to resume.
    if (!full || (more && rows.empty()))
      clear_upload_resume();
    else
      save_upload_resume();
    if (!more || rows.empty()) {
      if (more)
        last_page_full_ = false;
      tell_progress(true);
      return true;
    }
    if (parts_.stop->stop_requested())
      throw cycle_stopped{};
  }
}

void table_sync::load_upload_resume() {
  if (!resume_loaded_) {
    if (auto text = parts_.state->upload_resume(parts_.database, table_name()))
      saved_resume_ = sync::upload_resume::from_string(*text);
    resume_loaded_ = true;
  }
  resume_from_.reset();
  if (!saved_resume_)
    return;
  resume_from_ = sync::resume_position(*saved_resume_, remote_);
  // One the server no longer matches is dropped for good: were it kept, a
  // count that grew back later would pass for the old one.
  if (!resume_from_)
    clear_upload_resume();
}

void table_sync::save_upload_resume() {
  saved_resume_ = sync::upload_resume{*last_uploaded_, remote_};
  parts_.state->set_upload_resume(parts_.database, table_name(), saved_resume_->to_string());
}

void table_sync::clear_upload_resume() {
  resume_from_.reset();
  if (!saved_resume_)
    return;  // the usual case: no state write
  saved_resume_.reset();
  parts_.state->set_upload_resume(parts_.database, table_name(), std::nullopt);
}

std::vector<storage::text_row>
table_sync::read_page(const std::optional<storage::row_position>& after,
                      std::optional<std::int64_t> min_version, std::int64_t limit) {
  auto rows = source_->read_rows(table_name(), schema_, after, min_version, limit);
  last_page_full_ = static_cast<std::int64_t>(rows.size()) == limit;
  return rows;
}

void table_sync::delete_behind(const protocol::table_version& local) {
  auto request = sync::behind_delete(local);
  auto answer = with_retry("delete", [&] {
    return parts_.remote->delete_rows(database_id_, remote_table(), delete_bulk_body(request));
  });
  if (!answer.status.ok())
    fail("delete", answer.status);
  recounted_ = false;
  remote_stale_ = true;
  report_.rows_deleted += answer.value;
  if (parts_.metrics)
    parts_.metrics->add_rows_deleted(answer.value);
  last_uploaded_.reset();
  clear_upload_resume();
  cursor_.reset();
  save_cursor();
  spdlog::info("{}.{}: the server is ahead of the site (restored backup?): deleted {} remote "
               "rows {}", parts_.database, table_name(), answer.value,
               request.all ? std::string{"(all)"}
                           : "above version " + std::to_string(request.above_version));
}

void table_sync::refresh_remote() {
  auto answer = with_retry("read remote summary", [&] {
    return parts_.remote->table_summary(database_id_, remote_table());
  });
  if (!answer.status.ok())
    fail("read remote summary", answer.status);
  remote_ = answer.value.value_or(protocol::table_version{});
  remote_stale_ = false;
}

bool table_sync::explained_by_skipped(const protocol::table_version& local) const {
  // The rows held as skipped are exactly what the server is missing: no scan
  // needed (they are retried on their own at the start of every cycle).
  if (skipped_keys_.empty())
    return false;
  auto adjusted = local;
  adjusted.count -= static_cast<std::int64_t>(skipped_keys_.size());
  return sync::decide(adjusted, remote_) == sync::sync_decision::equal;
}

// The state gauges follow each decision: a long load shows `ahead` from its
// first page, a restored site `behind`, a differencing scan `scanning`.
void table_sync::show_decision(const protocol::table_version& local) {
  local_count_ = local.count;
  if (!parts_.metrics)
    return;
  using sync::sync_decision;
  auto versions = local.max_version.value_or(0) - remote_.max_version.value_or(0);
  parts_.metrics->set_lag_versions(last_decision_ == sync_decision::ahead ? versions : 0);
  switch (last_decision_) {
    case sync_decision::equal:
      break;  // the end of the cycle says whether it is equal or quarantined
    case sync_decision::ahead:
      parts_.metrics->set_phase(metrics::table_phase::ahead);
      break;
    case sync_decision::behind:
      parts_.metrics->set_phase(metrics::table_phase::behind);
      break;
    case sync_decision::scan:
      parts_.metrics->set_phase(metrics::table_phase::scanning);
      break;
  }
}

// A cycle that ended without an error: equal, quarantined, or still at
// work (its last decision's state stays).
void table_sync::show_end_of_cycle() {
  if (!parts_.metrics)
    return;
  if (report_.state == table_state::in_sync)
    parts_.metrics->set_equal(cycle_started_);
  else if (report_.state == table_state::skipped)
    parts_.metrics->set_phase(metrics::table_phase::quarantined);
  else
    parts_.metrics->refresh_lag();  // the versions stay as decided
}

void table_sync::show_compared(std::int64_t rows, std::int64_t ranges, bool pass_done) {
  pass_rows_ = pass_done ? 0 : pass_rows_ + rows;
  if (!parts_.metrics)
    return;
  parts_.metrics->add_compared(rows, ranges);
  parts_.metrics->set_compare_progress(
    local_count_ > 0 ? static_cast<double>(pass_rows_) / static_cast<double>(local_count_) : 0.0);
}

table_state table_sync::final_state(bool full_pass) {
  if (!skipped_keys_.empty())
    return table_state::skipped;
  if (last_decision_ == sync::sync_decision::equal && (!full_pass || pass_completed_) &&
      digest_clean_)
    return table_state::in_sync;
  return table_state::syncing;
}

void table_sync::fail(const char* what, const call_status& status) {
  if (parts_.metrics)
    parts_.metrics->add_error(reached_no_server(status) ? metrics::error_kind::network
                                                        : metrics::error_kind::server);
  auto message = std::string{what} + " failed";
  if (status.http_status)
    message += " (HTTP " + std::to_string(status.http_status) + ")";
  throw cycle_error(message + ": " + status.message);
}

} // namespace tidesync::actors
