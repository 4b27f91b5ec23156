#include "protocol/table_version.hpp"

#include "protocol/error.hpp"
#include "protocol/json_fields.hpp"

#include <boost/json/value.hpp>

namespace tidesync::protocol {

boost::json::value to_json(const table_version& version) {
  boost::json::object out;
  out["count"] = version.count;
  if (version.max_version)
    out["max_version"] = *version.max_version;
  else
    out["max_version"] = nullptr;
  if (version.max_modified)
    out["max_modified"] = *version.max_modified;
  else
    out["max_modified"] = nullptr;
  return out;
}

table_version table_version_from_json(const boost::json::value& json) {
  namespace jf = json_fields;
  const auto& object = jf::as_object(json, "table version");
  table_version out;
  out.count = jf::as_int64(jf::required(object, "count", ""), "count");
  if (out.count < 0)
    throw api_error(error_code::bad_request, "count: must not be negative");
  if (const auto* max_version = jf::optional(object, "max_version"))
    out.max_version = jf::as_int64(*max_version, "max_version");
  if (const auto* max_modified = jf::optional(object, "max_modified"))
    out.max_modified = jf::as_string(*max_modified, "max_modified");
  return out;
}

} // namespace tidesync::protocol
