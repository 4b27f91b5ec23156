// Manifest cursor target: one input is tried as an `after` string and, so the
// fuzzer can shape the JSON inside, as the text that base64url-encodes to one,
// against tables keyed by every column type and by a composite key. Checks
// that a cursor the server builds from decoded keys (as it builds `next`)
// decodes to the same position.
#include "protocol/cell_codec.hpp"
#include "protocol/error.hpp"
#include "protocol/manifest_cursor.hpp"
#include "tests/fuzz/fuzz_check.hpp"
#include "tests/fuzz/fuzz_schemas.hpp"

#include <boost/json/value.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace {

using namespace tidesync::protocol;

constexpr std::string_view base64url_alphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

// Unpadded base64url (RFC 4648 §5), as docs/api.md defines `after`.
std::string base64url(std::string_view bytes) {
  std::string out;
  std::uint32_t buffer = 0;
  int bits = 0;
  for (unsigned char c : bytes) {
    buffer = (buffer << 8) | c;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out += base64url_alphabet[(buffer >> bits) & 0x3f];
    }
  }
  if (bits > 0)
    out += base64url_alphabet[(buffer << (6 - bits)) & 0x3f];
  return out;
}

std::optional<manifest_cursor> decode(const std::string& after, const table_schema& schema) {
  try {
    return decode_cursor(after, schema);
  } catch (const api_error& e) {
    FUZZ_REQUIRE(e.code() == error_code::bad_request, "a malformed cursor is a bad request");
    return std::nullopt;
  }
}

void check_cursor(const std::string& after, const table_schema& schema) {
  auto cursor = decode(after, schema);
  if (!cursor)
    return;
  FUZZ_REQUIRE(cursor->key_text.size() == schema.key.size(), "one text per key column");
  // The server's `next`: key cells from PostgreSQL's text, floats as strings.
  std::vector<boost::json::value> key;
  for (std::size_t i = 0; i < schema.key.size(); ++i) {
    auto type = schema.find(schema.key[i])->type;
    try {
      key.push_back(cell_from_pg_text(cursor->key_text[i], type, float_form::text));
    } catch (const api_error&) {
      FUZZ_REQUIRE(false, "a decoded key cell reads as a cell again");
    }
  }
  auto next = encode_cursor(cursor->version, key);
  FUZZ_REQUIRE(next.find_first_not_of(base64url_alphabet) == std::string::npos,
               "a cursor is unpadded base64url");
  auto again = decode(next, schema);
  FUZZ_REQUIRE(again.has_value(), "a cursor built from a decoded position decodes");
  FUZZ_REQUIRE(again->version == cursor->version, "the version survives a round trip");
  FUZZ_REQUIRE(again->key_text == cursor->key_text, "the key survives a round trip");
  FUZZ_REQUIRE(encode_cursor(again->version, key) == next, "encoding is deterministic");
}

const std::vector<table_schema>& schemas() {
  static const auto all = [] {
    std::vector<table_schema> out{tidesync::fuzz::items_schema(),
                                  tidesync::fuzz::readings_schema()};
    for (auto type : tidesync::fuzz::all_column_types())
      out.push_back(tidesync::fuzz::single_key_schema(type));
    return out;
  }();
  return all;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string input(reinterpret_cast<const char*>(data), size);
  auto encoded = base64url(input);
  for (const auto& schema : schemas()) {
    check_cursor(input, schema);
    check_cursor(encoded, schema);
  }
  return 0;
}
