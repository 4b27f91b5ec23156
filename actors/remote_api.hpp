#pragma once

#include "protocol/column_refusal.hpp"
#include "protocol/content_coding.hpp"
#include "protocol/digest_messages.hpp"
#include "protocol/table_schema.hpp"
#include "protocol/table_version.hpp"
#include "sync/row_position.hpp"

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace tidesync::actors {

/// How a call to the server ended, in the terms the agent acts on.
enum class call_result {
  ok,
  /// A 4xx about the data (400, 413): a smaller batch or skipping may help.
  rejected,
  /// Timeout, refused connection, 5xx, 503, 429: the network or the server; retry later.
  transient,
  /// Anything else (401, 403, 404, 409, a malformed answer): needs an operator.
  failed,
};

/// The status of one call, with the server's message when it failed.
struct call_status {
  call_result result = call_result::ok;
  int http_status = 0;
  std::string message;
  /// The server's Retry-After, when it sent one in seconds.
  std::optional<std::chrono::milliseconds> retry_after;

  bool ok() const { return result == call_result::ok; }
};

/// True when the call failed before any server answered (refused, reset,
/// timed out): a network failure rather than the server's.
inline bool reached_no_server(const call_status& status) {
  return status.result == call_result::transient && status.http_status == 0;
}

/// A call's status and, when it succeeded, its value.
template <class T>
struct remote_answer {
  call_status status;
  T value{};
};

/// One page of a remote manifest, keys in PostgreSQL text form.
struct manifest_page {
  std::vector<sync::row_position> entries;
  /// Pass back to get the next page; std::nullopt on the last one.
  std::optional<std::string> next;
};

/// Every declared table's summary by name, shared: a listing the server
/// answered "not modified" is the one held from before, not a copy of it.
using table_listing = std::shared_ptr<const std::map<std::string, protocol::table_version>>;

/// The calls the agent makes to the tidesync server (docs/api.md), for one
/// client. Implementations never throw for network or server failures: they
/// report them in the status. Not thread-safe: one per actor.
class remote_api {
public:
  virtual ~remote_api() = default;

  /// Registers `name` and answers its database id.
  virtual remote_answer<std::string> register_database(const std::string& name) = 0;

  /// The summary of every declared table of the database, in one request;
  /// null unless the call succeeded. `report`, when not empty, is the
  /// database's protocol::site_report header value: how its tables stand.
  virtual remote_answer<table_listing> list_tables(const std::string& database_id,
                                                   const std::string& report = {}) = 0;

  /// One table's summary; std::nullopt when the table is not declared.
  virtual remote_answer<std::optional<protocol::table_version>>
  table_summary(const std::string& database_id, const std::string& table) = 0;

  /// Declares the table. When the server refuses some of its columns (409
  /// columns_refused), the status is `failed` and the value lists them with
  /// the server's reasons: declaring again without them syncs the rest.
  virtual remote_answer<std::vector<protocol::refused_column>>
  declare_schema(const std::string& database_id, const std::string& table,
                 const protocol::table_schema& schema) = 0;

  /// Uploads a `{"columns":…,"rows":…}` body as it is (`Content-Encoding:
  /// identity`, never compressed on the way); answers the new remote summary
  /// (count and max_version). With `recount` (`?recount=true`) the server
  /// counts that summary from the data, as recount() would, in the same request.
  virtual remote_answer<protocol::table_version>
  upload(const std::string& database_id, const std::string& table, const std::string& body,
         bool recount) = 0;

  /// The same upload with a body its caller already compressed: sent as it
  /// is, with `Content-Encoding` naming `coding`. A server that does not read
  /// that coding answers 415 (http_status), with nothing written.
  virtual remote_answer<protocol::table_version>
  upload_compressed(const std::string& database_id, const std::string& table,
                    const std::string& body, protocol::content_coding coding, bool recount) = 0;

  /// Sends a DELETE body (`keys`, `above_version` or `all`); answers rows deleted.
  virtual remote_answer<std::int64_t> delete_rows(const std::string& database_id,
                                                  const std::string& table,
                                                  const std::string& body) = 0;

  /// One page of `(key, version)` entries with `min <= version <= max`.
  virtual remote_answer<manifest_page>
  manifest(const std::string& database_id, const std::string& table,
           const protocol::table_schema& schema, std::optional<std::int64_t> min_version,
           std::optional<std::int64_t> max_version, std::int64_t limit,
           const std::optional<std::string>& after) = 0;

  /// Content digests of key ranges, or one range's rows with a digest each
  /// (`POST …/digests`, docs/api.md).
  virtual remote_answer<protocol::digest_answer>
  digests(const std::string& database_id, const std::string& table,
          const protocol::table_schema& schema, const protocol::digest_request& request) = 0;

  /// Has the server recount its summary of the table from the data
  /// (`POST …/recount`); answers the corrected summary.
  virtual remote_answer<protocol::table_version> recount(const std::string& database_id,
                                                         const std::string& table) = 0;
};

} // namespace tidesync::actors
