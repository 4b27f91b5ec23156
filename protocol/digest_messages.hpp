#pragma once

#include "protocol/column_type.hpp"

#include <boost/json/fwd.hpp>

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

// The bodies of `POST …/tables/{table}/digests` (docs/api.md). Keys are held
// here in PostgreSQL's text form, one string per key column; on the wire they
// are key cells (protocol/cell_codec.hpp), so encoding and decoding need the
// key columns' types.
namespace tidesync::protocol {

/// Key cells in PostgreSQL text form, in key-column order.
using key_text = std::vector<std::string>;

/// The keys `from <= key < to` in key order (text in byte order); a missing
/// bound is open.
struct key_range {
  std::optional<key_text> from;
  std::optional<key_text> to;
};

/// Row count and content digest of one range.
struct range_digest {
  std::int64_t count = 0;
  std::string digest;

  friend bool operator==(const range_digest&, const range_digest&) = default;
};

/// One row's key and digest, as a row listing reports it.
struct listed_row {
  key_text key;
  std::string digest;
};

/// A digest request: either `ranges` (one count and digest per range) or,
/// with `list` set, the rows of one range, one digest per row, a page at a time.
struct digest_request {
  std::vector<std::string> columns;  // digested columns, in this order
  std::vector<key_range> ranges;
  struct row_list {
    key_range range;
    std::optional<key_text> after;  // continue after this key
    std::int64_t limit = 1000;
  };
  std::optional<row_list> list;
};

struct digest_answer {
  std::vector<std::string> columns;  // what was digested: the requested columns the table has
  std::vector<range_digest> ranges;
  std::vector<listed_row> rows;
  std::optional<key_text> next;  // row listings: pass as `after` for the next page
};

/// Most ranges one request may hold, and most rows one listing page may hold.
inline constexpr std::size_t max_digest_ranges = 1000;
inline constexpr std::int64_t max_listed_rows = 10'000;
/// Most columns one request may name: PostgreSQL's limit for a table.
inline constexpr std::size_t max_digest_columns = 1'600;

boost::json::value to_json(const digest_request& request, std::span<const column_type> key_types);
boost::json::value to_json(const digest_answer& answer, std::span<const column_type> key_types);

/// Parses a request; throws api_error(bad_request) naming the field.
digest_request digest_request_from_json(const boost::json::value& body,
                                        std::span<const column_type> key_types);
/// Parses an answer; throws api_error(bad_request) naming the field.
digest_answer digest_answer_from_json(const boost::json::value& body,
                                      std::span<const column_type> key_types);

} // namespace tidesync::protocol
