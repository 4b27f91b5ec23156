#pragma once

#include "protocol/table_schema.hpp"

#include <boost/json/fwd.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace tidesync::storage {

/// Where a manifest page ended: the (version, key) of its last entry. The
/// client sees it only as an opaque string (base64url of the JSON array
/// `[version, key cells…]`) that it passes back to continue.
struct manifest_cursor {
  std::int64_t version = 0;
  std::vector<std::string> key_text;  // PostgreSQL text of each key cell
};

/// The continuation string for the entry (`version`, `key` as wire cells).
std::string encode_cursor(std::int64_t version, const std::vector<boost::json::value>& key);

/// Reads a continuation back, checking its key cells against the key's
/// types; throws api_error(bad_request) when it is malformed.
manifest_cursor decode_cursor(const std::string& text, const protocol::table_schema& schema);

} // namespace tidesync::storage
