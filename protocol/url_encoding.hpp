#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace tidesync::protocol {

/// Percent-encodes everything but RFC 3986's unreserved characters, so any
/// text (a manifest position, a name) can travel in a path segment or a query
/// value.
std::string url_encode(std::string_view text);

/// Undoes percent-encoding (any byte may be encoded, `+` stays itself);
/// std::nullopt for a `%` not followed by two hex digits.
std::optional<std::string> url_decode(std::string_view text);

} // namespace tidesync::protocol
