// Version tracking on a partitioned PostgreSQL table: the parent holds no
// rows, and PostgreSQL builds no index on it concurrently, so the index is
// built partition by partition and the backfill reads each partition.
#include "storage/pg_tracking.hpp"

namespace tidesync::storage::detail {

namespace {

struct index_state {
  bool exists = false;
  bool valid = false;
  bool attached = false;
};

// Only an index of `table` counts: one of that name elsewhere is not ours.
index_state read_index_state(pqxx::transaction_base& tx, const std::string& index,
                             const std::string& table) {
  auto rows = tx.exec_params("SELECT i.indisvalid, EXISTS (SELECT 1 FROM pg_inherits h WHERE "
                             "h.inhrelid = i.indexrelid) FROM pg_index i WHERE i.indexrelid = "
                             "to_regclass($1) AND i.indrelid = to_regclass($2)",
                             index, table);
  if (rows.empty())
    return {};
  return {true, rows[0][0].as<bool>(), rows[0][1].as<bool>()};
}

// One partition's index: built concurrently (an invalid one first dropped),
// then attached to the parent's in a short transaction.
void plan_partition_index(pqxx::transaction_base& tx, const std::string& partition,
                          const std::string& parent_index, const std::string& columns,
                          bool parent_rebuilt, std::vector<tracking_step>& out) {
  auto index = derived_name(partition, index_suffix);
  auto state = parent_rebuilt
                 ? index_state{}
                 : read_index_state(tx, index, quote_identifier(partition, "partition"));
  if (!state.exists || !state.valid) {
    tracking_step build{partition, "build the partition's version index without blocking writes",
                        step_mode::unbounded, {}, 0};
    if (state.exists)
      build.statements.push_back("DROP INDEX CONCURRENTLY " + index);
    build.statements.push_back("CREATE INDEX CONCURRENTLY " + index + " ON " +
                               quote_identifier(partition, "partition") + " (" + columns + ")");
    out.push_back(std::move(build));
  }
  if (!state.attached)
    out.push_back({partition, "attach the partition's version index", step_mode::transaction,
                   {"ALTER INDEX " + parent_index + " ATTACH PARTITION " + index}, 0});
}

} // namespace

bool is_partitioned(pqxx::transaction_base& tx, const std::string& table) {
  return !tx.exec_params("SELECT 1 FROM pg_class WHERE oid = to_regclass($1) AND relkind = 'p'",
                         table)
            .empty();
}

std::vector<std::string> pg_partitions(pqxx::transaction_base& tx, const table_ref& ref,
                                       const std::string& label) {
  std::vector<std::string> out;
  for (const auto& row : tx.exec_params(
         "SELECT c.relname, c.relkind = 'p' FROM pg_inherits h JOIN pg_class c ON c.oid = "
         "h.inhrelid WHERE h.inhparent = to_regclass($1) ORDER BY c.relname",
         quote_identifier(ref.name, "table"))) {
    auto name = row[0].as<std::string>();
    if (row[1].as<bool>())
      throw storage_error(storage_errc::unsupported,
                          "partition " + name + " of table " + ref.name + " in " + label +
                            " is partitioned itself; tidesync prepares tables partitioned "
                            "one level deep");
    quote_identifier(name, "partition");
    out.push_back(std::move(name));
  }
  return out;
}

void plan_pg_partitioned_index(pqxx::transaction_base& tx, const table_ref& ref,
                               const catalog_table& catalog, const std::string& label,
                               std::vector<tracking_step>& out) {
  auto table = quote_identifier(ref.name, "table");
  auto index = derived_name(ref.name, index_suffix);
  auto columns = index_columns(ref, catalog, " COLLATE \"C\"");
  auto parent = read_index_state(tx, index, table);
  tracking_step create{ref.name, "create the version index on the partitioned table alone "
                                 "(it holds no rows)",
                       step_mode::transaction, {}, 0};
  // A valid one here is in the wrong collation (the caller keeps a right one);
  // dropping it drops its partitions' indexes too.
  bool rebuilt = parent.exists && parent.valid;
  if (rebuilt)
    create.statements.push_back("DROP INDEX " + index);
  if (!parent.exists || rebuilt)
    create.statements.push_back("CREATE INDEX " + index + " ON ONLY " + table + " (" + columns +
                                ")");
  if (!create.statements.empty())
    out.push_back(std::move(create));
  for (const auto& partition : pg_partitions(tx, ref, label))
    plan_partition_index(tx, partition, index, columns, rebuilt, out);
}

} // namespace tidesync::storage::detail
