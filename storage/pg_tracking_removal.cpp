// Plans removing what prepare installed on PostgreSQL (`tidesync unprepare`).
#include "storage/pg_tracking.hpp"

#include "storage/postgres_source.hpp"

#include <pqxx/pqxx>

namespace tidesync::storage::detail {

namespace {

bool has_row(pqxx::transaction_base& tx, const std::string& sql, const std::string& a,
             const std::string& b) {
  return !tx.exec_params(sql, a, b).empty();
}

void plan_pg_table_removal(pqxx::transaction_base& tx, const table_ref& ref,
                           const std::string& label, const removal_options& options,
                           std::vector<tracking_step>& out) {
  auto table = quote_identifier(ref.name, "table");
  auto catalog = read_pg_catalog(tx, ref.name);
  if (!catalog)
    throw storage_error(storage_errc::not_found, "table " + ref.name + " not found in " + label);
  // A partitioned table's index can't be dropped concurrently; dropping it
  // (with its partitions' indexes) is a short exclusive lock, asked for with
  // a timeout like any other. A long-named table prepared by an earlier
  // version has its index under the name cut without a hash.
  for (const auto& name : derived_bare_names(ref.name, index_suffix)) {
    auto index = "\"" + name + "\"";
    if (!has_row(tx, "SELECT 1 FROM pg_index WHERE indexrelid = to_regclass($1) AND "
                     "indrelid = to_regclass($2)",
                 index, table))
      continue;
    if (is_partitioned(tx, table))
      out.push_back({ref.name, "drop the version index of the partitioned table and its "
                               "partitions",
                     step_mode::transaction, {"DROP INDEX " + index}, 0});
    else
      out.push_back({ref.name, "drop the version index without blocking writes",
                     step_mode::unbounded, {"DROP INDEX CONCURRENTLY " + index}, 0});
  }
  tracking_step step{ref.name, "drop the triggers", step_mode::transaction, {}, 0};
  for (auto trigger : {pg_trigger, pg_notify_trigger})
    if (has_row(tx, "SELECT 1 FROM pg_trigger WHERE tgrelid = to_regclass($1) AND tgname = $2",
                table, std::string{trigger}))
      step.statements.push_back("DROP TRIGGER " + std::string{trigger} + " ON " + table);
  // The change counter the notify trigger moved, after the trigger.
  auto counter = tx.exec_params("SELECT s.oid::regclass::text FROM pg_class s JOIN pg_class c ON "
                                "s.relnamespace = c.relnamespace WHERE c.oid = to_regclass($1) "
                                "AND s.relname = $2 AND s.relkind = 'S'",
                                table, derived_bare_name(ref.name, changes_suffix));
  if (!counter.empty())
    step.statements.push_back("DROP SEQUENCE " + counter[0][0].as<std::string>());
  if (has_row(tx, "SELECT 1 FROM pg_constraint WHERE conrelid = to_regclass($1) AND conname = $2",
              table, derived_bare_name(ref.name, not_null_check_suffix)))
    step.statements.push_back("ALTER TABLE " + table + " DROP CONSTRAINT " +
                              derived_name(ref.name, not_null_check_suffix));
  if (options.drop_columns && find_column(*catalog, ref.version_column) != nullptr) {
    step.summary = "drop the triggers and the version column";
    step.statements.push_back("ALTER TABLE " + table + " DROP COLUMN " +
                              quote_identifier(ref.version_column, "version column"));
  }
  if (!step.statements.empty())
    out.push_back(std::move(step));
}

// A trigger function goes once no trigger outside `tables` calls it: another
// table may still be tracked (or use the function under another name).
void plan_function_removal(pqxx::transaction_base& tx, const std::vector<table_ref>& tables,
                           std::vector<tracking_step>& out) {
  std::string others = "ARRAY[]::regclass[]";
  for (const auto& ref : tables)
    others += " || to_regclass('" + quote_identifier(ref.name, "table") + "')";
  tracking_step step{"", "drop the trigger functions no table uses any more",
                     step_mode::transaction, {}, 0};
  for (auto function : {pg_function, pg_notify_function}) {
    auto signature = std::string{function} + "()";
    if (tx.exec_params("SELECT to_regprocedure($1)", signature)[0][0].is_null())
      continue;
    // A partition's clone of its parent's trigger goes with the parent's.
    if (tx.exec_params("SELECT 1 FROM pg_trigger WHERE tgfoid = to_regprocedure($1) AND "
                       "tgparentid = 0 AND tgrelid <> ALL (" + others + ")",
                       signature)
          .empty())
      step.statements.push_back("DROP FUNCTION " + signature);
  }
  if (!step.statements.empty())
    out.push_back(std::move(step));
}

} // namespace

std::vector<tracking_step> plan_pg_removal(const std::string& url,
                                           const std::vector<table_ref>& tables,
                                           const removal_options& options) {
  auto label = pg_label(url);
  try {
    pqxx::connection conn{url};
    pqxx::read_transaction tx{conn};
    std::vector<tracking_step> out;
    for (const auto& ref : tables)
      plan_pg_table_removal(tx, ref, label, options, out);
    plan_function_removal(tx, tables, out);
    return out;
  } catch (...) {
    rethrow_pg_error(label, "removing version tracking");
  }
}

} // namespace tidesync::storage::detail
