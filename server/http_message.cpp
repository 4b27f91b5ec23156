#include "server/http_message.hpp"

#include "protocol/content_coding.hpp"
#include "storage/token_hash.hpp"

#include <cctype>

namespace tidesync::server {

std::string_view http_request::header(const std::string& name) const {
  // Names are kept lower-case; callers may spell them as the RFCs do.
  std::string key = name;
  for (auto& c : key)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  auto it = headers.find(key);
  return it == headers.end() ? std::string_view{} : std::string_view{it->second};
}

http_response json_response(std::string body, int status) {
  http_response response;
  response.status = status;
  response.body = std::move(body);
  return response;
}

http_response json_response_unless_known(const http_request& request, std::string body) {
  // 128 bits of SHA-256: a tag names one listing among the few a client
  // sees, and a client can't make two bodies collide.
  auto etag = "\"" + storage::token_hash::sha256_hex(body).substr(0, 32) + "\"";
  http_response response;
  if (if_none_match_matches(request.header("if-none-match"), etag)) {
    response.status = 304;
    response.content_type.clear();
  } else {
    response.body = std::move(body);
  }
  response.headers.emplace_back("ETag", std::move(etag));
  return response;
}

bool if_none_match_matches(std::string_view if_none_match, std::string_view etag) {
  auto opaque = [](std::string_view tag) {
    if (tag.starts_with("W/"))
      tag.remove_prefix(2);
    return tag;
  };
  while (!if_none_match.empty()) {
    auto comma = if_none_match.find(',');
    auto item = if_none_match.substr(0, comma);
    if_none_match.remove_prefix(comma == std::string_view::npos ? if_none_match.size() : comma + 1);
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t'))
      item.remove_prefix(1);
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t'))
      item.remove_suffix(1);
    if (item == "*" || (!item.empty() && opaque(item) == opaque(etag)))
      return true;
  }
  return false;
}

http_response error_response(protocol::error_code code, std::string_view message) {
  http_response response;
  response.status = protocol::http_status(code);
  response.body = protocol::error_body(code, message);
  if (code == protocol::error_code::unavailable)
    response.headers.emplace_back("Retry-After", "1");
  // RFC 7694: the codings this server reads, for a client to fall back to.
  if (code == protocol::error_code::unsupported_media)
    response.headers.emplace_back("Accept-Encoding", std::string(protocol::accepted_codings));
  return response;
}

} // namespace tidesync::server
