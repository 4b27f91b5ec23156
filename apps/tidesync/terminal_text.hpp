#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace tidesync::app {

/// The length of the valid UTF-8 sequence starting at `text[at]` (1 to 4),
/// 0 when the bytes there are not one (overlong, surrogate, cut short, …).
std::size_t utf8_sequence_length(std::string_view text, std::size_t at);

/// `text` (a name from a site or a server) made safe to print on a terminal:
/// printable UTF-8 is kept; control characters (C0, DEL, C1), line and
/// paragraph separators and bidirectional overrides become `\u{XXXX}`, a byte
/// that is not UTF-8 becomes `\xNN`, so a name cannot move the cursor, set
/// the title or reorder what follows it.
std::string terminal_text(std::string_view text);

} // namespace tidesync::app
