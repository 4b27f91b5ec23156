// postgres_store::manifest: (key, version) pages in (version, key) order.
#include "storage/postgres_store.hpp"

#include "protocol/cell_codec.hpp"
#include "protocol/error.hpp"
#include "protocol/manifest_cursor.hpp"
#include "storage/sql_names.hpp"
#include "storage/store_connection.hpp"
#include "storage/tenant_table.hpp"

#include <boost/json/value.hpp>
#include <pqxx/nontransaction>

namespace tidesync::storage {

namespace {

constexpr std::int64_t max_manifest_limit = 100000;

// The page's SELECT; every parameter travels as text and is cast in SQL.
struct page_statement {
  std::string sql;
  std::vector<std::string> params;

  std::string param(std::string value, std::string_view type) {
    params.push_back(std::move(value));
    return "$" + std::to_string(params.size()) + "::" + std::string(type);
  }
};

page_statement page_sql(const pqxx::transaction_base& tx, const tenant_table& tenant,
                        const manifest_query& query) {
  page_statement page;
  const auto& schema = tenant.schema;
  auto order = tx.quote_name(schema.version_column) + ", "
               + sql_names::column_list(tx, schema.key);
  page.sql = "SELECT " + order + " FROM " + tenant.target + " WHERE client_id = "
             + page.param(tenant.client_id, "text")
             + " AND database_id = " + page.param(tenant.database_id, "uuid");
  auto version = tx.quote_name(schema.version_column);
  if (query.min_version)
    page.sql += " AND " + version + " >= " + page.param(std::to_string(*query.min_version), "bigint");
  if (query.max_version)
    page.sql += " AND " + version + " <= " + page.param(std::to_string(*query.max_version), "bigint");
  if (query.after) {
    auto cursor = protocol::decode_cursor(*query.after, schema);
    auto bound = page.param(std::to_string(cursor.version), "bigint");
    for (std::size_t i = 0; i < schema.key.size(); ++i)
      bound += ", " + page.param(cursor.key_text[i],
                                 protocol::type_name(schema.find(schema.key[i])->type));
    // A row comparison the (tenant, version, key…) index answers directly.
    page.sql += " AND ROW(" + order + ") > ROW(" + bound + ")";
  }
  // One more than asked for tells whether another page follows.
  page.sql += " ORDER BY " + order + " LIMIT " + std::to_string(query.limit + 1);
  return page;
}

// The row's key cells; `floats` says how real and double precision keys travel.
std::vector<boost::json::value>
key_cells(const pqxx::row& row, const protocol::table_schema& schema, protocol::float_form floats) {
  std::vector<boost::json::value> key;
  for (std::size_t i = 0; i < schema.key.size(); ++i) {
    const auto& field = row[static_cast<pqxx::row::size_type>(i + 1)];
    key.push_back(protocol::cell_from_pg_text(std::string_view(field.c_str(), field.size()),
                                              schema.find(schema.key[i])->type, floats));
  }
  return key;
}

} // namespace

manifest_page postgres_store::manifest(const std::string& client_id,
                                       const std::string& database_id, const std::string& table,
                                       const manifest_query& query) {
  if (query.limit < 1 || query.limit > max_manifest_limit)
    throw protocol::api_error(protocol::error_code::bad_request,
                              "limit: expected 1 to " + std::to_string(max_manifest_limit));
  const auto& data_schema = impl_->options.data_schema;
  return impl_->connection.run([&](pqxx::connection& c) {
    pqxx::nontransaction tx{c};
    auto tenant = load_tenant_table(tx, data_schema, client_id, database_id, table, false);
    auto statement = page_sql(tx, tenant, query);
    auto rows = tx.exec_params(statement.sql, pqxx::prepare::make_dynamic_params(statement.params));
    manifest_page page;
    page.key_columns = tenant.schema.key;
    for (const auto& row : rows) {
      if (static_cast<std::int64_t>(page.entries.size()) == query.limit) {
        // Float keys as strings: a number would come back through a rounding parser.
        const auto& last = rows[static_cast<pqxx::result::size_type>(query.limit - 1)];
        page.next =
            protocol::encode_cursor(page.entries.back().version,
                                    key_cells(last, tenant.schema, protocol::float_form::text));
        break;
      }
      page.entries.push_back(
          {key_cells(row, tenant.schema, query.floats), row[0].as<std::int64_t>()});
    }
    return page;
  });
}

} // namespace tidesync::storage
