#pragma once

// Internal to storage/: names and statements version tracking shares between
// its PostgreSQL and SQLite halves and the removal that undoes both.

#include "storage/source_sql.hpp"
#include "storage/version_tracking.hpp"

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace tidesync::storage::detail {

inline constexpr std::size_t max_identifier_bytes = 63;
inline constexpr std::string_view pg_function = "tidesync_set_version";
inline constexpr std::string_view pg_trigger = "tidesync_version";
inline constexpr std::string_view pg_notify_function = "tidesync_notify";
inline constexpr std::string_view pg_notify_trigger = "tidesync_notify";
inline constexpr std::string_view sqlite_counter = "tidesync_counter";
/// SQLite: one row per table, stamped with a fresh counter value on every delete.
inline constexpr std::string_view sqlite_deletes = "tidesync_deletes";

/// The statements of a table's delete trigger (each ends with ';'): the
/// agent checks a trigger's body names its own table (a rename keeps it).
inline std::string sqlite_stamp_deletes_sql(const std::string& table) {
  return "UPDATE tidesync_counter SET value = value + 1 WHERE id = 1; UPDATE tidesync_deletes SET "
         "deletes = (SELECT value FROM tidesync_counter WHERE id = 1) WHERE table_name = '" +
         table + "';";
}

/// Suffixes of the names tidesync derives from a table's name.
inline constexpr std::string_view index_suffix = "_version";
inline constexpr std::string_view not_null_check_suffix = "_version_nn";
inline constexpr std::string_view sqlite_insert_suffix = "_insert";
inline constexpr std::string_view sqlite_update_suffix = "_update";
inline constexpr std::string_view sqlite_delete_suffix = "_delete";
/// PostgreSQL: the sequence the notify trigger moves on every writing statement.
inline constexpr std::string_view changes_suffix = "_changes";

/// A name tidesync derives from a table name, cut to PostgreSQL's 63 bytes, quoted.
std::string derived_name(const std::string& table, std::string_view suffix);

/// The same name unquoted, as catalogs store it.
std::string derived_bare_name(const std::string& table, std::string_view suffix);

/// The bare names the object may have: the derived one, and for a long table
/// name the one cut to 63 bytes without a hash that earlier versions gave it.
std::vector<std::string> derived_bare_names(const std::string& table, std::string_view suffix);

const catalog_column* find_column(const catalog_table& catalog, const std::string& name);

/// (version, key…): the order every page reads in; text key columns take `text_collation`.
std::string index_columns(const table_ref& ref, const catalog_table& catalog,
                          std::string_view text_collation);

/// Throws unsupported unless the version column is a 64-bit integer.
void require_bigint(const catalog_column& column, const std::string& table,
                    const std::string& label);

/// The statements of `steps`, flattened in order.
std::vector<std::string> flatten(const std::vector<tracking_step>& steps);

/// Held while a prepare or unprepare plans and runs on a PostgreSQL database:
/// a second one fails at once instead of racing the first on the same
/// catalog (a column added twice, an index dropped while another run builds it).
class pg_tracking_lock {
public:
  explicit pg_tracking_lock(const std::string& url);
  ~pg_tracking_lock();
  pg_tracking_lock(const pg_tracking_lock&) = delete;
  pg_tracking_lock& operator=(const pg_tracking_lock&) = delete;

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

std::vector<tracking_step> plan_pg_tracking(const std::string& url,
                                            const std::vector<table_ref>& tables);
void run_pg_steps(const std::string& url, const std::vector<tracking_step>& steps,
                  const tracking_progress& progress);
// See tracking_warnings.
std::vector<std::string> pg_tracking_warnings(const std::string& url);

std::vector<tracking_step> plan_pg_removal(const std::string& url,
                                           const std::vector<table_ref>& tables,
                                           const removal_options& options);

std::vector<tracking_step> plan_sqlite_tracking(const std::string& path,
                                                const std::vector<table_ref>& tables);
void run_sqlite_steps(const std::string& path, const std::vector<tracking_step>& steps,
                      const tracking_progress& progress);
std::vector<tracking_step> plan_sqlite_removal(const std::string& path,
                                               const std::vector<table_ref>& tables,
                                               const removal_options& options);

} // namespace tidesync::storage::detail
