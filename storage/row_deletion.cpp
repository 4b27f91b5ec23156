// postgres_store::delete_rows: by keys, above a version, or all of a tenant's rows.
#include "storage/postgres_store.hpp"

#include "protocol/error.hpp"
#include "protocol/json_fields.hpp"
#include "storage/copy_batch.hpp"
#include "storage/sql_names.hpp"
#include "storage/staging_copy.hpp"
#include "storage/store_connection.hpp"
#include "storage/tenant_table.hpp"

#include <boost/json/value.hpp>
#include <pqxx/transaction>

namespace tidesync::storage {

namespace {

using protocol::api_error;
using protocol::error_code;
namespace jf = protocol::json_fields;

constexpr const char* delete_forms =
    "expected one of {\"keys\":[…]}, {\"above_version\":V} or {\"all\":true}";

std::int64_t delete_by_keys(pqxx::transaction_base& tx, const tenant_table& tenant,
                            const boost::json::array& keys) {
  auto batch = prepare_keys(tenant.schema, keys);
  if (batch.rows == 0)
    return 0;
  copy_to_staging(tx, batch);
  std::string match;
  for (const auto& key : tenant.schema.key)
    match += " AND t." + tx.quote_name(key) + " = s." + tx.quote_name(key);
  // Repeated keys join more than once but each row is deleted, and counted, once.
  auto deleted = tx.exec_params("DELETE FROM " + tenant.target + " AS t USING "
                                    + sql_names::staging_table
                                    + " AS s WHERE t.client_id = $1 AND t.database_id = $2::uuid"
                                    + match,
                                tenant.client_id, tenant.database_id);
  return static_cast<std::int64_t>(deleted.affected_rows());
}

std::int64_t delete_where(pqxx::transaction_base& tx, const tenant_table& tenant,
                          const std::optional<std::int64_t>& above_version) {
  std::string sql = "DELETE FROM " + tenant.target
                    + " WHERE client_id = $1 AND database_id = $2::uuid";
  if (!above_version)
    return static_cast<std::int64_t>(
        tx.exec_params(sql, tenant.client_id, tenant.database_id).affected_rows());
  sql += " AND " + tx.quote_name(tenant.schema.version_column) + " > $3";
  return static_cast<std::int64_t>(
      tx.exec_params(sql, tenant.client_id, tenant.database_id, *above_version).affected_rows());
}

std::int64_t run_delete(pqxx::transaction_base& tx, const tenant_table& tenant,
                        const boost::json::value& body) {
  const auto* object = body.if_object();
  if (object == nullptr || object->size() != 1)
    throw api_error(error_code::bad_request, delete_forms);
  if (const auto* keys = object->if_contains("keys"))
    return delete_by_keys(tx, tenant, jf::as_array(*keys, "keys"));
  if (const auto* version = object->if_contains("above_version"))
    return delete_where(tx, tenant, jf::as_int64(*version, "above_version"));
  const auto* all = object->if_contains("all");
  if (all == nullptr || !all->is_bool() || !all->get_bool())
    throw api_error(error_code::bad_request, delete_forms);
  return delete_where(tx, tenant, std::nullopt);
}

} // namespace

delete_result postgres_store::delete_rows(const std::string& client_id,
                                          const std::string& database_id,
                                          const std::string& table,
                                          const boost::json::value& body) {
  const auto& data_schema = impl_->options.data_schema;
  return impl_->connection.run([&](pqxx::connection& c) {
    pqxx::work tx{c};
    auto tenant = load_tenant_table(tx, data_schema, client_id, database_id, table, true);
    delete_result result;
    result.deleted = run_delete(tx, tenant, body);
    result.version = refresh_summary(tx, tenant, -result.deleted);
    tx.commit();
    return result;
  });
}

} // namespace tidesync::storage
