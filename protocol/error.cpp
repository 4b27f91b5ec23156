#include "protocol/error.hpp"

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <array>
#include <utility>

namespace tidesync::protocol {

namespace {

struct code_info {
  error_code code;
  int status;
  std::string_view name;
};

constexpr std::array<code_info, 13> code_table{{
    {error_code::bad_request, 400, "bad_request"},
    {error_code::unauthorized, 401, "unauthorized"},
    {error_code::forbidden, 403, "forbidden"},
    {error_code::not_found, 404, "not_found"},
    {error_code::method_not_allowed, 405, "method_not_allowed"},
    {error_code::conflict, 409, "conflict"},
    {error_code::columns_refused, 409, "columns_refused"},
    {error_code::payload_too_large, 413, "payload_too_large"},
    {error_code::unsupported_media, 415, "unsupported_media"},
    {error_code::limit_exceeded, 422, "limit_exceeded"},
    {error_code::header_too_large, 431, "header_too_large"},
    {error_code::unavailable, 503, "unavailable"},
    {error_code::internal, 500, "internal"},
}};

const code_info& info(error_code code) {
  for (const auto& entry : code_table)
    if (entry.code == code)
      return entry;
  return code_table.back();
}

} // namespace

int http_status(error_code code) {
  return info(code).status;
}

std::string_view code_name(error_code code) {
  return info(code).name;
}

error_code code_from_name(std::string_view name) {
  for (const auto& entry : code_table)
    if (entry.name == name)
      return entry.code;
  return error_code::internal;
}

std::string error_body(error_code code, std::string_view message) {
  boost::json::object error;
  error["code"] = code_name(code);
  error["message"] = message;
  boost::json::object body;
  body["error"] = std::move(error);
  return boost::json::serialize(body);
}

} // namespace tidesync::protocol
