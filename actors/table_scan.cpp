// The differencing scan and the late-commit window of table_sync.
#include "actors/table_sync.hpp"

#include "actors/table_sync_detail.hpp"
#include "actors/wire_body.hpp"
#include "metrics/agent_metrics.hpp"
#include "protocol/cell_codec.hpp"
#include "protocol/manifest_cursor.hpp"
#include "storage/state_store.hpp"
#include "sync/decision.hpp"
#include "sync/manifest_diff.hpp"

#include <boost/json/value.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>

namespace tidesync::actors {

namespace {

// Page size for manifests and local key reads that must be read whole.
constexpr std::int64_t key_page_rows = 10'000;

// Keys per DELETE request and per read_rows_by_keys call.
constexpr std::size_t keys_per_request = 1'000;

std::optional<storage::row_position> storage_position(const std::optional<sync::row_position>& p) {
  if (!p)
    return std::nullopt;
  return storage::row_position{p->version, p->key};
}

} // namespace

bool table_sync::scan_batch() {
  auto requested = parts_.sizer->next_size();
  auto keys = source_->read_keys(table_name(), schema_, std::nullopt, std::nullopt,
                                 static_cast<std::int64_t>(requested),
                                 storage_position(cursor_.window_start()));
  std::vector<sync::row_position> local;
  local.reserve(keys.size());
  for (auto& entry : keys)
    local.push_back({entry.version, std::move(entry.key)});
  auto window = cursor_.window_for(local, requested, *order_);
  auto range = sync::manifest_range(window);
  // Room for the window's entries plus some the site no longer has, in one page.
  auto page_rows = std::min<std::int64_t>(2 * static_cast<std::int64_t>(requested) + 1,
                                          key_page_rows);
  auto remote = remote_manifest(range, window, page_rows);
  auto diff = sync::diff_manifest(local, remote, window, *order_);
  std::vector<sync::row_key> upload;
  for (auto& position : diff.uploads)
    if (!is_skipped(position.key))
      upload.push_back(std::move(position.key));
  if (!diff.remote_deletes.empty() || !upload.empty()) {
    spdlog::info("{}.{}: differencing scan: {} remote rows to delete, {} rows to upload",
                 parts_.database, table_name(), diff.remote_deletes.size(), upload.size());
    delete_keys(diff.remote_deletes);
    upload_keys(upload);
  }
  bool wrapped = cursor_.advance(window);
  save_cursor();
  show_compared(static_cast<std::int64_t>(local.size()), 1, wrapped);
  if (wrapped) {
    pass_completed_ = true;
    report_.scan_pass_completed = true;
  }
  return wrapped;
}

void table_sync::catch_late_commits(std::optional<std::int64_t> mark) {
  // A mark above the remote maximum: no transaction was running when it was
  // taken, so nothing can commit below what the server has (the idle case
  // costs nothing here).
  if (!mark || !remote_.max_version || *mark > *remote_.max_version)
    return;
  // A transaction was running: compare the window even when the summaries are
  // equal, because a late UPDATE changes neither count nor maximum version.
  auto remote = remote_manifest({*mark, *remote_.max_version});
  std::sort(remote.begin(), remote.end(), *order_);
  std::vector<sync::row_key> missing;
  std::optional<storage::row_position> after;
  for (;;) {
    auto keys = source_->read_keys(table_name(), schema_, *mark, *remote_.max_version,
                                   key_page_rows, after);
    for (auto& entry : keys) {
      sync::row_position position{entry.version, entry.key};
      if (!std::binary_search(remote.begin(), remote.end(), position, *order_) &&
          !is_skipped(entry.key))
        missing.push_back(entry.key);
    }
    if (static_cast<std::int64_t>(keys.size()) < key_page_rows)
      break;
    after = storage::row_position{keys.back().version, keys.back().key};
  }
  if (missing.empty())
    return;
  spdlog::info("{}.{}: {} rows committed late below version {}, uploading them",
               parts_.database, table_name(), missing.size(), *remote_.max_version);
  upload_keys(missing);
}

std::vector<sync::row_position> table_sync::remote_manifest(const sync::version_range& range,
                                                            const sync::scan_window& window,
                                                            std::int64_t page_rows) {
  std::vector<sync::row_position> entries;
  // Start right after the window instead of at its first version: one
  // transaction's rows (e.g. a whole backfilled table) can share a version.
  std::optional<std::string> after;
  if (window.after)
    after = manifest_after(*window.after);
  do {
    auto answer = with_retry("read manifest", [&] {
      return parts_.remote->manifest(database_id_, remote_table(), schema_, range.min_version,
                                     range.max_version, page_rows, after);
    });
    if (!answer.status.ok())
      fail("read manifest", answer.status);
    std::move(answer.value.entries.begin(), answer.value.entries.end(),
              std::back_inserter(entries));
    after = answer.value.next;
    // Entries past the window's end belong to later batches.
    if (window.through && !entries.empty() && order_->compare(entries.back(), *window.through) > 0)
      break;
  } while (after);
  return entries;
}

std::string table_sync::manifest_after(const sync::row_position& position) const {
  auto types = key_types(schema_);
  std::vector<boost::json::value> cells;
  for (std::size_t i = 0; i < position.key.size() && i < types.size(); ++i)
    cells.push_back(protocol::cell_from_pg_text(position.key[i], types[i]));
  return protocol::encode_cursor(position.version, cells);
}

void table_sync::upload_keys(const std::vector<sync::row_key>& keys) {
  for (std::size_t first = 0; first < keys.size(); first += keys_per_request) {
    auto last = std::min(keys.size(), first + keys_per_request);
    std::vector<storage::key_cells> chunk(keys.begin() + first, keys.begin() + last);
    auto rows = source_->read_rows_by_keys(table_name(), schema_, chunk);
    send_rows(rows);
  }
}

void table_sync::delete_keys(const std::vector<sync::row_key>& keys) {
  for (std::size_t first = 0; first < keys.size(); first += keys_per_request) {
    auto last = std::min(keys.size(), first + keys_per_request);
    auto body = delete_keys_body(schema_, std::span{keys}.subspan(first, last - first));
    auto answer = with_retry("delete rows", [&] {
      return parts_.remote->delete_rows(database_id_, remote_table(), body);
    });
    if (!answer.status.ok())
      fail("delete rows", answer.status);
    recounted_ = false;
    remote_stale_ = true;
    report_.rows_deleted += answer.value;
    if (parts_.metrics)
      parts_.metrics->add_rows_deleted(answer.value);
  }
}

void table_sync::save_cursor() {
  parts_.state->set_scan_cursor(parts_.database, table_name(), cursor_.to_string());
}

} // namespace tidesync::actors
