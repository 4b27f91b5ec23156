#pragma once

#include <boost/json/fwd.hpp>

#include <cstdint>
#include <optional>
#include <string>

namespace tidesync::protocol {

/// The summary both sides compare at the start of every cycle:
/// `{"count": N, "max_version": V|null, "max_modified": "…"|null}`.
struct table_version {
  std::int64_t count = 0;
  std::optional<std::int64_t> max_version;
  /// Maximum of the table's modified column, ISO 8601 text; null when the
  /// table has none or is empty.
  std::optional<std::string> max_modified;

  friend bool operator==(const table_version&, const table_version&) = default;
};

boost::json::value to_json(const table_version& version);

/// Throws api_error(bad_request) on a malformed object.
table_version table_version_from_json(const boost::json::value& json);

} // namespace tidesync::protocol
