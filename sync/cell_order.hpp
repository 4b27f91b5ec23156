#pragma once

#include "protocol/column_type.hpp"

#include <compare>
#include <string_view>

namespace tidesync::sync {

/// How the PostgreSQL text form of a key cell compares, so that the agent
/// orders keys exactly as the sources and the store do.
enum class cell_order {
  /// smallint, integer, bigint: by numeric value ("9" < "10").
  integer,
  /// numeric: by decimal value ("2.50" == "2.5"); "NaN" above every number.
  decimal,
  /// real, double precision: by value; "NaN" above "Infinity".
  floating,
  /// text (C collation), uuid and bytea in lower-case hex, dates and timestamps
  /// in ISO form, boolean "f"/"t": byte by byte, unsigned.
  bytewise,
};

/// The comparison a column type's key cells use.
cell_order order_of(protocol::column_type type);

/// Compares two cells of one key column. A cell that does not parse as its
/// type sorts after every cell that does, and such cells compare bytewise with
/// each other, so the order stays total on bad input.
std::weak_ordering compare_cells(std::string_view a, std::string_view b, cell_order order);

} // namespace tidesync::sync
