#pragma once

#include "protocol/column_type.hpp"

#include <boost/json/fwd.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tidesync::protocol {

/// One column of a replicated table.
struct column_def {
  std::string name;
  column_type type = column_type::text;
  bool nullable = true;

  friend bool operator==(const column_def&, const column_def&) = default;
};

/// A table as a site declares it: its columns, its primary key (any number of
/// columns of any supported type), its version column and, optionally, a
/// last-modified column whose maximum is reported in the version summary.
///
/// Wire form:
/// {"columns":[{"name":"id","type":"bigint","nullable":false},…],
///  "key":["id"], "version_column":"tidesync_version", "modified_column":null}
struct table_schema {
  std::vector<column_def> columns;
  std::vector<std::string> key;
  std::string version_column;
  std::optional<std::string> modified_column;
  /// The site-side row filter (`where` in the agent's configuration): only
  /// rows for which this SQL condition is true are read. Never sent, never
  /// part of a declaration; the site's sources alone use it.
  std::optional<std::string> site_filter;

  /// The column named `name`, or nullptr.
  const column_def* find(std::string_view name) const;

  friend bool operator==(const table_schema&, const table_schema&) = default;
};

/// True for names tidesync accepts for tables and columns: 1–63 bytes of ASCII
/// letters, digits and `_`, not starting with a digit. Anything else is refused
/// before it gets near SQL.
bool is_valid_identifier(std::string_view name);

/// Checks a schema for internal consistency (valid unique names, key and
/// version columns present, key columns not nullable, version column bigint,
/// no column named client_id or database_id). Throws api_error(bad_request)
/// naming the offending column.
void validate(const table_schema& schema);

boost::json::value to_json(const table_schema& schema);

/// Parses and validates; throws api_error(bad_request) naming the bad field.
table_schema table_schema_from_json(const boost::json::value& json);

} // namespace tidesync::protocol
