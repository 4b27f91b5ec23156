#pragma once

#include <optional>
#include <string_view>

namespace tidesync::protocol {

/// The column types tidesync replicates. Each round-trips exactly between a
/// source, the wire and the PostgreSQL store.
enum class column_type {
  smallint,
  integer,
  bigint,
  numeric,
  real,
  double_precision,
  boolean,
  text,
  bytea,
  date,
  timestamp,
  timestamptz,
  uuid,
  json,
  jsonb,
};

/// Parses a type name as PostgreSQL spells it ("bigint", "int8", "double precision",
/// "timestamp with time zone", "varchar", "character varying(20)", ...). Case-insensitive.
std::optional<column_type> parse_column_type(std::string_view name);

/// The canonical wire name, which is also the PostgreSQL type used in the store
/// ("bigint", "double precision", "timestamptz", ...).
std::string_view type_name(column_type type);

} // namespace tidesync::protocol
