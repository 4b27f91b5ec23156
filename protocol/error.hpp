#pragma once

#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

namespace tidesync::protocol {

/// What went wrong, as the API reports it. Each code maps to one HTTP status.
enum class error_code {
  bad_request,        // 400: malformed JSON, wrong type, bad name, ...
  unauthorized,       // 401: no or unknown bearer token
  forbidden,          // 403: token of another client or outside its database scope
  not_found,          // 404: unknown client, database, table or route
  method_not_allowed, // 405
  conflict,           // 409: incompatible schema change (key or version column)
  columns_refused,    // 409: columns the shared table will not take; the rest may sync
  payload_too_large,  // 413: body over max_body_bytes (also after gunzip)
  unsupported_media,  // 415: unknown Content-Encoding
  limit_exceeded,     // 422: over a tenant limit (tables per database, columns per table)
  header_too_large,   // 431: request line and header fields over the server's limit
  unavailable,        // 503: pool saturated or database unreachable
  internal,           // 500
};

/// HTTP status code of `code`.
int http_status(error_code code);

/// Stable wire name of `code`, e.g. "bad_request".
std::string_view code_name(error_code code);

/// Parses a wire name back; returns `error_code::internal` for unknown names.
error_code code_from_name(std::string_view name);

/// An error that crosses the API: a code and a message for humans that says
/// which row, column, key or name is wrong.
class api_error : public std::runtime_error {
public:
  api_error(error_code code, std::string message)
      : std::runtime_error(std::move(message)), code_(code) {}

  error_code code() const noexcept { return code_; }

private:
  error_code code_;
};

/// The JSON error body `{"error":{"code":"…","message":"…"}}`.
std::string error_body(error_code code, std::string_view message);

} // namespace tidesync::protocol
