// Uploads of table_sync: batch sizing, skipping rejected rows, backoff.
#include "actors/table_sync.hpp"

#include "actors/body_coding.hpp"
#include "actors/row_quarantine.hpp"
#include "actors/table_sync_detail.hpp"
#include "actors/wire_body.hpp"
#include "metrics/agent_metrics.hpp"
#include "protocol/gzip.hpp"
#include "storage/state_store.hpp"

#include <spdlog/spdlog.h>

#include <chrono>

namespace tidesync::actors {

namespace {

// The server's answer to a body over its max_body_bytes.
constexpr int payload_too_large = 413;
// The server's answer to a Content-Encoding it does not read.
constexpr int unsupported_media = 415;

// Held or skipped rows a report (and so `--once`'s output) names one by one.
constexpr std::size_t reported_skipped_rows = 10;

sync::outcome_kind kind_of(const call_status& status) {
  switch (status.result) {
    case call_result::ok:
      return sync::outcome_kind::success;
    case call_result::rejected:
      return sync::outcome_kind::rejected;
    default:
      return sync::outcome_kind::transient;
  }
}

} // namespace

table_sync::page_body table_sync::encode_page(std::span<const storage::text_row> rows) const {
  for (const auto& row : rows)
    if (unencodable_reason(schema_, row))
      return {};  // send_rows holds it back and encodes the rest
  page_body body;
  body.bytes = upload_body(schema_, rows);
  body.json_bytes = body.bytes.size();
  compress(body);
  return body;
}

void table_sync::compress(page_body& body) const {
  // Compressed here, not by the HTTP client, so it happens off the upload's path.
  const auto coding = parts_.coding ? parts_.coding->current() : protocol::content_coding::identity;
  if (coding == protocol::content_coding::identity ||
      body.bytes.size() < protocol::request_gzip_min_bytes)
    return;
  body.bytes = protocol::compress_request_body(coding, body.bytes);
  body.coding = coding;
}

void table_sync::send_rows(std::span<const storage::text_row> rows, const page_body& body) {
  std::vector<storage::text_row> encodable;
  if (body.json_bytes == 0)
    rows = hold_back_unencodable(rows, encodable);
  std::size_t done = 0;
  std::size_t single_until = 0;  // rows before this index go one per request
  unsigned attempt = 0;
  while (done < rows.size()) {
    // Between batches only: a batch already sent is always finished.
    if (parts_.stop->stop_requested())
      throw detail::cycle_stopped{};
    const auto current = done < single_until ? std::size_t{1} : parts_.sizer->next_size();
    const auto batch = rows.subspan(done, std::min(current, rows.size() - done));
    // The page's own body serves while the batch is the whole page.
    const bool whole = body.json_bytes > 0 && batch.size() == rows.size();
    call_status status;
    const auto outcome = upload_batch(batch, status, whole ? &body : nullptr);
    if (status.ok()) {
      if (attempt > 0)
        log_recovery("upload", attempt);
      done += batch.size();
      attempt = 0;
    } else if (status.result == call_result::transient) {
      back_off("upload", status, ++attempt);
    } else if (sync::should_skip(outcome, current, parts_.sizer->min_size())) {
      if (status.http_status == payload_too_large && batch.size() > 1) {
        // A body over the server's limit says nothing about any one row: send
        // them one by one, and skip only a row too large on its own.
        single_until = done + batch.size();
      } else {
        skip_rows(batch, status.message);
        done += batch.size();
      }
    }
    // Otherwise rejected above the minimum: the policy shrank, send it again smaller.
  }
  if (parts_.metrics)
    parts_.metrics->set_batch_size(parts_.sizer->next_size());
}

sync::batch_outcome table_sync::upload_batch(std::span<const storage::text_row> batch,
                                             call_status& status, const page_body* encoded) {
  page_body own;
  if (encoded == nullptr) {
    own.bytes = upload_body(schema_, batch);
    own.json_bytes = own.bytes.size();
    compress(own);
  }
  const page_body& body = encoded != nullptr ? *encoded : own;
  const auto json_bytes = body.json_bytes;
  const auto started = std::chrono::steady_clock::now();
  const bool recount = encoded != nullptr && encoded->recount;
  auto answer = send_body(body, recount);
  auto refused = body.coding;
  page_body again;
  while (answer.status.http_status == unsupported_media && parts_.coding &&
         refused != protocol::content_coding::identity) {
    // A server that does not read this coding wrote nothing: the agent turns
    // to the next coding for every table, and this batch goes again in it.
    if (parts_.coding->fall_back_from(refused)) {
      auto next = protocol::header_value(parts_.coding->current());
      spdlog::warn("{}.{}: the server does not read {} request bodies ({}); sending {} from now on",
                   parts_.database, table_name(), protocol::header_value(refused),
                   answer.status.message, next.empty() ? "them uncompressed" : next);
    }
    again = {upload_body(schema_, batch), protocol::content_coding::identity, 0, recount};
    again.json_bytes = again.bytes.size();
    compress(again);
    refused = again.coding;
    answer = send_body(again, recount);
  }
  const auto elapsed = std::chrono::steady_clock::now() - started;
  status = answer.status;
  if (status.result == call_result::failed)
    fail("upload", status);
  const sync::batch_outcome outcome{
    batch.size(), json_bytes, std::chrono::duration_cast<std::chrono::milliseconds>(elapsed),
    kind_of(status)};
  parts_.sizer->record(outcome);
  const auto rows = static_cast<std::int64_t>(batch.size());
  if (parts_.metrics) {
    parts_.metrics->add_batch(sync::to_string(outcome.kind));
    if (status.result == call_result::rejected)
      parts_.metrics->add_error(metrics::error_kind::rejected);
  }
  if (status.ok()) {
    // The server answers its summary after the write: no request to read it.
    remote_ = answer.value;
    remote_stale_ = false;
    recounted_ = recount;  // any later write makes the count incremental again
    report_.rows_uploaded += rows;
    if (parts_.metrics)
      parts_.metrics->add_rows_uploaded(rows);
  }
  return outcome;
}

remote_answer<protocol::table_version> table_sync::send_body(const page_body& body,
                                                             bool recount) {
  const auto started = std::chrono::steady_clock::now();
  auto answer = body.coding == protocol::content_coding::identity
                  ? parts_.remote->upload(database_id_, remote_table(), body.bytes, recount)
                  : parts_.remote->upload_compressed(database_id_, remote_table(), body.bytes,
                                                     body.coding, recount);
  if (parts_.metrics) {
    parts_.metrics->observe_upload_seconds(
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
    parts_.metrics->add_body_bytes(body.json_bytes ? body.json_bytes : body.bytes.size(),
                                   body.bytes.size());
  }
  return answer;
}

std::span<const storage::text_row>
table_sync::hold_back_unencodable(std::span<const storage::text_row> rows,
                                  std::vector<storage::text_row>& kept) {
  // Checked before any batch is cut: a row the server would refuse must cost
  // neither a request nor a smaller batch for its neighbours.
  std::size_t first_bad = 0;
  std::optional<std::string> reason;
  for (; first_bad < rows.size(); ++first_bad)
    if ((reason = unencodable_reason(schema_, rows[first_bad])))
      break;
  if (!reason)
    return rows;  // the usual case: nothing copied
  kept.assign(rows.begin(), rows.begin() + static_cast<std::ptrdiff_t>(first_bad));
  hold_back(rows[first_bad], *reason);
  for (auto i = first_bad + 1; i < rows.size(); ++i) {
    if (auto refused = unencodable_reason(schema_, rows[i]))
      hold_back(rows[i], *refused);
    else
      kept.push_back(rows[i]);
  }
  if (parts_.metrics)
    parts_.metrics->set_quarantined_rows(static_cast<std::int64_t>(skipped_keys_.size()));
  return kept;
}

void table_sync::hold_back(const storage::text_row& row, const std::string& reason) {
  auto position = storage::position_of(schema_, row);
  auto key = quarantine_key(schema_, position.key);
  parts_.state->add_skipped_row(parts_.database, table_name(), key, position.version, reason);
  skipped_keys_.insert(key);
  spdlog::warn("{}.{}: row {} (version {}) cannot be encoded, holding it back: {}",
               parts_.database, table_name(), key, position.version, reason);
}

void table_sync::report_skipped_rows() {
  report_.skipped_rows = static_cast<std::int64_t>(skipped_keys_.size());
  report_.skipped.clear();
  if (skipped_keys_.empty())
    return;  // an idle table reads nothing more
  try {
    auto records = parts_.state->skipped_rows(parts_.database, table_name());
    for (std::size_t i = 0; i < records.size() && i < reported_skipped_rows; ++i)
      report_.skipped.push_back({records[i].key_json, records[i].reason});
  } catch (const storage::storage_error& e) {
    spdlog::warn("{}.{}: could not list skipped rows: {}", parts_.database, table_name(),
                 e.what());
  }
}

void table_sync::skip_rows(std::span<const storage::text_row> rows, const std::string& reason) {
  for (const auto& row : rows) {
    auto position = storage::position_of(schema_, row);
    auto key = quarantine_key(schema_, position.key);
    parts_.state->add_skipped_row(parts_.database, table_name(), key, position.version, reason);
    skipped_keys_.insert(key);
    spdlog::warn("{}.{}: server rejected row {} (version {}), skipping it for now: {}",
                 parts_.database, table_name(), key, position.version, reason);
  }
  if (parts_.metrics)
    parts_.metrics->set_quarantined_rows(static_cast<std::int64_t>(skipped_keys_.size()));
}

void table_sync::retry_skipped_rows() {
  auto records = parts_.state->skipped_rows(parts_.database, table_name());
  skipped_keys_.clear();
  std::vector<storage::key_cells> keys;
  for (const auto& record : records) {
    skipped_keys_.insert(record.key_json);
    try {
      keys.push_back(quarantine_key_cells(schema_, record.key_json));
    } catch (const std::exception&) {
      keys.emplace_back();  // unreadable after a schema change: found nowhere, dropped below
    }
  }
  std::set<std::string> present;
  if (!keys.empty())
    for (const auto& row : source_->read_rows_by_keys(table_name(), schema_, keys))
      present.insert(retry_skipped_row(row));
  for (const auto& record : records) {
    if (present.count(record.key_json))
      continue;
    parts_.state->remove_skipped_row(parts_.database, table_name(), record.key_json);
    skipped_keys_.erase(record.key_json);
    spdlog::info("{}.{}: skipped row {} is gone at the source", parts_.database, table_name(),
                 record.key_json);
  }
  if (parts_.metrics)
    parts_.metrics->set_quarantined_rows(static_cast<std::int64_t>(skipped_keys_.size()));
}

std::string table_sync::retry_skipped_row(const storage::text_row& row) {
  auto position = storage::position_of(schema_, row);
  auto key = quarantine_key(schema_, position.key);
  if (auto reason = unencodable_reason(schema_, row)) {
    // Still unencodable at the site: held another cycle, no request.
    parts_.state->add_skipped_row(parts_.database, table_name(), key, position.version, *reason);
    return key;
  }
  // Alone and outside the batch-size history: one bad row must not shrink every batch.
  auto answer = with_retry("upload skipped row", [&] {
    return parts_.remote->upload(database_id_, remote_table(), upload_body(schema_, {&row, 1}),
                                 false);
  });
  if (answer.status.result == call_result::failed)
    fail("upload skipped row", answer.status);
  if (!answer.status.ok()) {
    parts_.state->add_skipped_row(parts_.database, table_name(), key, position.version,
                                  answer.status.message);
    return key;
  }
  recounted_ = false;
  parts_.state->remove_skipped_row(parts_.database, table_name(), key);
  skipped_keys_.erase(key);
  remote_stale_ = true;
  ++report_.rows_uploaded;
  spdlog::info("{}.{}: previously skipped row {} accepted", parts_.database, table_name(), key);
  return key;
}

bool table_sync::is_skipped(const sync::row_key& key) const {
  return !skipped_keys_.empty() && skipped_keys_.count(quarantine_key(schema_, key)) > 0;
}

void table_sync::log_recovery(const char* what, unsigned failed_attempts) {
  spdlog::info("{}.{}: {} succeeded again after {} failed attempts", parts_.database,
               table_name(), what, failed_attempts);
}

void table_sync::back_off(const char* what, const call_status& status, unsigned attempt) {
  if (full_pass_ && attempt >= parts_.full_pass_attempts)
    fail(what, status);
  std::uniform_real_distribution<double> draw{0.0, 1.0};
  auto delay = sync::retry_delay(attempt, status.retry_after, draw(random_), parts_.retry);
  if (parts_.metrics) {
    parts_.metrics->add_retry();
    parts_.metrics->add_error(reached_no_server(status) ? metrics::error_kind::network
                                                        : metrics::error_kind::server);
  }
  // One line when an outage starts; the attempts that follow are debug detail.
  spdlog::log(attempt == 1 ? spdlog::level::warn : spdlog::level::debug,
              "{}.{}: {} failed ({}), retrying in {} ms (attempt {})", parts_.database,
              table_name(), what, status.message, delay.count(), attempt);
  if (parts_.stop->wait_for(delay))
    throw detail::cycle_stopped{};
}

} // namespace tidesync::actors
