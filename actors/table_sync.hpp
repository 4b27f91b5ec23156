#pragma once

#include "actors/batch_sizer.hpp"
#include "actors/digest_walk.hpp"
#include "actors/lending_pool.hpp"
#include "actors/remote_api.hpp"
#include "actors/stop_signal.hpp"
#include "actors/table_report.hpp"
#include "config/agent_config.hpp"
#include "protocol/table_schema.hpp"
#include "storage/source.hpp"
#include "sync/decision.hpp"
#include "sync/retry_policy.hpp"
#include "sync/row_position.hpp"
#include "sync/scan_cursor.hpp"
#include "sync/scan_window.hpp"
#include "sync/upload_resume.hpp"

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <span>
#include <string>

namespace tidesync::storage {
class state_store;
} // namespace tidesync::storage

namespace tidesync::metrics {
class table_metrics;
} // namespace tidesync::metrics

namespace tidesync::actors {

class blocking_pool;
class body_coding;

/// Opens a table's local source; called again after a failed cycle.
using source_factory = std::function<std::unique_ptr<storage::source>()>;

/// The open connections to one source database, shared by its tables.
using source_pool = lending_pool<storage::source>;

/// What a table_sync works with, all owned elsewhere except source and remote.
struct table_sync_parts {
  std::string database;  // the configured name
  config::table_config table;
  /// Where a cycle borrows its source connection; when null, one connection
  /// of the table's own is opened with `open_source`.
  std::shared_ptr<source_pool> sources;
  source_factory open_source;
  std::unique_ptr<remote_api> remote;
  /// Where an upload runs while the cycle reads the next page; when null,
  /// pages are read and uploaded one after the other on the cycle's thread.
  blocking_pool* uploads = nullptr;
  /// How the pages of an upload are compressed before they are sent (the
  /// agent's `compress`), shared by the agent's tables; null sends them as they are.
  std::shared_ptr<body_coding> coding;
  batch_sizer* sizer = nullptr;
  storage::state_store* state = nullptr;
  metrics::table_metrics* metrics = nullptr;  // the table's series; may be null
  const stop_signal* stop = nullptr;
  sync::retry_settings retry{};
  /// Transient failures tolerated in a row before a full-pass (`--once`)
  /// cycle gives up; a continuous cycle retries until stopped.
  unsigned full_pass_attempts = 6;
  /// How often a continuous agent compares the whole table by content digests.
  std::chrono::milliseconds verify_interval = config::default_verify_interval;
  /// Site rows a continuous cycle compares by digests at most, so a verify
  /// pass over a large table spreads over cycles instead of starving them.
  std::int64_t verify_slice_rows = 200'000;
  /// How often a long load logs how far it is.
  std::chrono::milliseconds progress_every{10'000};
};

/// One table's synchronisation, cycle by cycle: the algorithm of `sync/`
/// driven against a local source and the server. Blocking; the table actor
/// runs its cycles on the agent's blocking_pool, one at a time. Failures end the cycle with an error report;
/// nothing is thrown.
class table_sync {
public:
  explicit table_sync(table_sync_parts parts);
  ~table_sync();

  /// Runs one cycle: retry skipped rows, catch late commits, then equal /
  /// ahead / behind / scan until nothing is left to do (and, for a full-pass
  /// cycle, one whole differencing pass).
  table_report run_cycle(const table_cycle& cycle);

private:
  // table_sync.cpp: the cycle and the catch-up loop.
  void run_steps(const table_cycle& cycle);
  void source_lost(const storage::storage_error& error);
  void catch_up(bool allow_scan);
  bool upload_ahead(const protocol::table_version& local, bool follow_full_pages);
  void load_upload_resume();
  void save_upload_resume();
  void clear_upload_resume();
  std::vector<storage::text_row> read_page(const std::optional<storage::row_position>& after,
                                           std::optional<std::int64_t> min_version,
                                           std::int64_t limit);
  void delete_behind(const protocol::table_version& local);
  void refresh_remote();
  bool explained_by_skipped(const protocol::table_version& local) const;
  table_state final_state(bool full_pass);
  void save_error(const std::optional<std::string>& error);
  void show_decision(const protocol::table_version& local);
  void show_end_of_cycle();
  /// Counts rows and ranges a differencing or verify pass compared, and how
  /// far the pass is; `pass_done` when this part finished it.
  void show_compared(std::int64_t rows, std::int64_t ranges, bool pass_done);

  // table_declare.cpp: the declaration and the columns the server refuses.
  void prepare_schema(bool remote_declared);
  bool refusal_recheck_due() const;
  void check_row_filter(const protocol::table_schema& schema);
  void declare_schema(const protocol::table_schema& described, const std::string& hash);

  // table_scan.cpp: the differencing scan and the late-commit window.
  bool scan_batch();
  /// Uploads the rows with a version from `mark` (the safe version when a
  /// cycle started) to the remote maximum that the server lacks.
  void catch_late_commits(std::optional<std::int64_t> mark);
  std::vector<sync::row_position> remote_manifest(const sync::version_range& range,
                                                  const sync::scan_window& window = {},
                                                  std::int64_t page_rows = 10'000);
  std::string manifest_after(const sync::row_position& position) const;
  void upload_keys(const std::vector<sync::row_key>& keys);
  void delete_keys(const std::vector<sync::row_key>& keys);
  void save_cursor();

  // table_verify.cpp: content digests, the net under everything else.
  void digest_pass();
  void verify_slice();
  bool verify_due() const;
  digest_call digest_caller();
  void drop_skipped(sync::content_diff& diff) const;
  void repair(const sync::content_diff& diff);
  void finish_verify_pass(bool found_differences);
  bool loaded_whole_table(std::int64_t mark);

  // row_sender.cpp: uploads with batch sizing, skipping and backoff.
  /// A page's request body, encoded (and compressed) while the page before
  /// it uploads; `json_bytes` 0 when some row does not encode.
  struct page_body {
    std::string bytes;
    protocol::content_coding coding = protocol::content_coding::identity;
    std::size_t json_bytes = 0;
    /// The last page of a load into an empty cloud copy: its upload has the
    /// server count the summary from the data (see loaded_whole_table).
    bool recount = false;
  };
  struct ahead_page {
    std::vector<storage::text_row> rows;
    page_body body;
  };
  page_body encode_page(std::span<const storage::text_row> rows) const;
  /// Compresses a page's JSON in the agent's current coding, from 1 KiB.
  void compress(page_body& body) const;
  /// Uploads a body as it was encoded.
  remote_answer<protocol::table_version> send_body(const page_body& body, bool recount);
  /// Uploads `rows` in batches; `body`, when given, is the whole page's.
  void send_rows(std::span<const storage::text_row> rows, const page_body& body);
  void send_rows(std::span<const storage::text_row> rows) { send_rows(rows, page_body{}); }
  sync::batch_outcome upload_batch(std::span<const storage::text_row> batch, call_status& status,
                                   const page_body* encoded = nullptr);
  void skip_rows(std::span<const storage::text_row> rows, const std::string& reason);
  std::span<const storage::text_row> hold_back_unencodable(std::span<const storage::text_row> rows,
                                                           std::vector<storage::text_row>& kept);
  void hold_back(const storage::text_row& row, const std::string& reason);
  void report_skipped_rows();
  void retry_skipped_rows();
  std::string retry_skipped_row(const storage::text_row& row);
  bool is_skipped(const sync::row_key& key) const;
  template <class Call> auto with_retry(const char* what, Call call);
  void back_off(const char* what, const call_status& status, unsigned attempt);
  void log_recovery(const char* what, unsigned failed_attempts);
  [[noreturn]] void fail(const char* what, const call_status& status);

  const std::string& table_name() const { return parts_.table.name; }
  /// The table's name in every request to the server (`remote_name`).
  const std::string& remote_table() const { return parts_.table.remote(); }

  table_sync_parts parts_;
  std::shared_ptr<source_pool> sources_;
  storage::source* source_ = nullptr;  // borrowed for the cycle under way
  protocol::table_schema schema_;  // the columns that sync: the source's minus refused_
  std::vector<protocol::refused_column> refused_;
  std::optional<std::chrono::steady_clock::time_point> declared_at_;
  std::unique_ptr<sync::position_order> order_;
  std::string database_id_;
  protocol::table_version remote_;
  bool source_down_ = false;  // the last cycle lost the source; its return is logged once
  bool remote_stale_ = false;  // a call changed the remote since remote_ was read
  sync::sync_decision last_decision_ = sync::sync_decision::scan;
  std::int64_t local_count_ = 0;  // the site's rows at the last decision
  std::int64_t pass_rows_ = 0;    // rows the comparing pass under way has compared
  bool caught_up_ = false;  // equal but for rows held as skipped, at the last decision
  std::optional<sync::row_position> last_uploaded_;
  bool last_page_full_ = false;  // the last ahead page held as many rows as asked for
  /// Set while a full pass loads an empty cloud copy: the load's last page
  /// asks the server to count its summary from the data.
  bool recount_last_page_ = false;
  /// remote_ was counted from the data by the server, and nothing was
  /// written since.
  bool recounted_ = false;
  // An upload a restart interrupted: resumed after its position this cycle.
  std::optional<sync::row_position> resume_from_;
  std::optional<sync::upload_resume> saved_resume_;  // as in the state store
  bool resume_loaded_ = false;
  bool filter_checked_ = false;  // the `where`, once per actor
  sync::scan_cursor cursor_;
  bool cursor_loaded_ = false;
  std::optional<std::int64_t> saved_mark_;  // the mark this table_sync last wrote
  bool full_pass_ = false;
  /// When this cycle began: a cycle that ends equal saw the table equal as
  /// of then (its local summary was read later), not as of its end.
  std::chrono::steady_clock::time_point cycle_started_;
  bool pass_completed_ = false;
  std::set<std::string> skipped_keys_;  // key_json of rows held as skipped
  // A continuous verify pass: where the next slice starts, what it found so far.
  bool verify_running_ = false;
  std::optional<storage::key_cells> verify_next_;
  bool verify_found_ = false;
  std::optional<std::chrono::steady_clock::time_point> verify_done_at_;
  std::chrono::steady_clock::time_point started_at_ = std::chrono::steady_clock::now();
  bool digest_clean_ = true;  // false: a full pass could not repair every difference
  table_report report_;
  std::mt19937_64 random_{std::random_device{}()};
};

} // namespace tidesync::actors
