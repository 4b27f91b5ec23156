#pragma once

#include "protocol/column_type.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace tidesync::protocol {

/// Why the server would refuse PostgreSQL text `text` as a cell of `type`, or
/// std::nullopt when it would take it. The text goes the whole way a cell
/// goes, through cell_from_pg_text and then the server's own check
/// (append_copy_cell), so a site refuses exactly what the server would,
/// without a request. The reason is printable: bytes that are not UTF-8
/// appear as `\xNN`.
std::optional<std::string> pg_text_refusal(std::string_view text, column_type type);

/// `text` with every byte that is not part of valid UTF-8 (and every NUL)
/// written as `\xNN`, so a reason or key can be logged, stored and shown as JSON.
std::string printable_text(std::string_view text);

} // namespace tidesync::protocol
