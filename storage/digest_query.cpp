// postgres_store::digests and recount_summary: content digests of a tenant's
// rows by key range, computed here so rows never leave the cloud side.
#include "storage/postgres_store.hpp"

#include "protocol/content_digest.hpp"
#include "protocol/digest_messages.hpp"
#include "protocol/error.hpp"
#include "protocol/json_fields.hpp"
#include "storage/sql_names.hpp"
#include "storage/store_connection.hpp"
#include "storage/tenant_table.hpp"

#include <boost/json/value.hpp>

namespace tidesync::storage {

namespace {

// Rows fetched from a range's cursor at a time: memory stays bounded
// whatever the range holds.
constexpr int fetch_rows = 10'000;

using protocol::column_type;

struct digest_columns {
  std::vector<std::string> names;
  std::vector<column_type> types;
};

// The requested columns the shared table has, in the requested order; every
// key column must be among them.
digest_columns covered_columns(const tenant_table& tenant,
                               const std::vector<std::string>& requested) {
  digest_columns out;
  for (const auto& name : requested) {
    if (const auto* column = tenant.schema.find(name)) {
      out.names.push_back(name);
      out.types.push_back(column->type);
    }
  }
  for (const auto& key : tenant.schema.key)
    if (std::find(out.names.begin(), out.names.end(), key) == out.names.end())
      throw protocol::api_error(protocol::error_code::bad_request,
                                "columns: the key column " + protocol::json_fields::quoted(key) +
                                    " must be digested");
  return out;
}

std::vector<column_type> key_types(const protocol::table_schema& schema) {
  std::vector<column_type> types;
  for (const auto& key : schema.key)
    types.push_back(schema.find(key)->type);
  return types;
}

// `(k1, k2) <op> ('v1'::type, 'v2'::type)` for the tenant's key.
std::string key_condition(const pqxx::transaction_base& tx, const tenant_table& tenant,
                          std::string_view op, const protocol::key_text& key) {
  std::string values;
  for (std::size_t i = 0; i < key.size(); ++i) {
    if (i > 0)
      values += ", ";
    values += tx.quote(key[i]) + "::" +
              std::string(protocol::type_name(tenant.schema.find(tenant.schema.key[i])->type));
  }
  return " AND ROW(" + sql_names::column_list(tx, tenant.schema.key) + ") " + std::string(op) +
         " ROW(" + values + ")";
}

// SELECT [key columns,] digested columns of the tenant's rows in `range`, in key order.
std::string range_select(const pqxx::transaction_base& tx, const tenant_table& tenant,
                         const digest_columns& columns, const protocol::key_range& range,
                         const std::optional<protocol::key_text>& after, bool with_key) {
  auto selected = sql_names::column_list(tx, columns.names);
  if (with_key)
    selected = sql_names::column_list(tx, tenant.schema.key) + ", " + selected;
  auto sql = "SELECT " + selected + " FROM " + tenant.target + " WHERE client_id = " +
             tx.quote(tenant.client_id) + " AND database_id = " + tx.quote(tenant.database_id) +
             "::uuid";
  if (range.from)
    sql += key_condition(tx, tenant, ">=", *range.from);
  if (range.to)
    sql += key_condition(tx, tenant, "<", *range.to);
  if (after)
    sql += key_condition(tx, tenant, ">", *after);
  return sql + " ORDER BY " + sql_names::column_list(tx, tenant.schema.key);
}

std::optional<std::string_view> field_text(const pqxx::field& field) {
  if (field.is_null())
    return std::nullopt;
  return std::string_view(field.c_str(), field.size());
}

protocol::range_digest digest_range(pqxx::transaction_base& tx, const tenant_table& tenant,
                                    const digest_columns& columns,
                                    const protocol::key_range& range) {
  tx.exec0("DECLARE tidesync_digest NO SCROLL CURSOR FOR " +
           range_select(tx, tenant, columns, range, std::nullopt, false));
  protocol::row_digest digest;
  for (;;) {
    auto rows = tx.exec("FETCH FORWARD " + std::to_string(fetch_rows) + " FROM tidesync_digest");
    for (const auto& row : rows) {
      for (std::size_t i = 0; i < columns.types.size(); ++i)
        digest.add_cell(field_text(row[static_cast<pqxx::row::size_type>(i)]), columns.types[i]);
      digest.end_row();
    }
    if (rows.size() < static_cast<std::size_t>(fetch_rows))
      break;
  }
  tx.exec0("CLOSE tidesync_digest");
  auto count = digest.rows();
  return {count, digest.finish()};
}

void list_rows(pqxx::transaction_base& tx, const tenant_table& tenant,
               const digest_columns& columns, const protocol::digest_request::row_list& list,
               protocol::digest_answer& answer) {
  auto types = key_types(tenant.schema);
  auto sql = range_select(tx, tenant, columns, list.range, list.after, true) + " LIMIT " +
             std::to_string(list.limit + 1);
  std::vector<std::optional<std::string_view>> cells(columns.types.size());
  for (const auto& row : tx.exec(sql)) {
    if (static_cast<std::int64_t>(answer.rows.size()) == list.limit) {
      answer.next = answer.rows.back().key;
      break;
    }
    protocol::listed_row listed;
    for (std::size_t i = 0; i < types.size(); ++i)
      listed.key.push_back(row[static_cast<pqxx::row::size_type>(i)].c_str());
    for (std::size_t i = 0; i < cells.size(); ++i)
      cells[i] = field_text(row[static_cast<pqxx::row::size_type>(types.size() + i)]);
    listed.digest = protocol::single_row_digest(cells, columns.types);
    answer.rows.push_back(std::move(listed));
  }
}

} // namespace

boost::json::value postgres_store::digests(const std::string& client_id,
                                           const std::string& database_id,
                                           const std::string& table,
                                           const boost::json::value& body) {
  const auto& data_schema = impl_->options.data_schema;
  return impl_->connection.run([&](pqxx::connection& c) {
    pqxx::read_transaction tx{c};
    auto tenant = load_tenant_table(tx, data_schema, client_id, database_id, table, false);
    auto types = key_types(tenant.schema);
    auto request = protocol::digest_request_from_json(body, types);
    auto columns = covered_columns(tenant, request.columns);
    protocol::digest_answer answer;
    answer.columns = columns.names;
    if (request.list)
      list_rows(tx, tenant, columns, *request.list, answer);
    for (const auto& range : request.ranges)
      answer.ranges.push_back(digest_range(tx, tenant, columns, range));
    tx.commit();
    return protocol::to_json(answer, types);
  });
}

protocol::table_version postgres_store::recount_summary(const std::string& client_id,
                                                        const std::string& database_id,
                                                        const std::string& table) {
  const auto& data_schema = impl_->options.data_schema;
  return impl_->connection.run([&](pqxx::connection& c) {
    pqxx::work tx{c};
    auto tenant = load_tenant_table(tx, data_schema, client_id, database_id, table, true);
    auto summary = storage::recount_summary(tx, tenant);
    tx.commit();
    return summary;
  });
}

} // namespace tidesync::storage
