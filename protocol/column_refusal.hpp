#pragma once

#include "protocol/error.hpp"
#include "protocol/table_schema.hpp"

#include <boost/json/fwd.hpp>

#include <string>
#include <string_view>
#include <vector>

// Columns a shared table will not take from one tenant. The server answers a
// declaration that names any with 409 columns_refused and this list; the site
// declares again without them and keeps syncing the columns that were accepted.
namespace tidesync::protocol {

/// A column the server does not replicate for this tenant, and why.
struct refused_column {
  std::string name;
  std::string reason;  // e.g. "the table's schema is locked by the operator"

  friend bool operator==(const refused_column&, const refused_column&) = default;
};

/// A declaration refused because of some of its columns.
class columns_refused_error : public api_error {
public:
  columns_refused_error(std::string message, std::vector<refused_column> columns)
      : api_error(error_code::columns_refused, std::move(message)), columns_(std::move(columns)) {}

  const std::vector<refused_column>& columns() const noexcept { return columns_; }

private:
  std::vector<refused_column> columns_;
};

/// `[{"name":"note","reason":"…"},…]`
boost::json::value to_json(const std::vector<refused_column>& columns);

/// Parses the list; throws api_error(bad_request) naming the bad field.
std::vector<refused_column> refused_columns_from_json(const boost::json::value& json);

/// Parses the list from JSON text; throws api_error(bad_request) when it is not one.
std::vector<refused_column> refused_columns_from_text(std::string_view json_text);

/// The 409 body: `{"error":{"code":"columns_refused","message":…,"refused_columns":[…]}}`.
std::string columns_refused_body(std::string_view message,
                                 const std::vector<refused_column>& columns);

/// The `refused_columns` of an error body; empty when it has none or is not
/// such a body.
std::vector<refused_column> refused_columns_of(std::string_view error_body);

/// `schema` without the refused columns; its modified column is dropped when
/// refused. Key and version columns stay: a table without them cannot sync.
table_schema without_columns(const table_schema& schema,
                             const std::vector<refused_column>& refused);

/// True when a refused column is a key or the version column of `schema`.
bool refuses_key_or_version(const table_schema& schema,
                            const std::vector<refused_column>& refused);

/// "note (the table's schema is locked by the operator), total (…)"
std::string describe(const std::vector<refused_column>& refused);

} // namespace tidesync::protocol
