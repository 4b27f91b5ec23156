#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace tidesync::server {

/// Longest piece of request text a log line carries; the rest is cut.
inline constexpr std::size_t max_logged_bytes = 512;

/// `text` from a request made safe for a log line: control characters, DEL
/// and bytes outside ASCII become `\xNN` (and `\` becomes `\\`), so a client
/// cannot forge or split log lines; longer than max_logged_bytes ends in "…".
std::string log_text(std::string_view text);

} // namespace tidesync::server
