#include "server/http_message.hpp"

namespace tidesync::server {

std::string_view http_request::header(const std::string& name) const {
  auto it = headers.find(name);
  return it == headers.end() ? std::string_view{} : std::string_view{it->second};
}

http_response json_response(std::string body, int status) {
  http_response response;
  response.status = status;
  response.body = std::move(body);
  return response;
}

http_response error_response(protocol::error_code code, std::string_view message) {
  http_response response;
  response.status = protocol::http_status(code);
  response.body = protocol::error_body(code, message);
  if (code == protocol::error_code::unavailable)
    response.headers.emplace_back("Retry-After", "1");
  return response;
}

} // namespace tidesync::server
