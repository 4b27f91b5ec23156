#include "server/api_handlers.hpp"

#include "metrics/server_metrics.hpp"
#include "protocol/site_report.hpp"
#include "server/fleet_view.hpp"
#include "protocol/cell_codec.hpp"
#include "protocol/error.hpp"
#include "protocol/json_parse.hpp"
#include "protocol/column_refusal.hpp"
#include "protocol/table_schema.hpp"
#include "protocol/table_version.hpp"
#include "storage/postgres_store.hpp"
#include "storage/sql_names.hpp"

#include <boost/json.hpp>

#include <cctype>
#include <charconv>

namespace tidesync::server {

namespace {

using protocol::api_error;
using protocol::error_code;
namespace json = boost::json;

constexpr std::int64_t default_manifest_limit = 10'000;
constexpr std::int64_t max_manifest_limit = 100'000;

json::value parse_body(const http_request& request) {
  boost::system::error_code ec;
  // An upload body becomes millions of small nodes: one arena that the value
  // owns makes them one allocation to make and one to free.
  auto arena = json::make_shared_resource<json::monotonic_resource>();
  auto value = protocol::parse_json_exact(request.body, ec, std::move(arena));
  if (ec)
    throw api_error(error_code::bad_request, "malformed JSON body: " + ec.message());
  return value;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size())
    return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  return true;
}

// 401 without a known token, 403 when the path is outside the token's scope,
// 404 when the path's database is not the client's. The database scope is
// checked before the database's existence, so a narrowed token learns nothing
// about other databases. Where the path names a well-formed database id, one
// statement reads the token and that database.
storage::token_identity authorize(const http_request& request, const route_match& route,
                                  storage::postgres_store& store) {
  auto secret = bearer_secret(request.header("authorization"));
  if (secret.empty())
    throw api_error(error_code::unauthorized, "missing bearer token");
  const bool names_database = route.kind != route_kind::register_database;
  if (names_database && storage::sql_names::is_uuid_text(route.database_id)) {
    auto found = store.authenticate_for_database(secret, route.database_id);
    if (!found)
      throw api_error(error_code::unauthorized, "unknown or revoked token");
    check_scope(found->first, route);
    if (!found->second)
      throw api_error(error_code::not_found, "unknown database " + route.database_id);
    return found->first;
  }
  auto identity = store.authenticate(secret);
  if (!identity)
    throw api_error(error_code::unauthorized, "unknown or revoked token");
  check_scope(*identity, route);
  if (names_database)
    store.require_database(route.client_id, route.database_id);
  return *identity;
}

void require_table_name(const route_match& route) {
  if (!protocol::is_valid_identifier(route.table))
    throw api_error(error_code::bad_request, "invalid table name \"" + route.table + "\"");
}

std::optional<std::int64_t> int_parameter(const route_match& route, const std::string& name) {
  auto it = route.query.find(name);
  if (it == route.query.end())
    return std::nullopt;
  const auto& text = it->second;
  std::int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size() || text.empty())
    throw api_error(error_code::bad_request,
                    "query parameter " + name + ": expected an integer, got \"" + text + "\"");
  return value;
}

// `true` or `false`; absent is false.
bool bool_parameter(const route_match& route, const std::string& name) {
  auto it = route.query.find(name);
  if (it == route.query.end() || it->second == "false")
    return false;
  if (it->second == "true")
    return true;
  throw api_error(error_code::bad_request, "query parameter " + name +
                                               ": expected \"true\" or \"false\", got \"" +
                                               it->second + "\"");
}

// How the manifest writes float key cells: `floats=string` (exact) or
// `floats=number` (the default, which agents of the previous release read).
protocol::float_form floats_parameter(const route_match& route) {
  auto it = route.query.find("floats");
  if (it == route.query.end() || it->second == "number")
    return protocol::float_form::number;
  if (it->second == "string")
    return protocol::float_form::text;
  throw api_error(error_code::bad_request,
                  "query parameter floats: expected \"string\" or \"number\", got \"" + it->second +
                      "\"");
}

http_response database_response(const storage::database_info& info) {
  return json_response(
      json::serialize(json::object{{"database_id", info.database_id}, {"name", info.name}}));
}

json::object version_object(const protocol::table_version& version) {
  return protocol::to_json(version).as_object();
}

} // namespace

void check_scope(const storage::token_identity& identity, const route_match& route) {
  if (identity.client_id != route.client_id)
    throw api_error(error_code::forbidden, "the token belongs to another client");
  if (identity.database_id && !route.database_id.empty() &&
      *identity.database_id != route.database_id)
    throw api_error(error_code::forbidden, "the token is narrowed to another database");
}

std::string bearer_secret(std::string_view authorization) {
  constexpr std::string_view scheme = "bearer ";
  if (authorization.size() <= scheme.size() ||
      !iequals(authorization.substr(0, scheme.size()), scheme))
    return {};
  auto secret = authorization.substr(scheme.size());
  while (!secret.empty() && secret.front() == ' ')
    secret.remove_prefix(1);
  while (!secret.empty() && secret.back() == ' ')
    secret.remove_suffix(1);
  return std::string{secret};
}

api_handlers::api_handlers(metrics::server_metrics& metrics, fleet_reports* fleet)
  : metrics_(metrics), fleet_(fleet) {}

http_response api_handlers::handle(const http_request& request, const route_match& route,
                                   storage::postgres_store& store) {
  if (route.kind == route_kind::readyz) {
    if (!store.ping())
      throw api_error(error_code::unavailable, "the database does not answer");
    return json_response(R"({"status":"ready"})");
  }
  auto identity = authorize(request, route, store);
  if (route.kind == route_kind::register_database)
    return register_database(request, route, identity, store);
  switch (route.kind) {
  case route_kind::table_versions:
    return table_versions(request, route, store);
  case route_kind::declare_schema:
    return declare_schema(request, route, store);
  case route_kind::table_version:
    return table_version(route, store);
  case route_kind::upload:
    return upload(request, route, store);
  case route_kind::delete_rows:
    return delete_rows(request, route, store);
  case route_kind::manifest:
    return manifest(route, store);
  case route_kind::digests:
    return digests(request, route, store);
  case route_kind::recount:
    return recount(route, store);
  default:
    break;
  }
  throw api_error(error_code::not_found, "no such route");
}

http_response api_handlers::register_database(const http_request& request, const route_match& route,
                                              const storage::token_identity& identity,
                                              storage::postgres_store& store) {
  auto body = parse_body(request);
  const auto* object = body.if_object();
  const json::value* name = object ? object->if_contains("name") : nullptr;
  if (name == nullptr || !name->is_string() || name->as_string().empty())
    throw api_error(error_code::bad_request, "expected {\"name\": \"<database name>\"}");
  std::string requested{name->as_string()};
  if (!identity.database_id)
    return database_response(store.register_database(route.client_id, requested));
  // The agent registers by name on first contact whatever its token; a narrowed
  // token's database exists since the token does, so this needs no write.
  if (identity.database_name != requested)
    throw api_error(error_code::forbidden, "the token is narrowed to another database");
  return database_response({*identity.database_id, requested});
}

http_response api_handlers::declare_schema(const http_request& request, const route_match& route,
                                           storage::postgres_store& store) {
  require_table_name(route);
  auto schema = protocol::table_schema_from_json(parse_body(request));
  try {
    auto stored = store.declare_table(route.client_id, route.database_id, route.table, schema);
    return json_response(json::serialize(protocol::to_json(stored)));
  } catch (const protocol::columns_refused_error& e) {
    return json_response(protocol::columns_refused_body(e.what(), e.columns()),
                         protocol::http_status(e.code()));
  }
}

http_response api_handlers::table_versions(const http_request& request, const route_match& route,
                                           storage::postgres_store& store) {
  json::object tables;
  for (const auto& [name, version] : store.table_versions(route.client_id, route.database_id))
    tables[name] = protocol::to_json(version);
  // The agent's own view of these tables, for the fleet view.
  if (fleet_)
    fleet_->listed(route.client_id, route.database_id, request.header("user-agent"),
                   request.header(protocol::site_report_header));
  // An idle agent asks for this every cycle and mostly gets what it has.
  return json_response_unless_known(
    request, json::serialize(json::object{{"tables", std::move(tables)}}));
}

http_response api_handlers::table_version(const route_match& route,
                                          storage::postgres_store& store) {
  require_table_name(route);
  auto version = store.table_version(route.client_id, route.database_id, route.table);
  return json_response(json::serialize(protocol::to_json(version)));
}

http_response api_handlers::upload(const http_request& request, const route_match& route,
                                   storage::postgres_store& store) {
  require_table_name(route);
  const bool recount = bool_parameter(route, "recount");
  // Read as it loads; a body in another shape, or with an error, is parsed
  // whole instead, which accepts it or says what is wrong.
  std::optional<storage::upload_result> streamed;
  try {
    streamed =
        store.upload_text(route.client_id, route.database_id, route.table, request.body, recount);
  } catch (const api_error& e) {
    // A malformed body is a 400 before an unknown table is a 404, as when
    // every body was parsed first.
    if (e.code() == error_code::not_found)
      parse_body(request);
    throw;
  }
  auto result = streamed ? std::move(*streamed)
                         : store.upload(route.client_id, route.database_id, route.table,
                                        parse_body(request), recount);
  metrics_.add_rows_uploaded(result.rows);
  if (fleet_)
    fleet_->uploaded(route.client_id, route.database_id);
  json::object out{
      {"rows", result.rows}, {"inserted", result.inserted}, {"updated", result.updated}};
  for (auto& [key, value] : version_object(result.version))
    out[key] = value;
  out.erase("max_modified");
  return json_response(json::serialize(out));
}

http_response api_handlers::delete_rows(const http_request& request, const route_match& route,
                                        storage::postgres_store& store) {
  require_table_name(route);
  auto result =
      store.delete_rows(route.client_id, route.database_id, route.table, parse_body(request));
  metrics_.add_rows_deleted(result.deleted);
  json::object out{{"deleted", result.deleted}};
  for (auto& [key, value] : version_object(result.version))
    out[key] = value;
  out.erase("max_modified");
  return json_response(json::serialize(out));
}

http_response api_handlers::manifest(const route_match& route, storage::postgres_store& store) {
  require_table_name(route);
  storage::manifest_query query;
  query.min_version = int_parameter(route, "min_version");
  query.max_version = int_parameter(route, "max_version");
  query.limit = int_parameter(route, "limit").value_or(default_manifest_limit);
  if (query.limit < 1 || query.limit > max_manifest_limit)
    throw api_error(error_code::bad_request,
                    "query parameter limit: expected 1 to " + std::to_string(max_manifest_limit));
  if (auto after = route.query.find("after"); after != route.query.end())
    query.after = after->second;
  query.floats = floats_parameter(route);
  auto page = store.manifest(route.client_id, route.database_id, route.table, query);
  json::array entries;
  entries.reserve(page.entries.size());
  for (auto& entry : page.entries)
    entries.push_back(json::object{{"key", json::array(entry.key.begin(), entry.key.end())},
                                   {"version", entry.version}});
  json::array key_columns(page.key_columns.begin(), page.key_columns.end());
  json::value next = page.next ? json::value(*page.next) : json::value(nullptr);
  return json_response(json::serialize(json::object{
      {"key_columns", std::move(key_columns)}, {"entries", std::move(entries)}, {"next", next}}));
}

http_response api_handlers::digests(const http_request& request, const route_match& route,
                                    storage::postgres_store& store) {
  require_table_name(route);
  auto answer = store.digests(route.client_id, route.database_id, route.table, parse_body(request));
  return json_response(json::serialize(answer));
}

http_response api_handlers::recount(const route_match& route, storage::postgres_store& store) {
  require_table_name(route);
  auto version = store.recount_summary(route.client_id, route.database_id, route.table);
  return json_response(json::serialize(protocol::to_json(version)));
}

} // namespace tidesync::server
