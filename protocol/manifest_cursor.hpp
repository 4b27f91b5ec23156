#pragma once

#include "protocol/table_schema.hpp"

#include <boost/json/fwd.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace tidesync::protocol {

/// A (version, key) position in a manifest, as the `after` parameter carries it.
///
/// Part of the wire protocol (docs/api.md, manifest): `after` is the unpadded
/// base64url encoding of the JSON array `[version, key cells…]`, each key cell
/// in its wire form. The server's `next` is the position of a page's last
/// entry; a client may build one to start a page after any position.
struct manifest_cursor {
  std::int64_t version = 0;
  std::vector<std::string> key_text;  // PostgreSQL text of each key cell
};

/// The `after` string for the position (`version`, `key` as wire cells).
std::string encode_cursor(std::int64_t version, const std::vector<boost::json::value>& key);

/// Reads an `after` string back, checking its key cells against the key's
/// types; throws api_error(bad_request) when it is malformed.
manifest_cursor decode_cursor(const std::string& text, const table_schema& schema);

} // namespace tidesync::protocol
