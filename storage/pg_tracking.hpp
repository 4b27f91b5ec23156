#pragma once

// Internal to storage/: what the PostgreSQL halves of version tracking
// (planning, running, removal) share.

#include "storage/tracking_sql.hpp"

#include <pqxx/pqxx>

#include <string>
#include <string_view>
#include <vector>

namespace tidesync::storage::detail {

/// "PostgreSQL database NAME": the URL's database, never its credentials.
std::string pg_label(const std::string& url);

/// Inside a catch block: rethrows the current exception as a storage_error
/// whose message names `label` and `context`.
[[noreturn]] void rethrow_pg_error(const std::string& label, std::string_view context);

/// The backfill batch: versions the rows without one in a ctid range ($1, $2).
/// A backfill step's second statement finds the page of a row still left.
std::string pg_backfill_batch_sql(const table_ref& ref);

/// Whether `table` (quoted) is a partitioned table, which holds no rows itself.
bool is_partitioned(pqxx::transaction_base& tx, const std::string& table);

/// The partitions of partitioned table `ref`, by name. Throws unsupported for
/// a partition that is partitioned itself.
std::vector<std::string> pg_partitions(pqxx::transaction_base& tx, const table_ref& ref,
                                       const std::string& label);

/// Steps that build the version index of partitioned table `ref` without
/// blocking writes: on the parent alone, then on each partition concurrently,
/// attached one by one. Resumes from whatever an interrupted run left.
void plan_pg_partitioned_index(pqxx::transaction_base& tx, const table_ref& ref,
                               const catalog_table& catalog, const std::string& label,
                               std::vector<tracking_step>& out);

} // namespace tidesync::storage::detail
