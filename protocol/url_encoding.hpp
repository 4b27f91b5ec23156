#pragma once

#include <string>
#include <string_view>

namespace tidesync::protocol {

/// Percent-encodes everything but RFC 3986's unreserved characters, so any
/// text (a manifest position, a name) can travel in a path segment or a query
/// value.
std::string url_encode(std::string_view text);

} // namespace tidesync::protocol
