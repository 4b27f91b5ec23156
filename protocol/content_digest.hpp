#pragma once

#include "protocol/column_type.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

// Content digests: what the agent and the server compare instead of rows.
// Both sides read a cell in PostgreSQL's text form and reduce it to one
// canonical byte string per value, so a value that PostgreSQL would store as
// the same thing digests the same whatever text spelled it:
//   integers              the value, 8 bytes little-endian
//   real / double         the IEEE bits (4 / 8 bytes); every NaN is one NaN
//   numeric               the text PostgreSQL prints (exponent expanded, scale kept)
//   boolean               one byte
//   text, json, jsonb     the bytes as they are
//   bytea                 the bytes the hex form holds
//   uuid                  the 16 bytes
//   date                  days since 1970-01-01 (±infinity: the int64 extremes)
//   timestamp(tz)         microseconds since 1970-01-01 00:00 UTC (±infinity likewise)
// A cell is tagged NULL, value, or unreadable (text the type cannot hold: it
// then digests as its raw text, which never equals a readable value).
namespace tidesync::protocol {

/// Appends the canonical encoding of one cell (tag, length, bytes) to `out`.
/// `pg_text` is std::nullopt for NULL.
void append_canonical_cell(std::string& out, std::optional<std::string_view> pg_text,
                           column_type type);

/// PostgreSQL's own text of a numeric given in any form it accepts
/// ("1.50e1" → "15.0", "+007" → "7", "-0.00" → "0.00"); nullopt if not a numeric.
std::optional<std::string> canonical_numeric(std::string_view text);

/// SHA-256 over a sequence of rows, each appended as its cells' canonical
/// encodings; the hex of the first `digest_bytes` bytes is the digest.
class row_digest {
public:
  row_digest();
  ~row_digest();
  row_digest(row_digest&&) noexcept;
  row_digest& operator=(row_digest&&) noexcept;

  /// Adds one cell of the current row.
  void add_cell(std::optional<std::string_view> pg_text, column_type type);
  /// Ends the current row.
  void end_row();
  /// Rows ended so far.
  std::int64_t rows() const { return rows_; }
  /// The digest in lowercase hex; the object starts over afterwards.
  std::string finish();

  /// Bytes of SHA-256 a range digest keeps (all 32).
  static constexpr std::size_t range_digest_bytes = 32;

private:
  void flush();

  struct state;
  std::unique_ptr<state> state_;
  std::string buffer_;
  std::int64_t rows_ = 0;
};

/// The digest of one row alone, as row listings report it (16 bytes, hex).
std::string single_row_digest(std::span<const std::optional<std::string_view>> cells,
                              std::span<const column_type> types);

/// The canonical encoding of a key (its cells in key order): equal for two
/// keys exactly when PostgreSQL would store them as the same key.
std::string canonical_key(std::span<const std::optional<std::string_view>> cells,
                          std::span<const column_type> types);

} // namespace tidesync::protocol
