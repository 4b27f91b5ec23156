#pragma once

#include "protocol/column_type.hpp"

#include <boost/json/fwd.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace tidesync::protocol {

// How a cell travels. PostgreSQL's text form is the common ground of sources
// and store; on the wire each type has one JSON form:
//   smallint/integer/bigint   JSON integer (range-checked)
//   numeric                   JSON string "12.50" (keeps its scale) or JSON integer
//   real/double precision     JSON string of the value's exact text: "0.1", "-0",
//                             "2.2345442730765653e-07", "NaN", "Infinity", "-Infinity";
//                             a JSON number is still accepted (agents before the
//                             string form sent numbers, and Boost.JSON's number
//                             parser is not correctly rounded)
//   boolean                   true / false
//   text                      JSON string (no NUL)
//   bytea                     JSON string in PostgreSQL hex form "\\x0aff"
//   date/timestamp/timestamptz JSON string, ISO 8601 ("2024-02-29 13:45:01.123456+00")
//   uuid                      JSON string "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx"
//   json/jsonb                JSON string holding the document's text
//   NULL                      null

/// Converts one wire cell to PostgreSQL's text form. Returns std::nullopt for
/// JSON null. Throws api_error(bad_request) with a message that says what the
/// cell should have been (the caller adds the row and column).
std::optional<std::string> cell_to_pg_text(const boost::json::value& cell, column_type type);

/// Whether a cell's strings are known to be valid UTF-8.
enum class utf8_state {
  unchecked, ///< built in C++: text cells are checked
  checked,   ///< from boost::json::parse, which refuses invalid UTF-8
};

/// Appends one wire cell to `out` as COPY's text format holds it (the
/// PostgreSQL text of cell_to_pg_text, escaped), allocating nothing per cell.
/// Returns false, appending nothing, for JSON null. Throws as cell_to_pg_text.
bool append_copy_cell(std::string& out, const boost::json::value& cell, column_type type,
                      utf8_state utf8);

/// Checks one wire cell as append_copy_cell does, without writing it
/// anywhere. Throws as append_copy_cell.
void check_copy_cell(const boost::json::value& cell, column_type type, utf8_state utf8);

/// How cell_from_pg_text writes real and double precision values.
enum class float_form {
  text,   ///< a JSON string holding the exact text: what this release sends
  number, ///< a JSON number, for peers of the previous release (their parser may round it)
};

/// Converts PostgreSQL's text form of a value (as a source or the store
/// returns it) to its wire cell. Float text is checked (check_float_text)
/// and, in the text form, passed through unchanged.
boost::json::value cell_from_pg_text(std::string_view text, column_type type,
                                     float_form floats = float_form::text);

/// Appends the JSON text of cell_from_pg_text(text, type) (floats in their
/// text form) to `out` without building the value: the same bytes as
/// boost::json::serialize of it, allocating nothing per cell. Throws as
/// cell_from_pg_text.
void append_wire_cell(std::string& out, std::string_view text, column_type type);

/// Appends `text` as a JSON string, escaped as boost::json::serialize escapes
/// it (quote, backslash and control characters; other bytes as they are).
void append_json_string(std::string& out, std::string_view text);

/// What check_float_text found.
enum class float_text {
  valid,        ///< a float literal PostgreSQL reads as a value of the type
  malformed,    ///< not one strict float literal
  out_of_range, ///< a literal whose value overflows or underflows the type
};

/// Checks a real or double precision cell's text: exactly "NaN", "Infinity"
/// or "-Infinity", or a decimal literal that std::from_chars reads whole (no
/// sign but '-', no spaces, no hex, no other spelling of NaN or infinity).
float_text check_float_text(std::string_view text, column_type type);

/// Appends `text` to `out` escaped for COPY's text format (`\\`, tab, newline, CR).
void append_copy_escaped(std::string& out, std::string_view text);

} // namespace tidesync::protocol
