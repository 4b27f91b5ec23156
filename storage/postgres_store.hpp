#pragma once

#include "protocol/cell_codec.hpp"
#include "protocol/table_schema.hpp"
#include "protocol/table_version.hpp"
#include "storage/site_reports.hpp"

#include <boost/json/fwd.hpp>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tidesync::storage {

/// What one tenant's table declarations may ask of the shared store
/// (config::tenant_limits, as the server was configured).
struct declaration_limits {
  std::size_t tables_per_database = 1'000;
  std::size_t columns_per_table = 200;
  std::size_t columns_per_shared_table = 800;
};

/// Where the store lives.
struct store_options {
  std::string url;                            // libpq URL or key=value string
  std::string data_schema = "tidesync_data";  // schema holding the replicated tables
  declaration_limits limits{};
};

/// A shared table as the operator sees it.
struct remote_table_summary {
  std::string table;
  std::size_t columns = 0;  // the sites' columns, tenant columns not counted
  std::size_t tenants = 0;  // databases that declared it
  bool schema_locked = false;
};

/// A bearer token's identity once its secret has been checked.
struct token_identity {
  std::string token_id;
  std::string client_id;
  std::optional<std::string> database_id;    // set when narrowed to one database
  std::optional<std::string> database_name;  // that database's name
};

struct database_info {
  std::string database_id;  // uuid text
  std::string name;
};

/// A freshly created token: the secret is shown once and stored only hashed.
struct new_token {
  std::string token_id;
  std::string secret;
  std::optional<database_info> database;  // set when narrowed to one database
};

/// A token as an operator sees it: never its secret nor the secret's hash.
struct token_summary {
  std::string token_id;
  std::optional<database_info> database;  // nullopt: valid for all databases
  std::string created_at;
  std::optional<std::string> revoked_at;  // nullopt while active
};

struct client_summary {
  std::string client_id;
  std::string created_at;
  std::int64_t databases = 0;
  std::int64_t active_tokens = 0;
};

/// Which tenant data a removal covers: a client with everything it has, one
/// of its databases (by name or id), or one table of that database.
struct removal_scope {
  std::string client_id;
  std::optional<std::string> database; // name or id; with `table`, required
  std::optional<std::string> table;
};

/// What a removal found and took away; all zero when nothing was left.
struct removal_report {
  std::int64_t rows = 0;
  std::int64_t tables = 0; // a database's declared tables
  std::int64_t databases = 0;
  std::int64_t tokens = 0; // revoked, then deleted with their database or client
  bool client = false;
};

struct upload_result {
  std::int64_t rows = 0;
  std::int64_t inserted = 0;
  std::int64_t updated = 0;
  protocol::table_version version;  // summary after the batch
};

struct delete_result {
  std::int64_t deleted = 0;
  protocol::table_version version;  // summary after the delete
};

struct manifest_query {
  std::optional<std::int64_t> min_version;
  std::optional<std::int64_t> max_version;
  std::int64_t limit = 10000;
  std::optional<std::string> after;  // continuation from the previous page
  // Key cells of real/double precision columns: numbers unless the client asks
  // for strings (docs/api.md, manifest); `next` always holds strings.
  protocol::float_form floats = protocol::float_form::number;
};

struct manifest_entry {
  std::vector<boost::json::value> key;  // wire cells, key-column order
  std::int64_t version = 0;
};

struct manifest_page {
  std::vector<std::string> key_columns;
  std::vector<manifest_entry> entries;
  std::optional<std::string> next;
};

/// The cloud store: tidesync's metadata (schema `tidesync`) and every tenant's
/// replicated rows (the data schema) in one PostgreSQL database.
///
/// One instance owns one connection and is not thread-safe; the server gives
/// each database worker its own. Every method that writes runs in one
/// transaction. Errors the API reports come out as protocol::api_error
/// (bad_request, not_found, conflict, ...); a lost or unreachable database as
/// api_error(unavailable). No libpqxx exception leaves this class.
class postgres_store {
public:
  /// Connects (session TimeZone UTC, DateStyle ISO). Throws api_error(unavailable).
  explicit postgres_store(store_options options);
  ~postgres_store();
  postgres_store(const postgres_store&) = delete;
  postgres_store& operator=(const postgres_store&) = delete;

  /// Applies the versioned metadata migrations that are missing. Idempotent;
  /// concurrent callers serialise on an advisory lock.
  void migrate();

  /// True when the database answers `SELECT 1` (reconnecting if needed).
  bool ping();

  // --- administration -------------------------------------------------------

  /// Creates the client (conflict if it exists) and its first token.
  new_token create_client(const std::string& client_id);
  /// A new token for an existing client, optionally narrowed to one database
  /// given by id or by name. A name not yet registered is registered (as the
  /// API does), so a store can get its own token before its agent first runs.
  /// not_found for an unknown client or for an id (uuid text) that is neither
  /// a database id nor a name of this client.
  new_token create_token(const std::string& client_id,
                         const std::optional<std::string>& database);
  /// Revokes a token by id; false when no such active token exists.
  bool revoke_token(const std::string& token_id);
  std::vector<client_summary> list_clients();

  /// Locks (or unlocks) a shared table's schema: while locked, a declaration
  /// that adds a column is answered columns_refused. False for an unknown table.
  bool set_schema_locked(const std::string& table, bool locked);

  /// Every shared table, by name.
  std::vector<remote_table_summary> list_remote_tables();
  /// The client's tokens, revoked ones included, oldest first; not_found for
  /// an unknown client.
  std::vector<token_summary> list_tokens(const std::string& client_id);

  /// Revokes the tokens a removal of `scope` ends: all of a client's, or
  /// those narrowed to the database removed (none for a table). Answers how
  /// many were still active. Servers stop accepting a revoked token within
  /// token_cache_seconds.
  std::int64_t revoke_tokens_of(const removal_scope& scope);
  /// Deletes the scope's rows from the shared tables, `batch_rows` at a time,
  /// each batch its own short transaction holding only that tenant table's
  /// summary row (an upload of that tenant in flight finishes first; other
  /// tenants never wait), then its metadata: declarations, the fleet view's
  /// reports, tokens, databases and the client, as the scope covers.
  /// `progress(table, rows so far)` after each batch. Idempotent: a scope
  /// already removed, or never there, answers all zeros.
  removal_report
  remove_tenant_data(const removal_scope& scope, std::int64_t batch_rows,
                     const std::function<void(const std::string&, std::int64_t)>& progress);

  /// Saves what the server learnt about sites since the last save, in one
  /// transaction: a later contact or upload time replaces an earlier one. A
  /// contact the store refuses is left out; answers how many were.
  std::size_t save_site_contacts(const std::vector<site_contact>& contacts);
  /// The fleet gauges: sites heard from within `seen`, silent for longer
  /// than `silent`, their tables not in sync, agents by version.
  fleet_summary summarize_fleet(std::chrono::seconds seen, std::chrono::seconds silent);
  /// Every client's databases with their tables, rows, last contact and
  /// upload, agent version and reported lag; by client and database name.
  std::vector<tenant_database> list_tenant_databases();

  // --- API ------------------------------------------------------------------

  /// The identity of an active token, or nullopt for an unknown or revoked one.
  std::optional<token_identity> authenticate(const std::string& secret);
  /// The same, and in the same statement whether `database_id` (uuid text,
  /// else not_found) belongs to the token's client: one round trip where a
  /// request would otherwise also need require_database().
  std::optional<std::pair<token_identity, bool>>
  authenticate_for_database(const std::string& secret, const std::string& database_id);

  /// Registers a database by name; the same name again gives the same id.
  database_info register_database(const std::string& client_id, const std::string& name);

  /// Throws api_error(not_found) unless the database belongs to the client.
  void require_database(const std::string& client_id, const std::string& database_id);

  /// Creates or evolves the shared remote table and records that this database
  /// declared it. Returns the stored (merged) schema. Refused, changing
  /// nothing: api_error(conflict) when the key or version column differ from
  /// the shared table's, protocol::columns_refused_error listing the columns it
  /// will not take (type differs, schema locked, shared column limit), and
  /// api_error(limit_exceeded) over the tenant's table or column limit. Adding
  /// a column waits at most a moment for the shared table's lock and retries,
  /// so other tenants' uploads never queue behind it for long; answers
  /// api_error(unavailable) when the table stays busy.
  protocol::table_schema declare_table(const std::string& client_id,
                                       const std::string& database_id,
                                       const std::string& table,
                                       const protocol::table_schema& schema);

  /// This database's summary of a table; api_error(not_found) if undeclared.
  protocol::table_version table_version(const std::string& client_id,
                                        const std::string& database_id,
                                        const std::string& table);

  /// Summaries of every table this database declared, by table name.
  std::map<std::string, protocol::table_version>
  table_versions(const std::string& client_id, const std::string& database_id);

  /// Validates the body `{"columns":[…],"rows":[[…],…]}` completely, then
  /// upserts it through COPY into a staging table, in one transaction. With
  /// `recount`, the summary after it is counted from the data (as
  /// recount_summary does) in that same transaction.
  upload_result upload(const std::string& client_id, const std::string& database_id,
                       const std::string& table, const boost::json::value& body,
                       bool recount = false);

  /// upload() of a body's text, read as it loads (upload_body_stream):
  /// std::nullopt, having written nothing, when the body is not in the shape
  /// agents send or holds an error; upload() of the parsed document then
  /// accepts it or refuses it with a precise message.
  std::optional<upload_result> upload_text(const std::string& client_id,
                                           const std::string& database_id,
                                           const std::string& table, std::string_view body,
                                           bool recount = false);

  /// Body `{"keys":[…]}` | `{"above_version":V}` | `{"all":true}`.
  delete_result delete_rows(const std::string& client_id, const std::string& database_id,
                            const std::string& table, const boost::json::value& body);

  manifest_page manifest(const std::string& client_id, const std::string& database_id,
                         const std::string& table, const manifest_query& query);

  /// Answers a digest request (protocol/digest_messages.hpp): a count and
  /// content digest per key range, or one range's rows with a digest each.
  /// The answer is the JSON body the API returns.
  boost::json::value digests(const std::string& client_id, const std::string& database_id,
                             const std::string& table, const boost::json::value& body);

  /// Recounts this database's rows of a table and recomputes its maxima from
  /// the data, correcting a summary that writes outside the API left wrong.
  protocol::table_version recount_summary(const std::string& client_id,
                                          const std::string& database_id,
                                          const std::string& table);

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace tidesync::storage
