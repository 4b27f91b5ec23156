#include "protocol/cell_check.hpp"

#include "protocol/cell_codec.hpp"
#include "protocol/error.hpp"
#include "protocol/pg_text_syntax.hpp"

#include <boost/json/value.hpp>

#include <cstdio>

namespace tidesync::protocol {

namespace {

// Length of the valid UTF-8 sequence starting at `at`, or 0 when none starts there.
std::size_t utf8_sequence(std::string_view text, std::size_t at) {
  for (std::size_t length = 1; length <= 4 && at + length <= text.size(); ++length)
    if (pg_text_syntax::is_valid_text(text.substr(at, length)))
      return length;
  return 0;
}

} // namespace

std::optional<std::string> pg_text_refusal(std::string_view text, column_type type) {
  // The agent checks every cell it reads this way: the string cell that
  // cell_from_pg_text would make for most types is one value reused on this
  // thread, so a check allocates nothing for them.
  thread_local boost::json::value string_cell = boost::json::value(boost::json::string_kind);
  try {
    switch (type) {
    case column_type::smallint:
    case column_type::integer:
    case column_type::bigint:
    case column_type::real:
    case column_type::double_precision:
    case column_type::boolean:
      check_copy_cell(cell_from_pg_text(text, type), type, utf8_state::unchecked);
      break;
    default:
      string_cell.get_string().assign(text);
      check_copy_cell(string_cell, type, utf8_state::unchecked);
    }
    return std::nullopt;
  } catch (const api_error& e) {
    return printable_text(e.what());
  }
}

std::string printable_text(std::string_view text) {
  if (pg_text_syntax::is_valid_text(text))
    return std::string(text);
  std::string out;
  for (std::size_t at = 0; at < text.size();) {
    if (auto length = utf8_sequence(text, at); length > 0) {
      out.append(text.substr(at, length));
      at += length;
      continue;
    }
    char escaped[5];
    std::snprintf(escaped, sizeof escaped, "\\x%02x", static_cast<unsigned char>(text[at]));
    out.append(escaped);
    ++at;
  }
  return out;
}

} // namespace tidesync::protocol
