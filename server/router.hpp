#pragma once

#include <map>
#include <string>
#include <string_view>

namespace tidesync::server {

/// Every route of the API (docs/api.md).
enum class route_kind {
  healthz,           // GET /healthz
  readyz,            // GET /readyz
  metrics,           // GET /metrics
  register_database, // POST /v1/customers/{c}/databases
  declare_schema,    // PUT  …/databases/{d}/tables/{t}/schema
  table_versions,    // GET  …/databases/{d}/tables
  table_version,     // GET  …/databases/{d}/tables/{t}
  upload,            // POST …/databases/{d}/tables/{t}
  delete_rows,       // DELETE …/databases/{d}/tables/{t}
  manifest,          // GET  …/databases/{d}/tables/{t}/manifest
  digests,           // POST …/databases/{d}/tables/{t}/digests
  recount,           // POST …/databases/{d}/tables/{t}/recount
};

/// A request target resolved to a route and its path parameters.
struct route_match {
  route_kind kind = route_kind::healthz;
  std::string client_id;
  std::string database_id;
  std::string table;
  /// Decoded query parameters; a repeated name keeps its last value.
  std::map<std::string, std::string> query;
};

/// Resolves `method` and `target`. Throws protocol::api_error: not_found for an
/// unknown path, method_not_allowed for a known path with another method,
/// bad_request for a malformed percent-encoding.
route_match match_route(std::string_view method, std::string_view target);

/// The route's label in metrics and logs ("upload", "manifest", …).
std::string_view route_name(route_kind kind);

/// True for routes that run against the store (and so on the database pool).
bool needs_store(route_kind kind);

/// True for routes that require a bearer token (all of /v1).
bool needs_token(route_kind kind);

} // namespace tidesync::server
