#pragma once

#include "server/http_message.hpp"
#include "server/router.hpp"

namespace tidesync::storage {
class postgres_store;
struct token_identity;
} // namespace tidesync::storage

namespace tidesync::metrics {
class server_metrics;
} // namespace tidesync::metrics

namespace tidesync::server {

class fleet_reports;

/// The routes that run against the store: /readyz and every /v1 route.
/// Authentication and the token's scope are checked here, in the order
/// docs/api.md gives: 401, then 403 (client, then database scope), then 404.
/// Runs on a database worker with that worker's store.
class api_handlers {
public:
  /// `fleet`, when not null, learns of every answered listing and upload.
  explicit api_handlers(metrics::server_metrics& metrics, fleet_reports* fleet = nullptr);

  /// Answers `request` (its body already decoded) for the resolved `route`.
  /// Throws protocol::api_error for every error the API reports.
  http_response handle(const http_request& request, const route_match& route,
                       storage::postgres_store& store);

private:
  http_response register_database(const http_request& request, const route_match& route,
                                  const storage::token_identity& identity,
                                  storage::postgres_store& store);
  http_response declare_schema(const http_request& request, const route_match& route,
                               storage::postgres_store& store);
  http_response table_versions(const http_request& request, const route_match& route,
                               storage::postgres_store& store);
  http_response table_version(const route_match& route, storage::postgres_store& store);
  http_response upload(const http_request& request, const route_match& route,
                       storage::postgres_store& store);
  http_response delete_rows(const http_request& request, const route_match& route,
                            storage::postgres_store& store);
  http_response manifest(const route_match& route, storage::postgres_store& store);
  http_response digests(const http_request& request, const route_match& route,
                        storage::postgres_store& store);
  http_response recount(const route_match& route, storage::postgres_store& store);

  metrics::server_metrics& metrics_;
  fleet_reports* fleet_;
};

/// Throws api_error(forbidden) when `route` is outside the token's scope:
/// another client's path, or another database than the one it is narrowed to.
void check_scope(const storage::token_identity& identity, const route_match& route);

/// The secret of an `Authorization: Bearer <secret>` header, or an empty
/// string when the header is missing or uses another scheme.
std::string bearer_secret(std::string_view authorization);

} // namespace tidesync::server
