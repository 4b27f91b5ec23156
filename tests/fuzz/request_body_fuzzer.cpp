// Request body target: the first line of an input names a decoder, the rest
// is a body as a client sends it. Bodies are parsed as the server parses them
// (protocol::parse_json_exact into an arena) and decoded as the handlers and
// the store decode them, short of SQL: uploads and deletes against `items`
// and `readings`, schemas, summaries, digest requests and answers; `gzip`
// and `zstd` decompress the body with the server's output cap. Accepted values must
// survive their own round trip.
#include "protocol/digest_messages.hpp"
#include "protocol/error.hpp"
#include "protocol/gzip.hpp"
#include "protocol/json_parse.hpp"
#include "protocol/table_schema.hpp"
#include "protocol/table_version.hpp"
#include "protocol/zstd.hpp"
#include "storage/copy_batch.hpp"
#include "tests/fuzz/fuzz_check.hpp"
#include "tests/fuzz/fuzz_schemas.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace {

using namespace tidesync::protocol;
namespace json = boost::json;
using tidesync::fuzz::key_types;
using tidesync::fuzz::schema_named;

// Small enough that the fuzzer reaches the cap, as the server's max_body_bytes.
constexpr std::size_t inflate_cap = 64 * 1024;
// How much COPY text the server renders before it sends a chunk (kept small
// here so the chunking is exercised).
constexpr std::size_t render_chunk_bytes = 256;
const std::string client_id = "acme";
const std::string database_id = "3f1c2a9e-5b7d-4e21-9c1f-7a8b6d5e4c3b";

// As server/api_handlers.cpp parses a body; nullopt for malformed JSON.
std::optional<json::value> parse_body(std::string_view body) {
  json::error_code ec;
  auto arena = json::make_shared_resource<json::monotonic_resource>();
  auto value = parse_json_exact(body, ec, std::move(arena));
  if (ec)
    return std::nullopt;
  return value;
}

// Runs `decode`; a refusal must be a bad request, anything else escapes.
bool accepted(const std::function<void()>& decode) {
  try {
    decode();
    return true;
  } catch (const api_error& e) {
    FUZZ_REQUIRE(e.code() == error_code::bad_request, "a refused body is a bad request");
    return false;
  }
}

bool holds_non_finite(const json::value& value) {
  if (const auto* d = value.if_double())
    return !std::isfinite(*d);
  if (const auto* array = value.if_array())
    return std::any_of(array->begin(), array->end(), holds_non_finite);
  if (const auto* object = value.if_object())
    return std::any_of(object->begin(), object->end(),
                       [](const auto& member) { return holds_non_finite(member.value()); });
  return false;
}

void check_json(std::string_view body) {
  json::error_code ec;
  auto exact = parse_json_exact(body, ec);
  json::error_code boost_ec;
  json::parse(json::string_view(body.data(), body.size()), boost_ec);
  FUZZ_REQUIRE(bool(ec) == bool(boost_ec), "parse_json_exact reads what Boost.JSON reads");
  // An overflowing number reads as infinity, which Boost.JSON writes as
  // "Infinity", which no parser reads; cells refuse it (cell_codec).
  if (ec || holds_non_finite(exact))
    return;
  // Shortest double text read back exactly is the same double.
  auto text = json::serialize(exact);
  FUZZ_REQUIRE(json::serialize(parse_json_exact(text)) == text, "serialized JSON reads back alike");
}

void check_schema(const json::value& body) {
  table_schema schema;
  if (!accepted([&] { schema = table_schema_from_json(body); }))
    return;
  auto again = table_schema_from_json(to_json(schema));
  FUZZ_REQUIRE(again == schema, "a declared schema survives its wire form");
}

void check_version(const json::value& body) {
  table_version version;
  if (!accepted([&] { version = table_version_from_json(body); }))
    return;
  FUZZ_REQUIRE(table_version_from_json(to_json(version)) == version,
               "a summary survives its wire form");
}

void check_upload(const table_schema& schema, const json::value& body) {
  std::optional<tidesync::storage::upload_renderer> renderer;
  if (!accepted([&] { renderer.emplace(schema, body, client_id, database_id); }))
    return;
  if (!accepted([&] {
        while (renderer->render_some(render_chunk_bytes)) {
        }
        renderer->finish();
      }))
    return;
  const auto& batch = renderer->batch();
  FUZZ_REQUIRE(batch.rows == renderer->row_count(), "every row is rendered");
  const auto& text = batch.copy_text;
  FUZZ_REQUIRE(static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n')) == batch.rows,
               "one COPY line per row");
  // The tenant's two columns, then the batch's: a tab inside a cell would shift them.
  auto tabs_per_row = batch.columns.size() + 1;
  FUZZ_REQUIRE(static_cast<std::size_t>(std::count(text.begin(), text.end(), '\t')) ==
                   batch.rows * tabs_per_row,
               "every line has one field per column");
}

// As storage/row_deletion.cpp reads the {"keys":[…]} form.
void check_delete(const table_schema& schema, const json::value& body) {
  const auto* object = body.if_object();
  if (object == nullptr || object->size() != 1 || !object->contains("keys"))
    return;
  const auto* keys = object->at("keys").if_array();
  if (keys == nullptr)
    return;
  tidesync::storage::copy_batch batch;
  if (!accepted([&] { batch = tidesync::storage::prepare_keys(schema, *keys); }))
    return;
  FUZZ_REQUIRE(batch.rows == keys->size(), "one line per key");
  const auto& text = batch.copy_text;
  FUZZ_REQUIRE(static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n')) == batch.rows,
               "one COPY line per key");
  FUZZ_REQUIRE(static_cast<std::size_t>(std::count(text.begin(), text.end(), '\t')) ==
                   batch.rows * (schema.key.size() - 1),
               "every line has one field per key column");
}

void check_digest_request(const table_schema& schema, const json::value& body) {
  auto types = key_types(schema);
  digest_request request;
  if (!accepted([&] { request = digest_request_from_json(body, types); }))
    return;
  auto wire = json::serialize(to_json(request, types));
  auto again = digest_request_from_json(json::parse(wire), types);
  FUZZ_REQUIRE(json::serialize(to_json(again, types)) == wire,
               "a digest request survives its wire form");
}

void check_digest_answer(const table_schema& schema, const json::value& body) {
  auto types = key_types(schema);
  digest_answer answer;
  if (!accepted([&] { answer = digest_answer_from_json(body, types); }))
    return;
  auto wire = json::serialize(to_json(answer, types));
  auto again = digest_answer_from_json(json::parse(wire), types);
  FUZZ_REQUIRE(json::serialize(to_json(again, types)) == wire,
               "a digest answer survives its wire form");
}

// Either coding: what the server runs on every compressed body it reads.
template <class Decompress, class Compress>
void check_decompress(std::string_view body, Decompress decompress, Compress compress,
                      const char* name) {
  auto result = decompress(body, inflate_cap);
  FUZZ_REQUIRE(result.ok() || result.data.empty(), "a failed decompress returns no data");
  FUZZ_REQUIRE(result.ok() == result.error.empty(), "a failed decompress says why");
  if (result.ok()) {
    FUZZ_REQUIRE(result.data.size() <= inflate_cap, "decompress keeps to its cap");
    if (!result.data.empty()) {
      auto tight = decompress(body, result.data.size() - 1);
      FUZZ_REQUIRE(tight.status == decompress_status::too_large, "one byte less is too large");
    }
  }
  // Whatever the body, its compressed form decompresses back to it.
  auto packed = decompress(compress(body), body.size());
  FUZZ_REQUIRE(packed.ok() && packed.data == body, name);
}

void check_gzip(std::string_view body) {
  check_decompress(body, gzip_decompress, [](std::string_view b) { return gzip_compress(b); },
                   "gzip round-trips");
}

void check_zstd(std::string_view body) {
  check_decompress(body, zstd_decompress, [](std::string_view b) { return zstd_compress(b); },
                   "zstd round-trips");
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto [decoder, body] =
      tidesync::fuzz::split_first_line({reinterpret_cast<const char*>(data), size});
  tidesync::fuzz::context = {"decoder", decoder};
  if (decoder == "json")
    return check_json(body), 0;
  if (decoder == "gzip")
    return check_gzip(body), 0;
  if (decoder == "zstd")
    return check_zstd(body), 0;
  auto space = decoder.find(' ');
  auto verb = decoder.substr(0, space);
  const auto* schema =
      space == std::string_view::npos ? nullptr : schema_named(decoder.substr(space + 1));
  auto value = parse_body(body);
  if (!value)
    return 0;
  if (verb == "schema")
    check_schema(*value);
  else if (verb == "version")
    check_version(*value);
  else if (schema == nullptr)
    return 0;
  else if (verb == "upload")
    check_upload(*schema, *value);
  else if (verb == "delete")
    check_delete(*schema, *value);
  else if (verb == "digests")
    check_digest_request(*schema, *value);
  else if (verb == "digest-answer")
    check_digest_answer(*schema, *value);
  return 0;
}
