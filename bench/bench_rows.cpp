#include "bench/bench_rows.hpp"

#include "actors/wire_body.hpp"
#include "protocol/cell_codec.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <span>

namespace tidesync::bench {

namespace {

using protocol::column_type;

// 2024-01-01 00:00:00 UTC: rows are stamped from here on, one second apart.
constexpr std::time_t first_timestamp = 1'704'067'200;
constexpr std::int64_t seconds_to_ship = 26 * 3600;
constexpr std::int64_t customers = 50'000;
// Every tenth row has no note: nullable columns do hold NULLs in practice.
constexpr std::int64_t note_null_every = 10;
// A guess at one rendered COPY line, so the buffer is allocated once.
constexpr std::size_t copy_line_estimate = 320;

constexpr std::array<const char*, 6> notes{
    "leave at the back door", "call before delivery", "gift wrap, no invoice in the box",
    "fragile: glassware", "deliver after 17:00", "second attempt, customer was out"};
constexpr std::array<const char*, 5> colours{"red", "green", "blue", "black", "white"};

std::string timestamp_text(std::int64_t seconds_after_start, std::int64_t micros) {
  std::time_t when = first_timestamp + seconds_after_start;
  std::tm utc{};
  gmtime_r(&when, &utc);
  char text[64];
  std::snprintf(text, sizeof text, "%04d-%02d-%02d %02d:%02d:%02d.%06lld+00", utc.tm_year + 1900,
                utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec,
                static_cast<long long>(micros));
  return text;
}

std::string price_text(std::int64_t id) {
  auto cents = (id * 7'919) % 1'000'000;
  char text[32];
  std::snprintf(text, sizeof text, "%lld.%02lld", static_cast<long long>(cents / 100),
                static_cast<long long>(cents % 100));
  return text;
}

std::string ratio_text(std::int64_t id) {
  // The shortest round-trip form is what PostgreSQL prints for float8 too.
  char text[32];
  auto [end, ec] = std::to_chars(text, text + sizeof text, static_cast<double>(id % 9'973) / 7.0);
  return std::string(text, end);
}

std::string attributes_text(std::int64_t id) {
  char text[128];
  std::snprintf(text, sizeof text, R"({"sku": "SKU-%05lld", "qty": %lld, "tags": ["%s", "bulk"]})",
                static_cast<long long>(id % 100'000), static_cast<long long>(id % 12 + 1),
                colours[static_cast<std::size_t>(id) % colours.size()]);
  return text;
}

} // namespace

protocol::table_schema bench_schema() {
  protocol::table_schema schema;
  schema.columns = {{"id", column_type::bigint, false},
                    {"quantity", column_type::integer, true},
                    {"amount_cents", column_type::bigint, true},
                    {"customer", column_type::text, true},
                    {"note", column_type::text, true},
                    {"price", column_type::numeric, true},
                    {"ratio", column_type::double_precision, true},
                    {"created_at", column_type::timestamptz, true},
                    {"shipped_at", column_type::timestamptz, true},
                    {"attributes", column_type::jsonb, true},
                    {"tidesync_version", column_type::bigint, false}};
  schema.key = {"id"};
  schema.version_column = "tidesync_version";
  return schema;
}

storage::text_row make_row(std::int64_t index) {
  const auto id = index + 1;
  storage::text_row row;
  row.reserve(11);
  row.emplace_back(std::to_string(id));
  row.emplace_back(std::to_string(id * 37 % 1'000));
  row.emplace_back(std::to_string(id * 982'451'653 % 1'000'000'000'000));
  row.emplace_back("customer-" + std::to_string(id % customers));
  if (id % note_null_every == 0)
    row.emplace_back(std::nullopt);
  else
    row.emplace_back(notes[static_cast<std::size_t>(id) % notes.size()]);
  row.emplace_back(price_text(id));
  row.emplace_back(ratio_text(id));
  row.emplace_back(timestamp_text(id, id * 7 % 1'000'000));
  row.emplace_back(timestamp_text(id + seconds_to_ship, id * 13 % 1'000'000));
  row.emplace_back(attributes_text(id));
  row.emplace_back(std::to_string(id));
  return row;
}

void append_copy_fields(std::string& text, const storage::text_row& cells) {
  bool first = true;
  for (const auto& cell : cells) {
    if (!first)
      text += '\t';
    first = false;
    if (cell)
      protocol::append_copy_escaped(text, *cell);
    else
      text += "\\N";
  }
}

std::string render_copy_text(std::int64_t rows, const std::string& client_id,
                             const std::string& database_id) {
  std::string tenant;
  protocol::append_copy_escaped(tenant, client_id);
  tenant += '\t';
  protocol::append_copy_escaped(tenant, database_id);
  std::string text;
  text.reserve(static_cast<std::size_t>(rows) * copy_line_estimate);
  for (std::int64_t i = 0; i < rows; ++i) {
    text += tenant;
    text += '\t';
    append_copy_fields(text, make_row(i));
    text += '\n';
  }
  return text;
}

rendered_bodies render_upload_bodies(const protocol::table_schema& schema, std::int64_t rows,
                                     std::int64_t batch_rows) {
  using clock = std::chrono::steady_clock;
  rendered_bodies out;
  std::vector<storage::text_row> batch;
  for (std::int64_t first = 0; first < rows; first += batch_rows) {
    auto last = std::min(rows, first + batch_rows);
    batch.clear();
    for (auto i = first; i < last; ++i)
      batch.push_back(make_row(i));
    // Only the JSON rendering is timed: making the rows stands for reading the source.
    auto started = clock::now();
    out.bodies.push_back(actors::upload_body(schema, std::span<const storage::text_row>(batch)));
    out.render_seconds += std::chrono::duration<double>(clock::now() - started).count();
  }
  return out;
}

} // namespace tidesync::bench
