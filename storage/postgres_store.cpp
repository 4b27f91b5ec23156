#include "storage/postgres_store.hpp"

#include "protocol/error.hpp"
#include "storage/sql_names.hpp"
#include "storage/store_connection.hpp"
#include "storage/store_migrations.hpp"

#include <pqxx/nontransaction>

namespace tidesync::storage {

using protocol::api_error;
using protocol::error_code;

namespace {

store_options checked(store_options options) {
  if (!protocol::is_valid_identifier(options.data_schema) || options.data_schema == "tidesync")
    throw api_error(error_code::internal,
                    "invalid data schema name \"" + options.data_schema + "\"");
  return options;
}

} // namespace

postgres_store::postgres_store(store_options options)
  : impl_(std::make_unique<impl>(checked(std::move(options)))) {}

postgres_store::~postgres_store() = default;

void postgres_store::migrate() {
  impl_->connection.run([&](pqxx::connection& c) {
    apply_migrations(c, impl_->options.data_schema);
  });
}

bool postgres_store::ping() {
  try {
    return impl_->connection.run([](pqxx::connection& c) {
      pqxx::nontransaction tx{c};
      return tx.exec1("SELECT 1")[0].as<int>() == 1;
    });
  } catch (const api_error&) {
    return false;
  }
}

void postgres_store::require_database(const std::string& client_id,
                                      const std::string& database_id) {
  sql_names::require_database_id(database_id);
  impl_->connection.run([&](pqxx::connection& c) {
    pqxx::nontransaction tx{c};
    auto found = tx.exec_params("SELECT 1 FROM tidesync.databases"
                                " WHERE database_id = $1::uuid AND client_id = $2",
                                database_id, client_id);
    if (found.empty())
      throw api_error(error_code::not_found, "unknown database " + database_id);
  });
}

} // namespace tidesync::storage
