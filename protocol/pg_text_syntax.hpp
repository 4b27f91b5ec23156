#pragma once

#include <cstdint>
#include <string_view>

// Strict checks of PostgreSQL text forms, so a bad cell is refused with a
// message naming its row and column instead of failing a whole COPY later.
namespace tidesync::protocol::pg_text_syntax {

/// True for valid UTF-8 without NUL bytes (what a PostgreSQL text value may hold).
bool is_valid_text(std::string_view text);

/// What PostgreSQL's numeric can hold: digits before the point, and after it.
inline constexpr std::int64_t max_numeric_integer_digits = 131'072;
inline constexpr std::int64_t max_numeric_scale = 16'383;

/// Optional sign, digits with an optional point, optional exponent (up to 9
/// digits), of a value numeric can hold however spelled (PostgreSQL refuses
/// "1e-16384" and "1e131072" as overflowing, takes "0e999999999"); or "NaN",
/// "Infinity", "-Infinity" (case-insensitive, as PostgreSQL reads them).
bool is_numeric(std::string_view text);

/// "\x" followed by an even number of hex digits.
bool is_bytea_hex(std::string_view text);

/// xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx, hex digits of either case.
bool is_uuid(std::string_view text);

/// YYYY-MM-DD (4 to 7 year digits) of a calendar day PostgreSQL can store
/// (4714-11-24 BC to 5874897 AD), optional " BC";
/// or "infinity" / "-infinity".
bool is_date(std::string_view text);

/// A date, 'T' or ' ', HH:MM:SS, up to 6 fraction digits, then, if
/// `offset_allowed`, an optional Z or ±HH[:MM[:SS]], then optional " BC",
/// within 4714-11-24 BC to 294276 AD;
/// or "infinity" / "-infinity".
bool is_timestamp(std::string_view text, bool offset_allowed);

/// What check_json_document found.
enum class json_document {
  invalid,   ///< not one JSON document (as boost::json::parse reads it)
  valid,     ///< a document jsonb can store
  holds_nul, ///< valid, but a string or key holds \u0000, which jsonb cannot store
};

/// Checks the text of a json/jsonb value without building a DOM.
json_document check_json_document(std::string_view text);

} // namespace tidesync::protocol::pg_text_syntax
