#pragma once

#include "protocol/table_schema.hpp"
#include "storage/source.hpp"
#include "sync/row_position.hpp"

#include <optional>
#include <string>

namespace tidesync::actors {

// Rows held back at the site: what the agent cannot encode for the declared
// column types never goes to the server. They share the state store's skipped
// rows with the rows the server rejected, under a key from quarantine_key.

/// Why `row` cannot be sent: its first cell the server's codec would refuse,
/// as "column note: expected …" ("key column id: …" for a key cell); or
/// std::nullopt when every cell encodes.
std::optional<std::string> unencodable_reason(const protocol::table_schema& schema,
                                              const storage::text_row& row);

/// The name a held or skipped row has in the state store: its wire key
/// (key_json) when the key encodes, else `{"site_key":[…]}`, the key's local
/// text (a cell that is not valid UTF-8 as `{"hex":"…"}`), which the server
/// could not hold but the site can still find the row by.
std::string quarantine_key(const protocol::table_schema& schema, const sync::row_key& key);

/// The key cells a quarantine_key names; throws std::exception on malformed text.
sync::row_key quarantine_key_cells(const protocol::table_schema& schema,
                                   const std::string& text);

} // namespace tidesync::actors
