#pragma once

#include "protocol/table_schema.hpp"
#include "storage/source.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace tidesync::bench {

/// The benchmark table: a bigint key, nine columns of the common types
/// (integer, bigint, two text, numeric with a scale, double precision, two
/// timestamptz, jsonb) and the version column.
protocol::table_schema bench_schema();

/// Row `index` (0-based) in PostgreSQL's text form, in bench_schema()'s
/// column order. Deterministic: the same index always gives the same row.
storage::text_row make_row(std::int64_t index);

/// Appends `cells` as tab-separated COPY text fields (`\N` for NULL), without
/// a line end.
void append_copy_fields(std::string& text, const storage::text_row& cells);

/// Rows [0, rows) as COPY text lines, each prefixed with the tenant columns
/// exactly as the server writes them.
std::string render_copy_text(std::int64_t rows, const std::string& client_id,
                             const std::string& database_id);

/// Upload bodies and the time spent rendering them.
struct rendered_bodies {
  std::vector<std::string> bodies;
  /// Seconds in actors::upload_body only: what an agent spends on JSON.
  double render_seconds = 0;
};

/// Rows [0, rows) as upload bodies of at most `batch_rows` rows each, built
/// the way the agent builds them (actors::upload_body).
rendered_bodies render_upload_bodies(const protocol::table_schema& schema, std::int64_t rows,
                                     std::int64_t batch_rows);

} // namespace tidesync::bench
