#pragma once

#include "protocol/column_type.hpp"
#include "protocol/table_schema.hpp"
#include "storage/source.hpp"
#include "sync/catch_up_plan.hpp"
#include "sync/row_position.hpp"

#include <span>
#include <string>
#include <vector>

namespace tidesync::actors {

// Request bodies built from a source's text rows: every cell goes through
// protocol::cell_from_pg_text, so each type has its one wire form.

/// The types of the key columns, in key order.
std::vector<protocol::column_type> key_types(const protocol::table_schema& schema);

/// `{"columns":[…],"rows":[[…],…]}` for an upload.
std::string upload_body(const protocol::table_schema& schema,
                        std::span<const storage::text_row> rows);

/// `{"keys":[[…],…]}` for a delete by key.
std::string delete_keys_body(const protocol::table_schema& schema,
                             std::span<const sync::row_key> keys);

/// `{"all":true}` or `{"above_version":V}`.
std::string delete_bulk_body(const sync::remote_delete& request);

/// A key's wire cells as a JSON array, as the state store keeps skipped rows.
std::string key_json(const protocol::table_schema& schema, const sync::row_key& key);

/// The text cells of a key_json; throws std::exception on malformed text.
sync::row_key key_from_json(const protocol::table_schema& schema, const std::string& text);

/// A 64-bit FNV-1a hash of the schema's wire form, in hex: what the state
/// store keeps to notice a changed table.
std::string schema_hash(const protocol::table_schema& schema);

} // namespace tidesync::actors
