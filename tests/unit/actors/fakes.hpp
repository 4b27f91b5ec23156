#pragma once

#include "actors/agent.hpp"
#include "actors/remote_api.hpp"
#include "storage/source.hpp"

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

namespace tidesync::testing {

/// One row of the fakes' tables `(id bigint key, note text, tidesync_version)`.
struct fake_row {
  std::string note;
  std::int64_t version = 0;
};

/// Rows by id.
using fake_rows = std::map<std::int64_t, fake_row>;

/// A site database's tables, shared by every fake_source opened on it.
struct fake_site {
  std::mutex mutex;
  std::map<std::string, fake_rows> tables;
  std::int64_t counter = 0;
  /// fake_sources open on this site now, and the most ever open at once.
  int open_sources = 0;
  int most_open_sources = 0;
  /// Called (outside the lock) as a table's summary is read: a test may
  /// block or throw here. Set before the agent starts.
  std::function<void(const std::string& table)> on_summary;
  /// Called (outside the lock) as a page of a table's rows has been read.
  std::function<void(const std::string& table)> on_read_rows;

  /// Versions of transactions still open: safe_version stays at or below the oldest.
  std::set<std::int64_t> open_versions;

  /// Inserts or updates a row with a new version, as a tracking trigger would.
  void put(const std::string& table, std::int64_t id, const std::string& note);
  /// Starts a transaction: answers the version its rows will carry.
  std::int64_t begin_transaction();
  /// Commits a row written by the transaction that got `version`.
  void commit(const std::string& table, std::int64_t id, const std::string& note,
              std::int64_t version);
  void erase(const std::string& table, std::int64_t id);
};

/// A storage::source over a fake_site; versions like SQLite's counter.
class fake_source : public storage::source {
public:
  explicit fake_source(std::shared_ptr<fake_site> site);
  ~fake_source() override;

  std::string_view kind() const override { return "fake"; }
  protocol::table_schema describe(const std::string& table, const std::vector<std::string>& key,
                                  const std::string& version_column,
                                  const std::optional<std::string>& modified_column,
                                  const std::vector<std::string>& excluded = {}) override;
  void check_row_condition(const std::string&, const std::string&) override {}
  protocol::table_version summary(const std::string& table,
                                  const protocol::table_schema& schema) override;
  std::int64_t safe_version() override;
  std::vector<storage::text_row> read_rows(const std::string& table,
                                           const protocol::table_schema& schema,
                                           const std::optional<storage::row_position>& after,
                                           std::optional<std::int64_t> min_version,
                                           std::int64_t limit) override;
  std::vector<storage::key_version> read_keys(const std::string& table,
                                              const protocol::table_schema& schema,
                                              std::optional<std::int64_t> min_version,
                                              std::optional<std::int64_t> max_version,
                                              std::int64_t limit,
                                              const std::optional<storage::row_position>& after)
    override;
  std::vector<storage::text_row> read_rows_by_keys(const std::string& table,
                                                   const protocol::table_schema& schema,
                                                   const std::vector<storage::key_cells>& keys)
    override;
  void scan_key_range(const std::string& table, const protocol::table_schema& schema,
                      const std::optional<storage::key_cells>& from,
                      const std::optional<storage::key_cells>& to,
                      const std::function<bool(const storage::text_row&)>& visit) override;

private:
  std::shared_ptr<fake_site> site_;
};

/// The server side of the fakes: tables per database id, call counts, and
/// failures to inject.
struct fake_server {
  std::mutex mutex;
  std::map<std::string, std::map<std::string, fake_rows>> databases;  // id → table → rows
  std::map<std::string, int> calls;                                   // by call name
  std::string last_report;  // the site report of the last list_tables
  std::int64_t manifest_entries = 0;  // entries every manifest page returned, summed
  /// The next this many table listings answer 503.
  int transient_listings = 0;
  /// The next this many uploads answer 503 with Retry-After.
  int transient_uploads = 0;
  /// list_tables of a database id never registered answers 404.
  bool forget_unknown_databases = false;
  /// Uploads holding one of these ids answer 400.
  std::set<std::int64_t> poison_ids;
  /// Uploads of more rows than this (0: any number), or holding one of
  /// `oversized_ids`, answer 413 as a body over max_body_bytes does.
  std::size_t max_upload_rows = 0;
  std::set<std::int64_t> oversized_ids;
  /// Rows written around the API: the summaries the server keeps leave them
  /// out until a recount.
  std::set<std::int64_t> uncounted_ids;
  /// Uploads holding one of these ids answer 401, as a revoked token does.
  std::set<std::int64_t> failing_ids;
  /// An upload holding one of these ids answers 503 while its count lasts.
  std::map<std::int64_t, int> transient_ids;
  /// The first id of every upload, in the order they arrived, and of the
  /// ones the server stored.
  std::vector<std::int64_t> upload_first_ids;
  std::vector<std::int64_t> stored_first_ids;
  /// Uploads under way now, and the most ever under way at once.
  int gzipped_uploads = 0;
  int zstd_uploads = 0;
  /// Content codings the server answers 415 to, as a server without them does.
  std::set<protocol::content_coding> refused_codings;
  int refused_coding_uploads = 0;
  /// Uploads that asked for a summary counted from the data (`?recount=true`).
  int recounting_uploads = 0;
  int uploads_in_flight = 0;
  int most_uploads_in_flight = 0;
  /// Called (outside the lock) as an upload arrives, with its first id: a
  /// test may block here.
  std::function<void(std::int64_t first_id)> on_upload;

  int total_calls();
  int calls_of(const std::string& name);
  fake_rows rows(const std::string& database_id, const std::string& table);
};

/// A remote_api over a fake_server.
class fake_remote : public actors::remote_api {
public:
  explicit fake_remote(std::shared_ptr<fake_server> server) : server_(std::move(server)) {}

  actors::remote_answer<std::string> register_database(const std::string& name) override;
  actors::remote_answer<actors::table_listing> list_tables(const std::string& database_id,
                                                          const std::string& report = {}) override;
  actors::remote_answer<std::optional<protocol::table_version>>
  table_summary(const std::string& database_id, const std::string& table) override;
  actors::remote_answer<std::vector<protocol::refused_column>>
  declare_schema(const std::string& database_id, const std::string& table,
                 const protocol::table_schema& schema) override;
  actors::remote_answer<protocol::table_version> upload(const std::string& database_id,
                                                        const std::string& table,
                                                        const std::string& body,
                                                        bool recount) override;
  /// Decompresses the body and uploads it; counts `gzipped_uploads` and
  /// `zstd_uploads`, or answers 415 to a coding in `refused_codings`.
  actors::remote_answer<protocol::table_version>
  upload_compressed(const std::string& database_id, const std::string& table,
                    const std::string& body, protocol::content_coding coding,
                    bool recount) override;
  actors::remote_answer<std::int64_t> delete_rows(const std::string& database_id,
                                                  const std::string& table,
                                                  const std::string& body) override;
  actors::remote_answer<actors::manifest_page>
  manifest(const std::string& database_id, const std::string& table,
           const protocol::table_schema& schema, std::optional<std::int64_t> min_version,
           std::optional<std::int64_t> max_version, std::int64_t limit,
           const std::optional<std::string>& after) override;
  actors::remote_answer<protocol::digest_answer>
  digests(const std::string& database_id, const std::string& table,
          const protocol::table_schema& schema, const protocol::digest_request& request) override;
  actors::remote_answer<protocol::table_version> recount(const std::string& database_id,
                                                         const std::string& table) override;

private:
  std::shared_ptr<fake_server> server_;
};

/// An agent's hooks onto fakes: `server` for the server, `sites` (by source
/// URL) for the site databases, and retries in milliseconds.
actors::agent_hooks fake_hooks(std::shared_ptr<fake_server> server,
                               std::map<std::string, std::shared_ptr<fake_site>> sites);

} // namespace tidesync::testing
