#include "storage/sql_names.hpp"

#include "protocol/error.hpp"
#include "protocol/json_fields.hpp"
#include "protocol/table_schema.hpp"

#include <cstdint>
#include <cstdio>

namespace tidesync::storage::sql_names {

namespace {

// PostgreSQL truncates longer identifiers silently (NAMEDATALEN - 1).
constexpr std::size_t max_identifier_bytes = 63;

std::uint32_t fnv1a(std::string_view text) {
  std::uint32_t hash = 2166136261u;
  for (unsigned char c : text) {
    hash ^= c;
    hash *= 16777619u;
  }
  return hash;
}

bool is_hex_digit(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

} // namespace

std::string qualified(const pqxx::transaction_base& tx, const std::string& schema,
                      const std::string& table) {
  return tx.quote_name(schema) + "." + tx.quote_name(table);
}

std::string column_list(const pqxx::transaction_base& tx, const std::vector<std::string>& names,
                        std::string_view prefix) {
  std::string out;
  for (const auto& name : names) {
    if (!out.empty())
      out += ", ";
    out += prefix;
    out += tx.quote_name(name);
  }
  return out;
}

std::string object_name(const std::string& table, const std::string& purpose) {
  auto name = table + "#" + purpose;
  if (name.size() <= max_identifier_bytes)
    return name;
  char hash[9];
  std::snprintf(hash, sizeof hash, "%08x", fnv1a(name));
  return name.substr(0, max_identifier_bytes - 9) + "#" + hash;
}

void require_table_name(const std::string& table) {
  if (!protocol::is_valid_identifier(table))
    throw protocol::api_error(protocol::error_code::bad_request,
                              "invalid table name " + protocol::json_fields::quoted(table)
                                  + "; use 1-63 ASCII letters, digits and _, "
                                    "not starting with a digit");
}

bool is_uuid_text(std::string_view text) {
  if (text.size() != 36)
    return false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? text[i] != '-' : !is_hex_digit(text[i]))
      return false;
  }
  return true;
}

void require_database_id(const std::string& database_id) {
  if (!is_uuid_text(database_id))
    throw protocol::api_error(protocol::error_code::not_found, "unknown database");
}

} // namespace tidesync::storage::sql_names
