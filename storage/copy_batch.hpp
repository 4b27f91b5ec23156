#pragma once

#include "protocol/table_schema.hpp"

#include <boost/json/fwd.hpp>

#include <cstddef>
#include <string>
#include <vector>

namespace tidesync::storage {

/// Rows checked against a table's schema and rendered in COPY's text format,
/// ready to stream into a staging table.
struct copy_batch {
  bool tenant_columns = false;                // lines start with client_id and database_id
  std::vector<protocol::column_def> columns;  // in the order of each line (after the tenant)
  std::string copy_text;                      // one line per row, each ending in '\n'
  std::size_t rows = 0;
};

/// Checks an upload body `{"columns":[…],"rows":[[…],…]}` completely before
/// anything is written: known, distinct columns including every key column
/// and the version column; rows of the right width; every cell through the
/// cell codec; no NULL where the column is not nullable; no key twice.
/// Throws api_error(bad_request) naming the row (0-based) and column.
/// Each line starts with the tenant columns, so it can go straight into the
/// shared table.
copy_batch prepare_upload(const protocol::table_schema& schema, const boost::json::value& body,
                          const std::string& client_id, const std::string& database_id);

/// Checks the keys of a delete request (`[[1, "a"], …]`, or bare values for a
/// one-column key) and renders them with the key columns as the batch columns.
copy_batch prepare_keys(const protocol::table_schema& schema, const boost::json::array& keys);

} // namespace tidesync::storage
