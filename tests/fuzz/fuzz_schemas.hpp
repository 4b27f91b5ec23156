#pragma once

#include "protocol/table_schema.hpp"

#include <string_view>
#include <vector>

// Tables the body and cursor targets decode against, shaped like the ones
// the agent declares: a version column, a modified column, every cell type.
namespace tidesync::fuzz {

/// `items`: a bigint key and one column of every other type.
protocol::table_schema items_schema();

/// `readings`: a composite key of text, uuid, timestamptz and integer.
protocol::table_schema readings_schema();

/// A table keyed by one column of `type` (any type, json included: the codec
/// does not know which types PostgreSQL can index).
protocol::table_schema single_key_schema(protocol::column_type type);

/// The schema named `name` ("items" or "readings"), or nullptr.
const protocol::table_schema* schema_named(std::string_view name);

/// The types of the schema's key columns, in key order.
std::vector<protocol::column_type> key_types(const protocol::table_schema& schema);

/// Every column type, in declaration order.
std::vector<protocol::column_type> all_column_types();

} // namespace tidesync::fuzz
