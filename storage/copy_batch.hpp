#pragma once

#include "protocol/table_schema.hpp"

#include <boost/json/fwd.hpp>

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
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
/// shared table. `body` is what boost::json::parse made of a request: its
/// strings' UTF-8 is not checked again.
copy_batch prepare_upload(const protocol::table_schema& schema, const boost::json::value& body,
                          const std::string& client_id, const std::string& database_id);

/// Renders an upload body as prepare_upload does, a few rows at a time, so
/// lines already checked can be sent while the rest are checked.
class upload_renderer {
public:
  /// Checks the body's shape and its columns; throws as prepare_upload.
  /// `body` must outlive the renderer.
  upload_renderer(const protocol::table_schema& schema, const boost::json::value& body,
                  const std::string& client_id, const std::string& database_id);
  /// The text of an upload body, to be read as it renders.
  struct body_text {
    std::string_view text;
  };

  /// Reads and renders `body` a slice at a time, as it arrives from agents
  /// (upload_body_stream), never building a document. Throws
  /// upload_body_stream::off_shape, from here or any later call, for a body
  /// that is not in that shape or that holds an error: read it as a
  /// document then (the other constructor), which accepts it or says
  /// precisely what is wrong. The text must outlive the renderer.
  upload_renderer(const protocol::table_schema& schema, body_text body,
                  const std::string& client_id, const std::string& database_id);
  ~upload_renderer();

  /// Checks and renders rows until at least `min_bytes` of whole lines were
  /// added since the last call or no row is left; returns false when nothing
  /// was left to render or hand on.
  /// Throws api_error(bad_request) naming the row and column of a bad cell.
  bool render_some(std::size_t min_bytes);

  /// How much of batch().copy_text holds whole lines: what may be sent.
  std::size_t rendered_bytes() const;

  /// Renders the remaining rows, then throws api_error(bad_request) naming
  /// both rows if two rows of the batch had the same key.
  void finish();

  /// Whether the body holds no row.
  bool empty() const;

  /// The rows in the body, rendered or not (a body read from its text: the
  /// rows rendered so far, all of them after finish()).
  std::size_t row_count() const;

  /// The lines rendered so far (all of them after finish()).
  const copy_batch& batch() const;

  /// Moves the lines out, leaving the renderer spent.
  copy_batch take_batch();

private:
  struct state;
  std::unique_ptr<state> state_;
};

/// Checks the keys of a delete request (`[[1, "a"], …]`, or bare values for a
/// one-column key) and renders them with the key columns as the batch columns.
copy_batch prepare_keys(const protocol::table_schema& schema, const boost::json::array& keys);

} // namespace tidesync::storage
