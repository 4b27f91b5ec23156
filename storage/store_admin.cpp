// Clients, tokens and databases: the metadata side of postgres_store.
#include "storage/postgres_store.hpp"

#include "protocol/error.hpp"
#include "protocol/json_fields.hpp"
#include "storage/sql_names.hpp"
#include "storage/store_connection.hpp"
#include "storage/token_hash.hpp"

#include <pqxx/nontransaction>
#include <pqxx/transaction>

namespace tidesync::storage {

using protocol::api_error;
using protocol::error_code;

namespace {

constexpr std::size_t max_client_id_bytes = 63;
constexpr std::size_t max_database_name_bytes = 255;
// Longer than any secret we issue; anything longer is not worth hashing.
constexpr std::size_t max_secret_bytes = 256;

void require_client_id(const std::string& client_id) {
  bool ok = !client_id.empty() && client_id.size() <= max_client_id_bytes;
  for (char c : client_id)
    ok = ok && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
                || c == '_' || c == '-' || c == '.');
  if (!ok)
    throw api_error(error_code::bad_request,
                    "invalid client id " + protocol::json_fields::quoted(client_id)
                        + "; use 1-63 ASCII letters, digits, _, - and .");
}

void require_database_name(const std::string& name) {
  bool ok = !name.empty() && name.size() <= max_database_name_bytes;
  for (unsigned char c : name)
    ok = ok && c >= 0x20 && c != 0x7f;
  if (!ok)
    throw api_error(error_code::bad_request,
                    "invalid database name " + protocol::json_fields::quoted(name)
                        + "; use 1-255 bytes without control characters");
}

void require_client(pqxx::transaction_base& tx, const std::string& client_id) {
  if (tx.exec_params("SELECT 1 FROM tidesync.clients WHERE client_id = $1", client_id).empty())
    throw api_error(error_code::not_found, "unknown client " + protocol::json_fields::quoted(client_id));
}

std::string database_id_by_name(pqxx::transaction_base& tx, const std::string& client_id,
                                const std::string& name) {
  auto found = tx.exec_params("SELECT database_id::text FROM tidesync.databases"
                              " WHERE client_id = $1 AND name = $2",
                              client_id, name);
  if (found.empty())
    throw api_error(error_code::not_found,
                    "unknown database " + protocol::json_fields::quoted(name));
  return found[0][0].as<std::string>();
}

// Registers `name` for the client, or finds it when it exists.
database_info register_by_name(pqxx::transaction_base& tx, const std::string& client_id,
                               const std::string& name) {
  // A concurrent registration of the same name makes the INSERT wait and do
  // nothing; the SELECT then sees the committed row.
  auto inserted = tx.exec_params("INSERT INTO tidesync.databases (client_id, name)"
                                 " VALUES ($1, $2) ON CONFLICT (client_id, name) DO NOTHING"
                                 " RETURNING database_id::text",
                                 client_id, name);
  auto id = inserted.empty() ? database_id_by_name(tx, client_id, name)
                             : inserted[0][0].as<std::string>();
  return database_info{id, name};
}

// The database a narrowed token is for: an id, or a name that is registered
// when new. A uuid that is neither an id nor a name stays not_found: it is far
// more likely a mistyped id than a store meant to be called that.
database_info database_for_token(pqxx::transaction_base& tx, const std::string& client_id,
                                 const std::string& database) {
  if (!sql_names::is_uuid_text(database)) {
    require_database_name(database);
    return register_by_name(tx, client_id, database);
  }
  auto found = tx.exec_params("SELECT database_id::text, name FROM tidesync.databases"
                              " WHERE client_id = $1 AND (database_id = $2::uuid OR name = $3)"
                              " ORDER BY database_id = $2::uuid DESC LIMIT 1",
                              client_id, database, database);
  if (found.empty())
    throw api_error(error_code::not_found,
                    "unknown database " + protocol::json_fields::quoted(database));
  return database_info{found[0][0].as<std::string>(), found[0][1].as<std::string>()};
}

new_token insert_token(pqxx::transaction_base& tx, const std::string& client_id,
                       std::optional<database_info> database) {
  auto secret = token_hash::generate_secret();
  auto row = tx.exec_params1("INSERT INTO tidesync.tokens (client_id, database_id, secret_hash)"
                             " VALUES ($1, $2::uuid, $3) RETURNING token_id",
                             client_id, database ? database->database_id.c_str() : nullptr,
                             token_hash::hash_secret(secret));
  return {row[0].as<std::string>(), std::move(secret), std::move(database)};
}

token_summary token_summary_of(const pqxx::row& row) {
  token_summary token{row[0].as<std::string>(), std::nullopt, row[3].as<std::string>(),
                      std::nullopt};
  if (!row[1].is_null())
    token.database = database_info{row[1].as<std::string>(), row[2].as<std::string>()};
  if (!row[4].is_null())
    token.revoked_at = row[4].as<std::string>();
  return token;
}

} // namespace

new_token postgres_store::create_client(const std::string& client_id) {
  require_client_id(client_id);
  return impl_->connection.run([&](pqxx::connection& c) {
    pqxx::work tx{c};
    auto inserted = tx.exec_params("INSERT INTO tidesync.clients (client_id) VALUES ($1)"
                                   " ON CONFLICT DO NOTHING",
                                   client_id);
    if (inserted.affected_rows() == 0)
      throw api_error(error_code::conflict,
                      "client " + protocol::json_fields::quoted(client_id) + " already exists");
    auto token = insert_token(tx, client_id, std::nullopt);
    tx.commit();
    return token;
  });
}

new_token postgres_store::create_token(const std::string& client_id,
                                       const std::optional<std::string>& database) {
  return impl_->connection.run([&](pqxx::connection& c) {
    pqxx::work tx{c};
    require_client(tx, client_id);
    std::optional<database_info> narrowed_to;
    if (database)
      narrowed_to = database_for_token(tx, client_id, *database);
    auto token = insert_token(tx, client_id, std::move(narrowed_to));
    tx.commit();
    return token;
  });
}

bool postgres_store::revoke_token(const std::string& token_id) {
  return impl_->connection.run([&](pqxx::connection& c) {
    pqxx::work tx{c};
    auto revoked = tx.exec_params("UPDATE tidesync.tokens SET revoked_at = now()"
                                  " WHERE token_id = $1 AND revoked_at IS NULL",
                                  token_id);
    tx.commit();
    return revoked.affected_rows() == 1;
  });
}

std::vector<client_summary> postgres_store::list_clients() {
  return impl_->connection.run([&](pqxx::connection& c) {
    pqxx::nontransaction tx{c};
    std::vector<client_summary> clients;
    for (const auto& row : tx.exec(
             "SELECT c.client_id, c.created_at::text,"
             " (SELECT count(*) FROM tidesync.databases d WHERE d.client_id = c.client_id),"
             " (SELECT count(*) FROM tidesync.tokens t"
             "   WHERE t.client_id = c.client_id AND t.revoked_at IS NULL)"
             " FROM tidesync.clients c ORDER BY c.client_id"))
      clients.push_back({row[0].as<std::string>(), row[1].as<std::string>(),
                         row[2].as<std::int64_t>(), row[3].as<std::int64_t>()});
    return clients;
  });
}

std::vector<token_summary> postgres_store::list_tokens(const std::string& client_id) {
  return impl_->connection.run([&](pqxx::connection& c) {
    pqxx::read_transaction tx{c};
    require_client(tx, client_id);
    std::vector<token_summary> tokens;
    // Never the secret's hash: listings end up in terminals, tickets and logs.
    for (const auto& row :
         tx.exec_params("SELECT t.token_id, t.database_id::text, d.name, t.created_at::text,"
                        " t.revoked_at::text FROM tidesync.tokens t"
                        " LEFT JOIN tidesync.databases d ON d.database_id = t.database_id"
                        " WHERE t.client_id = $1 ORDER BY t.created_at, t.token_id",
                        client_id))
      tokens.push_back(token_summary_of(row));
    return tokens;
  });
}

namespace {

// The token's columns first; `extra` adds columns after them.
std::string token_query(std::string_view extra) {
  return "SELECT t.token_id, t.client_id, t.database_id::text, d.name" + std::string{extra} +
         " FROM tidesync.tokens t"
         " LEFT JOIN tidesync.databases d ON d.database_id = t.database_id"
         " WHERE t.secret_hash = $1 AND t.revoked_at IS NULL";
}

token_identity identity_of(const pqxx::row& row) {
  token_identity identity{row[0].as<std::string>(), row[1].as<std::string>(), {}, {}};
  if (!row[2].is_null()) {
    identity.database_id = row[2].as<std::string>();
    identity.database_name = row[3].as<std::string>();
  }
  return identity;
}

} // namespace

std::optional<token_identity> postgres_store::authenticate(const std::string& secret) {
  if (secret.empty() || secret.size() > max_secret_bytes)
    return std::nullopt;
  auto hash = token_hash::hash_secret(secret);
  return impl_->connection.run([&](pqxx::connection& c) -> std::optional<token_identity> {
    pqxx::nontransaction tx{c};
    auto found = tx.exec_params(token_query(""), hash);
    if (found.empty())
      return std::nullopt;
    return identity_of(found[0]);
  });
}

std::optional<std::pair<token_identity, bool>>
postgres_store::authenticate_for_database(const std::string& secret,
                                          const std::string& database_id) {
  if (secret.empty() || secret.size() > max_secret_bytes)
    return std::nullopt;
  sql_names::require_database_id(database_id);
  auto hash = token_hash::hash_secret(secret);
  return impl_->connection.run(
      [&](pqxx::connection& c) -> std::optional<std::pair<token_identity, bool>> {
        pqxx::nontransaction tx{c};
        auto found = tx.exec_params(
            token_query(", EXISTS (SELECT 1 FROM tidesync.databases p"
                        " WHERE p.database_id = $2::uuid AND p.client_id = t.client_id)"),
            hash, database_id);
        if (found.empty())
          return std::nullopt;
        return std::pair{identity_of(found[0]), found[0][4].as<bool>()};
      });
}

database_info postgres_store::register_database(const std::string& client_id,
                                                const std::string& name) {
  require_database_name(name);
  return impl_->connection.run([&](pqxx::connection& c) {
    pqxx::work tx{c};
    require_client(tx, client_id);
    auto info = register_by_name(tx, client_id, name);
    tx.commit();
    return info;
  });
}

} // namespace tidesync::storage
