// postgres_store::upload: COPY while validating, else staging and one upsert; summary.
#include "storage/postgres_store.hpp"

#include "protocol/error.hpp"
#include "storage/copy_batch.hpp"
#include "storage/sql_names.hpp"
#include "storage/staging_copy.hpp"
#include "storage/store_connection.hpp"
#include "storage/tenant_table.hpp"
#include "storage/upload_body_stream.hpp"

#include <pqxx/except>
#include <pqxx/subtransaction>
#include <pqxx/transaction>

#include <algorithm>

namespace tidesync::storage {

namespace {

using protocol::column_type;

// These compare as text so that an update is only skipped when the stored
// value is exactly the same: json has no equality, numeric 1.0 = 1.00 and
// float -0 = 0 although their text (what round-trips) differs.
bool compares_as_text(column_type type) {
  return type == column_type::json || type == column_type::numeric
         || type == column_type::real || type == column_type::double_precision;
}

std::string compared(const pqxx::transaction_base& tx, const protocol::column_def& column,
                     const std::string& prefix) {
  return prefix + tx.quote_name(column.name) + (compares_as_text(column.type) ? "::text" : "");
}

// What to do with a row whose key exists: update the batch's other columns,
// but only when something differs, so a re-sent batch writes nothing.
std::string on_conflict_action(const pqxx::transaction_base& tx, const tenant_table& tenant,
                               const copy_batch& batch) {
  std::string set, old_values, new_values;
  for (const auto& column : batch.columns) {
    const auto& key = tenant.schema.key;
    if (std::find(key.begin(), key.end(), column.name) != key.end())
      continue;
    auto separator = set.empty() ? "" : ", ";
    set += separator + tx.quote_name(column.name) + " = EXCLUDED." + tx.quote_name(column.name);
    old_values += separator + compared(tx, column, "t.");
    new_values += separator + compared(tx, column, "EXCLUDED.");
  }
  if (set.empty())
    return "DO NOTHING";
  return "DO UPDATE SET " + set + " WHERE ROW(" + old_values + ") IS DISTINCT FROM ROW("
         + new_values + ")";
}

std::string upsert_sql(const pqxx::transaction_base& tx, const tenant_table& tenant,
                       const copy_batch& batch) {
  std::vector<std::string> names;
  for (const auto& column : batch.columns)
    names.push_back(column.name);
  auto columns = "client_id, database_id, " + sql_names::column_list(tx, names);
  // RETURNING reports inserted and updated rows only; xmax = 0 tells them apart.
  return "WITH written AS (INSERT INTO " + tenant.target + " AS t (" + columns + ") SELECT "
         + columns + " FROM " + sql_names::staging_table
         + " ON CONFLICT (client_id, database_id, " + sql_names::column_list(tx, tenant.schema.key)
         + ") " + on_conflict_action(tx, tenant, batch)
         + " RETURNING (t.xmax = 0) AS inserted)"
           " SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted)"
           " FROM written";
}

struct write_counts {
  std::int64_t inserted = 0;
  std::int64_t updated = 0;
};

write_counts upsert(pqxx::transaction_base& tx, const tenant_table& tenant,
                    const copy_batch& batch) {
  copy_to_staging(tx, batch);
  try {
    auto row = tx.exec1(upsert_sql(tx, tenant, batch));
    return {row[0].as<std::int64_t>(), row[1].as<std::int64_t>()};
  } catch (const pqxx::sql_error& e) {
    // Keys whose text differs but whose values are equal (1.0 and 1.00).
    if (e.sqlstate() == "21000")
      throw protocol::api_error(protocol::error_code::bad_request,
                                "two rows of the batch have equal keys");
    throw;
  }
}

// The fast path for a batch of new rows: COPY straight into the shared table,
// as fast as PostgreSQL loads, checking the body while it loads. A key that
// exists already undoes the attempt (to a savepoint) and the caller upserts
// instead.
bool insert_only(pqxx::dbtransaction& tx, const tenant_table& tenant, upload_renderer& renderer) {
  try {
    pqxx::subtransaction attempt{tx, "insert_only"};
    stream_to_table(attempt, tenant.target, renderer);
    attempt.commit();
    return true;
  } catch (const pqxx::unique_violation&) {
    return false;
  }
}

write_counts write_batch(pqxx::dbtransaction& tx, const tenant_table& tenant,
                         upload_renderer& renderer) {
  if (renderer.empty()) {
    renderer.finish();
    return {};
  }
  if (insert_only(tx, tenant, renderer))
    return {static_cast<std::int64_t>(renderer.row_count()), 0};
  // PostgreSQL only reports the existing key once every line was sent, so
  // the whole batch is checked and rendered by now.
  renderer.finish();
  return upsert(tx, tenant, renderer.batch());
}


template <class Body>
upload_result upload_into(pqxx::connection& c, const std::string& data_schema,
                          const std::string& client_id, const std::string& database_id,
                          const std::string& table, const Body& body, bool recount) {
  pqxx::work tx{c};
  auto tenant = load_tenant_table(tx, data_schema, client_id, database_id, table, true);
  upload_renderer renderer(tenant.schema, body, client_id, database_id);
  auto counts = write_batch(tx, tenant, renderer);
  upload_result result;
  result.rows = static_cast<std::int64_t>(renderer.row_count());
  result.inserted = counts.inserted;
  result.updated = counts.updated;
  result.version =
      recount ? storage::recount_summary(tx, tenant) : refresh_summary(tx, tenant, result.inserted);
  tx.commit();
  return result;
}

} // namespace

upload_result postgres_store::upload(const std::string& client_id, const std::string& database_id,
                                     const std::string& table, const boost::json::value& body,
                                     bool recount) {
  return impl_->connection.run([&](pqxx::connection& c) {
    return upload_into(c, impl_->options.data_schema, client_id, database_id, table, body,
                       recount);
  });
}

std::optional<upload_result> postgres_store::upload_text(const std::string& client_id,
                                                         const std::string& database_id,
                                                         const std::string& table,
                                                         std::string_view body, bool recount) {
  return impl_->connection.run([&](pqxx::connection& c) -> std::optional<upload_result> {
    try {
      return upload_into(c, impl_->options.data_schema, client_id, database_id, table,
                         upload_renderer::body_text{body}, recount);
    } catch (const upload_body_stream::off_shape&) {
      return std::nullopt;  // the transaction was rolled back as it left the scope
    }
  });
}

} // namespace tidesync::storage
