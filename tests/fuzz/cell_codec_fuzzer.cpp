// Cell codec target: one input is a cell's text, tried as every column type,
// both as PostgreSQL text (what a site reads) and as a JSON wire cell (what an
// upload carries). Checks what protocol/cell_codec.hpp, cell_check.hpp and
// content_digest.hpp promise about each other.
#include "protocol/cell_check.hpp"
#include "protocol/cell_codec.hpp"
#include "protocol/content_digest.hpp"
#include "protocol/error.hpp"
#include "protocol/json_parse.hpp"
#include "protocol/pg_text_syntax.hpp"
#include "tests/fuzz/fuzz_check.hpp"
#include "tests/fuzz/fuzz_schemas.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace {

using namespace tidesync::protocol;

constexpr char canonical_value_tag = 1; // content_digest's tag of a readable value

std::string canonical(std::string_view text, column_type type) {
  std::string out;
  append_canonical_cell(out, text, type);
  return out;
}

// Undoes append_copy_escaped.
std::string copy_unescaped(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '\\' || i + 1 == text.size()) {
      out.push_back(text[i]);
      continue;
    }
    char next = text[++i];
    out.push_back(next == 't' ? '\t' : next == 'n' ? '\n' : next == 'r' ? '\r' : next);
  }
  return out;
}

std::optional<boost::json::value> from_pg(std::string_view text, column_type type,
                                          float_form floats = float_form::text) {
  try {
    return cell_from_pg_text(text, type, floats);
  } catch (const api_error&) {
    return std::nullopt;
  }
}

std::optional<std::string> to_pg(const boost::json::value& cell, column_type type) {
  try {
    auto text = cell_to_pg_text(cell, type);
    FUZZ_REQUIRE(text.has_value() == !cell.is_null(), "only a JSON null is a NULL cell");
    return text;
  } catch (const api_error& e) {
    FUZZ_REQUIRE(e.code() == error_code::bad_request, "a refused cell is a bad request");
    return std::nullopt;
  }
}

bool is_passed_through(column_type type) {
  switch (type) {
  case column_type::smallint:
  case column_type::integer:
  case column_type::bigint:
  case column_type::boolean:
    return false; // read as values and printed again
  default:
    return true;
  }
}

// A site reads `text` from its database as a cell of `type`.
void check_pg_text(std::string_view text, column_type type) {
  tidesync::fuzz::context = {"PostgreSQL text as", type_name(type)};
  auto refusal = pg_text_refusal(text, type);
  auto cell = from_pg(text, type);
  if (!cell) {
    FUZZ_REQUIRE(refusal.has_value(), "text the codec cannot read is refused");
    return;
  }
  if (refusal) {
    FUZZ_REQUIRE(pg_text_syntax::is_valid_text(*refusal), "a refusal is printable");
    return;
  }
  // Taken: the server reads the wire cell back to the same text (ints and
  // booleans to their one spelling), and the digest reads it as a value.
  auto wire = to_pg(*cell, type);
  FUZZ_REQUIRE(wire.has_value(), "a cell the site check takes, the server takes");
  if (is_passed_through(type))
    FUZZ_REQUIRE(*wire == text, "the server stores the site's text unchanged");
  auto again = from_pg(*wire, type);
  FUZZ_REQUIRE(again && *again == *cell, "re-encoding a taken cell gives the same cell");
  auto digest = canonical(text, type);
  FUZZ_REQUIRE(digest.front() == canonical_value_tag, "the digest reads every taken cell");
  FUZZ_REQUIRE(digest == canonical(*wire, type), "one value digests alike however spelled");

  std::string copy;
  FUZZ_REQUIRE(append_copy_cell(copy, *cell, type, utf8_state::unchecked), "not NULL");
  FUZZ_REQUIRE(copy.find_first_of("\t\n\r") == std::string::npos, "COPY text is escaped");
  FUZZ_REQUIRE(copy_unescaped(copy) == *wire, "COPY text unescapes to the cell's text");

  // Peers of the previous release get doubles as JSON numbers: same value.
  if (type == column_type::double_precision) {
    auto number = from_pg(text, type, float_form::number);
    FUZZ_REQUIRE(number.has_value(), "a taken double has a number form");
    auto number_text = to_pg(*number, type);
    FUZZ_REQUIRE(number_text && canonical(*number_text, type) == digest,
                 "the number form of a double is the same double");
  }
}

// An upload carries `cell` in a column of `type`.
void check_wire_cell(const boost::json::value& cell, column_type type) {
  tidesync::fuzz::context = {"wire cell as", type_name(type)};
  auto text = to_pg(cell, type);
  std::string copy;
  bool appended = false;
  try {
    appended = append_copy_cell(copy, cell, type, utf8_state::checked);
  } catch (const api_error&) {
    FUZZ_REQUIRE(!text, "COPY rendering refuses what the codec refuses");
    return;
  }
  FUZZ_REQUIRE(text.has_value() || cell.is_null(), "COPY rendering takes what the codec takes");
  if (!appended)
    return;
  FUZZ_REQUIRE(copy_unescaped(copy) == *text, "COPY text unescapes to the cell's text");
  // What the server stores, a site would send as the same text.
  FUZZ_REQUIRE(!pg_text_refusal(*text, type), "the site check takes what the server stored");
  auto back = from_pg(*text, type);
  FUZZ_REQUIRE(back && to_pg(*back, type) == text, "stored text travels back unchanged");
}

bool holds_nul(const boost::json::value& value) {
  auto has_nul = [](const boost::json::string& s) {
    return std::string_view(s.data(), s.size()).find('\0') != std::string_view::npos;
  };
  if (const auto* s = value.if_string())
    return has_nul(*s);
  if (const auto* array = value.if_array()) {
    for (const auto& item : *array)
      if (holds_nul(item))
        return true;
  }
  if (const auto* object = value.if_object()) {
    for (const auto& member : *object)
      if (member.key().find('\0') != boost::json::string_view::npos || holds_nul(member.value()))
        return true;
  }
  return false;
}

// json/jsonb cells are checked without a DOM; it must agree with Boost.JSON.
void check_json_document(std::string_view text) {
  tidesync::fuzz::context = {"json document", {}};
  boost::json::error_code ec;
  auto value = boost::json::parse(boost::json::string_view(text.data(), text.size()), ec);
  auto check = pg_text_syntax::check_json_document(text);
  FUZZ_REQUIRE((check == pg_text_syntax::json_document::invalid) == bool(ec),
               "check_json_document reads documents as boost::json::parse does");
  if (!ec)
    FUZZ_REQUIRE((check == pg_text_syntax::json_document::holds_nul) == holds_nul(value),
                 "check_json_document finds every \\u0000");
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  static const auto types = tidesync::fuzz::all_column_types();
  for (auto type : types)
    check_pg_text(text, type);

  auto printable = printable_text(text);
  FUZZ_REQUIRE(pg_text_syntax::is_valid_text(printable), "printable_text is valid text");
  if (pg_text_syntax::is_valid_text(text))
    FUZZ_REQUIRE(printable == text, "printable_text keeps valid text as it is");
  check_json_document(text);

  boost::json::error_code ec;
  auto cell = parse_json_exact(text, ec);
  if (!ec)
    for (auto type : types)
      check_wire_cell(cell, type);
  return 0;
}
