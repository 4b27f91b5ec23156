// Removing a tenant's data from the store: a client, one database, one table.
#include "storage/postgres_store.hpp"

#include "protocol/error.hpp"
#include "storage/sql_names.hpp"
#include "storage/store_connection.hpp"

#include <pqxx/nontransaction>
#include <pqxx/transaction>

#include <algorithm>

namespace tidesync::storage {

namespace {

// A declaration that lands while its tenant is being removed leaves a table
// behind one pass; a few passes catch it, an agent that keeps declaring is
// stopped by its revoked token.
constexpr int max_passes = 3;

struct tenant_key {
  std::string database_id;
  std::string table;
};

// The scope's databases as `{id,…}` (a PostgreSQL array), for `= ANY($2::uuid[])`.
std::string database_ids(pqxx::transaction_base& tx, const removal_scope& scope) {
  auto found = scope.database
                   ? tx.exec_params("SELECT coalesce(array_agg(database_id), '{}')::text FROM "
                                    "tidesync.databases WHERE client_id = $1 AND (name = $2 OR "
                                    "database_id::text = $2)",
                                    scope.client_id, *scope.database)
                   : tx.exec_params("SELECT coalesce(array_agg(database_id), '{}')::text FROM "
                                    "tidesync.databases WHERE client_id = $1",
                                    scope.client_id);
  return found[0][0].as<std::string>();
}

std::vector<tenant_key> tenant_tables(pqxx::transaction_base& tx, const removal_scope& scope) {
  auto ids = database_ids(tx, scope);
  std::vector<tenant_key> out;
  for (const auto& row : tx.exec_params("SELECT database_id::text, table_name FROM "
                                        "tidesync.tenant_tables WHERE client_id = $1 AND "
                                        "database_id = ANY($2::uuid[]) AND ($3::text IS NULL OR "
                                        "table_name = $3) ORDER BY 1, 2",
                                        scope.client_id, ids, scope.table))
    out.push_back({row[0].as<std::string>(), row[1].as<std::string>()});
  return out;
}

struct batch_outcome {
  std::int64_t deleted = 0;
  bool finished = false;     // the tenant table is gone
  bool removed_here = false; // and this call removed its declaration
};

} // namespace

std::int64_t postgres_store::revoke_tokens_of(const removal_scope& scope) {
  if (scope.table)
    return 0;
  return impl_->connection.run([&](pqxx::connection& c) {
    pqxx::work tx{c};
    auto ids = database_ids(tx, scope);
    auto revoked = scope.database
                       ? tx.exec_params("UPDATE tidesync.tokens SET revoked_at = now() WHERE "
                                        "client_id = $1 AND database_id = ANY($2::uuid[]) AND "
                                        "revoked_at IS NULL",
                                        scope.client_id, ids)
                       : tx.exec_params("UPDATE tidesync.tokens SET revoked_at = now() WHERE "
                                        "client_id = $1 AND revoked_at IS NULL",
                                        scope.client_id);
    tx.commit();
    return static_cast<std::int64_t>(revoked.affected_rows());
  });
}

removal_report postgres_store::remove_tenant_data(
    const removal_scope& scope, std::int64_t batch_rows,
    const std::function<void(const std::string&, std::int64_t)>& progress) {
  batch_rows = std::max<std::int64_t>(batch_rows, 1);
  removal_report report;
  for (int pass = 0; pass < max_passes; ++pass) {
    auto tenants = impl_->connection.run([&](pqxx::connection& c) {
      pqxx::nontransaction tx{c};
      return tenant_tables(tx, scope);
    });
    if (tenants.empty())
      break;
    for (const auto& tenant : tenants) {
      std::int64_t removed = 0;
      for (;;) {
        // One batch: the tenant's summary row locked first, as an upload
        // locks it, so no upload of this tenant table runs meanwhile.
        auto batch = impl_->connection.run([&](pqxx::connection& c) {
          pqxx::work tx{c};
          batch_outcome out;
          auto locked = tx.exec_params(
              "SELECT 1 FROM tidesync.tenant_tables WHERE client_id = $1 AND database_id = "
              "$2::uuid AND table_name = $3 FOR UPDATE",
              scope.client_id, tenant.database_id, tenant.table);
          if (locked.empty()) {
            out.finished = true;
            return out;
          }
          auto target = sql_names::qualified(tx, impl_->options.data_schema, tenant.table);
          out.deleted = static_cast<std::int64_t>(
              tx.exec_params("DELETE FROM " + target + " WHERE ctid = ANY(ARRAY(SELECT ctid FROM " +
                                 target +
                                 " WHERE client_id = $1 AND database_id = $2::uuid LIMIT $3))",
                             scope.client_id, tenant.database_id, batch_rows)
                  .affected_rows());
          out.finished = out.deleted < batch_rows;
          out.removed_here = out.finished;
          if (out.finished)
            for (const char* table : {"tenant_tables", "site_report_tables"})
              tx.exec_params(std::string{"DELETE FROM tidesync."} + table +
                                 " WHERE client_id = $1 AND database_id = $2::uuid AND "
                                 "table_name = $3",
                             scope.client_id, tenant.database_id, tenant.table);
          else
            tx.exec_params("UPDATE tidesync.tenant_tables SET row_count = greatest(row_count - "
                           "$4, 0) WHERE client_id = $1 AND database_id = $2::uuid AND "
                           "table_name = $3",
                           scope.client_id, tenant.database_id, tenant.table, out.deleted);
          tx.commit();
          return out;
        });
        removed += batch.deleted;
        report.rows += batch.deleted;
        if (batch.deleted > 0 && progress)
          progress(tenant.table, removed);
        if (batch.finished) {
          report.tables += batch.removed_here ? 1 : 0;
          break;
        }
      }
    }
  }
  if (scope.table)
    return report;
  impl_->connection.run([&](pqxx::connection& c) {
    pqxx::work tx{c};
    auto ids = database_ids(tx, scope);
    // A table declared after the last pass keeps its database: said, not forced.
    auto left = tx.exec_params("SELECT count(*) FROM tidesync.tenant_tables WHERE client_id = $1 "
                               "AND database_id = ANY($2::uuid[])",
                               scope.client_id, ids);
    if (left[0][0].as<std::int64_t>() > 0)
      throw protocol::api_error(protocol::error_code::conflict,
                                "tables were declared again while they were removed: stop the "
                                "agent (or revoke its token) and run the removal again");
    for (const char* table : {"site_reports", "site_report_tables"})
      tx.exec_params(std::string{"DELETE FROM tidesync."} + table +
                         " WHERE client_id = $1 AND database_id = ANY($2::uuid[])",
                     scope.client_id, ids);
    report.tokens = static_cast<std::int64_t>(
        tx.exec_params("DELETE FROM tidesync.tokens WHERE client_id = $1 AND ($2 OR database_id = "
                       "ANY($3::uuid[]))",
                       scope.client_id, !scope.database.has_value(), ids)
            .affected_rows());
    report.databases = static_cast<std::int64_t>(
        tx.exec_params("DELETE FROM tidesync.databases WHERE client_id = $1 AND database_id = "
                       "ANY($2::uuid[])",
                       scope.client_id, ids)
            .affected_rows());
    if (!scope.database) {
      for (const char* table : {"site_reports", "site_report_tables"})
        tx.exec_params(std::string{"DELETE FROM tidesync."} + table + " WHERE client_id = $1",
                       scope.client_id);
      report.client =
          tx.exec_params("DELETE FROM tidesync.clients WHERE client_id = $1", scope.client_id)
              .affected_rows() == 1;
    }
    tx.commit();
  });
  return report;
}

} // namespace tidesync::storage
