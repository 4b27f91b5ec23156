#include "server/router.hpp"

#include "protocol/error.hpp"
#include "protocol/url_encoding.hpp"

#include <algorithm>
#include <vector>

namespace tidesync::server {

namespace {

using protocol::api_error;
using protocol::error_code;

// Percent-decoding; `plus_is_space` for query strings (form encoding), where
// a '+' is a space and "%2B" a plus.
std::string decode(std::string_view text, bool plus_is_space) {
  std::string spaced;
  if (plus_is_space) {
    spaced = std::string(text);
    std::replace(spaced.begin(), spaced.end(), '+', ' ');
    text = spaced;
  }
  auto out = protocol::url_decode(text);
  if (!out)
    throw api_error(error_code::bad_request, "malformed percent-encoding in the request target");
  return std::move(*out);
}

std::vector<std::string> split_path(std::string_view path) {
  std::vector<std::string> segments;
  if (path.empty() || path.front() != '/')
    return segments;
  path.remove_prefix(1);
  while (true) {
    auto slash = path.find('/');
    segments.push_back(decode(path.substr(0, slash), false));
    if (slash == std::string_view::npos)
      break;
    path.remove_prefix(slash + 1);
  }
  return segments;
}

std::map<std::string, std::string> parse_query(std::string_view query) {
  std::map<std::string, std::string> params;
  while (!query.empty()) {
    auto amp = query.find('&');
    auto pair = query.substr(0, amp);
    if (!pair.empty()) {
      auto eq = pair.find('=');
      auto value = eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1);
      params[decode(pair.substr(0, eq), true)] = decode(value, true);
    }
    if (amp == std::string_view::npos)
      break;
    query.remove_prefix(amp + 1);
  }
  return params;
}

// The route for a path whose method table is `allowed`; 405 when `method` is
// not in it.
route_kind pick(std::string_view method,
                std::initializer_list<std::pair<std::string_view, route_kind>> allowed) {
  for (const auto& [m, kind] : allowed)
    if (m == method)
      return kind;
  throw api_error(error_code::method_not_allowed,
                  "method " + std::string(method) + " is not allowed on this path");
}

[[noreturn]] void unknown_route() {
  throw api_error(error_code::not_found, "no such route");
}

bool is_v1_prefix(const std::vector<std::string>& s) {
  return s.size() >= 4 && s[0] == "v1" && s[1] == "customers" && !s[2].empty() &&
         s[3] == "databases";
}

// Routes under /v1/customers/{c}/databases.
route_kind match_v1(std::string_view method, const std::vector<std::string>& s) {
  if (s.size() == 4)
    return pick(method, {{"POST", route_kind::register_database}});
  if (s.size() < 6 || s[4].empty() || s[5] != "tables")
    unknown_route();
  if (s.size() == 6)
    return pick(method, {{"GET", route_kind::table_versions}});
  if (s[6].empty())
    unknown_route();
  if (s.size() == 7)
    return pick(method, {{"GET", route_kind::table_version},
                         {"POST", route_kind::upload},
                         {"DELETE", route_kind::delete_rows}});
  if (s.size() == 8 && s[7] == "schema")
    return pick(method, {{"PUT", route_kind::declare_schema}});
  if (s.size() == 8 && s[7] == "manifest")
    return pick(method, {{"GET", route_kind::manifest}});
  if (s.size() == 8 && s[7] == "digests")
    return pick(method, {{"POST", route_kind::digests}});
  if (s.size() == 8 && s[7] == "recount")
    return pick(method, {{"POST", route_kind::recount}});
  unknown_route();
}

} // namespace

route_match match_route(std::string_view method, std::string_view target) {
  auto question = target.find('?');
  auto segments = split_path(target.substr(0, question));
  route_match match;
  if (question != std::string_view::npos)
    match.query = parse_query(target.substr(question + 1));
  if (segments.size() == 1 && segments[0] == "healthz")
    match.kind = pick(method, {{"GET", route_kind::healthz}});
  else if (segments.size() == 1 && segments[0] == "readyz")
    match.kind = pick(method, {{"GET", route_kind::readyz}});
  else if (segments.size() == 1 && segments[0] == "metrics")
    match.kind = pick(method, {{"GET", route_kind::metrics}});
  else if (is_v1_prefix(segments))
    match.kind = match_v1(method, segments);
  else
    unknown_route();
  if (segments.size() > 2)
    match.client_id = segments[2];
  if (segments.size() > 4)
    match.database_id = segments[4];
  if (segments.size() > 6)
    match.table = segments[6];
  return match;
}

std::string_view route_name(route_kind kind) {
  switch (kind) {
  case route_kind::healthz:
    return "healthz";
  case route_kind::readyz:
    return "readyz";
  case route_kind::metrics:
    return "metrics";
  case route_kind::register_database:
    return "register_database";
  case route_kind::declare_schema:
    return "declare_schema";
  case route_kind::table_versions:
    return "table_versions";
  case route_kind::table_version:
    return "table_version";
  case route_kind::upload:
    return "upload";
  case route_kind::delete_rows:
    return "delete_rows";
  case route_kind::manifest:
    return "manifest";
  case route_kind::digests:
    return "digests";
  case route_kind::recount:
    return "recount";
  }
  return "unknown";
}

bool needs_store(route_kind kind) {
  return kind != route_kind::healthz && kind != route_kind::metrics;
}

bool needs_token(route_kind kind) {
  return kind != route_kind::healthz && kind != route_kind::readyz && kind != route_kind::metrics;
}

} // namespace tidesync::server
