#pragma once

#include "protocol/error.hpp"

#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tidesync::server {

/// A complete HTTP request as the handlers see it, free of any network type.
struct http_request {
  std::string method; // "GET", "POST", …
  std::string target; // path and query, as sent
  /// Header fields by lower-case name; a repeated field keeps its last value.
  std::map<std::string, std::string> headers;
  std::string body;

  /// The value of header `name` (any case), or an empty view.
  std::string_view header(const std::string& name) const;
};

/// The response a handler produces.
struct http_response {
  int status = 200;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers; // extra fields
  std::string body;
  /// Close the connection after this response (e.g. after 413).
  bool close = false;
};

/// 200 (or `status`) with a JSON body.
http_response json_response(std::string body, int status = 200);

/// `body` as a JSON response tagged with a strong ETag (a digest of the
/// body); 304 with no body when the request's If-None-Match names that tag,
/// so a client that polls an unchanged document skips receiving and parsing it.
http_response json_response_unless_known(const http_request& request, std::string body);

/// True when an If-None-Match value (a list of entity tags, or "*") matches
/// `etag` by the weak comparison RFC 9110 prescribes for it.
bool if_none_match_matches(std::string_view if_none_match, std::string_view etag);

/// The error body `{"error":{"code","message"}}` with the code's status.
http_response error_response(protocol::error_code code, std::string_view message);

} // namespace tidesync::server
