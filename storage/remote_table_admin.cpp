// The operator's side of the shared tables: listing them and locking their schema.
#include "storage/postgres_store.hpp"

#include "protocol/table_schema.hpp"
#include "storage/remote_table.hpp"
#include "storage/sql_names.hpp"
#include "storage/store_connection.hpp"

#include <boost/json/parse.hpp>
#include <pqxx/nontransaction>
#include <pqxx/transaction>

namespace tidesync::storage {

bool postgres_store::set_schema_locked(const std::string& table, bool locked) {
  sql_names::require_table_name(table);
  return impl_->connection.run([&](pqxx::connection& c) {
    pqxx::work tx{c};
    // Waits for a declaration under way instead of racing it.
    tx.exec_params("SELECT pg_advisory_xact_lock($1, hashtext($2))",
                   remote_table::declaration_lock_class, table);
    auto changed = tx.exec_params("UPDATE tidesync.remote_tables SET schema_locked = $2,"
                                  " updated_at = now() WHERE table_name = $1 RETURNING 1",
                                  table, locked);
    tx.commit();
    return !changed.empty();
  });
}

std::vector<remote_table_summary> postgres_store::list_remote_tables() {
  return impl_->connection.run([&](pqxx::connection& c) {
    pqxx::nontransaction tx{c};
    std::vector<remote_table_summary> tables;
    for (const auto& row : tx.exec(
             "SELECT r.table_name, r.schema::text, r.schema_locked,"
             " (SELECT count(*) FROM tidesync.tenant_tables t WHERE t.table_name = r.table_name)"
             " FROM tidesync.remote_tables r ORDER BY r.table_name")) {
      auto schema = protocol::table_schema_from_json(boost::json::parse(row[1].c_str()));
      tables.push_back({row[0].as<std::string>(), schema.columns.size(),
                        static_cast<std::size_t>(row[3].as<std::int64_t>()), row[2].as<bool>()});
    }
    return tables;
  });
}

} // namespace tidesync::storage
