#include "protocol/content_digest.hpp"

#include <openssl/sha.h>

#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <cstdlib>
#include <new>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

using namespace tidesync::protocol;

namespace {

// The largest single allocation of this test program since it was last
// reset, so a test can bound what a short cell costs to read.
std::atomic<std::size_t> largest_allocation{0};

} // namespace

void* operator new(std::size_t size) {
  auto seen = largest_allocation.load(std::memory_order_relaxed);
  while (size > seen &&
         !largest_allocation.compare_exchange_weak(seen, size, std::memory_order_relaxed)) {
  }
  if (void* memory = std::malloc(size == 0 ? 1 : size))
    return memory;
  throw std::bad_alloc();
}

void operator delete(void* memory) noexcept {
  std::free(memory);
}

void operator delete(void* memory, std::size_t) noexcept {
  std::free(memory);
}

namespace {

using cell = std::optional<std::string_view>;

std::string encode(cell text, column_type type) {
  std::string out;
  append_canonical_cell(out, text, type);
  return out;
}

// The tag byte of a cell's encoding: 0 NULL, 1 value, 2 unreadable.
int tag_of(cell text, column_type type) {
  return encode(text, type).at(0);
}

constexpr int null_tag = 0;
constexpr int value_tag = 1;
constexpr int unreadable_tag = 2;

void expect_same(std::string_view a, std::string_view b, column_type type) {
  EXPECT_EQ(encode(a, type), encode(b, type)) << '"' << a << "\" vs \"" << b << '"';
  EXPECT_EQ(tag_of(a, type), value_tag) << a;
}

void expect_different(cell a, cell b, column_type type) {
  EXPECT_NE(encode(a, type), encode(b, type))
      << '"' << a.value_or("NULL") << "\" vs \"" << b.value_or("NULL") << '"';
}

std::string sha256_hex(const std::string& bytes) {
  std::array<unsigned char, SHA256_DIGEST_LENGTH> hash{};
  SHA256(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), hash.data());
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  for (auto byte : hash) {
    out.push_back(hex[byte >> 4]);
    out.push_back(hex[byte & 0x0f]);
  }
  return out;
}

} // namespace

TEST(ContentDigest, UuidsOfEitherCaseEncodeAlike) {
  expect_same("0E9A1F3C-5B7D-4E2A-9C1B-ABCDEF012345", "0e9a1f3c-5b7d-4e2a-9c1b-abcdef012345",
              column_type::uuid);
}

TEST(ContentDigest, ByteaHexOfEitherCaseEncodesAlike) {
  expect_same("\\xDEADBEEF", "\\xdeadbeef", column_type::bytea);
  expect_same("\\x", "\\x", column_type::bytea);
}

TEST(ContentDigest, TimestampsWithTOrSpaceEncodeAlike) {
  expect_same("2024-02-29T13:45:01", "2024-02-29 13:45:01", column_type::timestamp);
  expect_same("2024-02-29T13:45:01+00", "2024-02-29 13:45:01+00", column_type::timestamptz);
}

TEST(ContentDigest, FractionTrailingZerosDoNotMatter) {
  expect_same("2024-02-29 13:45:01.120000", "2024-02-29 13:45:01.12", column_type::timestamp);
  expect_same("2024-02-29 13:45:01.000000", "2024-02-29 13:45:01", column_type::timestamp);
  expect_same("2024-02-29 13:45:01.5+00", "2024-02-29 13:45:01.500+00", column_type::timestamptz);
}

TEST(ContentDigest, TimestamptzOffsetsEncodeAsTheSameInstantInUtc) {
  expect_same("2024-02-29 15:45:01+02", "2024-02-29 13:45:01+00", column_type::timestamptz);
  expect_same("2024-02-29 08:15:01-05:30", "2024-02-29 13:45:01+00", column_type::timestamptz);
  expect_same("2024-02-29 13:45:31+00:00:30", "2024-02-29 13:45:01+00",
              column_type::timestamptz);
  expect_same("2024-02-29T13:45:01Z", "2024-02-29 13:45:01+00", column_type::timestamptz);
  expect_same("2024-03-01 01:00:00+11", "2024-02-29 14:00:00+00", column_type::timestamptz);
}

TEST(ContentDigest, NumericSpellingsEncodeAsPostgresqlPrintsThem) {
  expect_same("1.50e1", "15.0", column_type::numeric);
  expect_same("+007", "7", column_type::numeric);
  expect_same("-0.00", "0.00", column_type::numeric);
  expect_same(".5", "0.5", column_type::numeric);
  expect_same("5.", "5", column_type::numeric);
  expect_same("1e2", "100", column_type::numeric);
  expect_same("1.5E-3", "0.0015", column_type::numeric);
  expect_same("-1.5e+3", "-1500", column_type::numeric);
  expect_same("nan", "NaN", column_type::numeric);
  expect_same("+infinity", "Infinity", column_type::numeric);
  EXPECT_EQ(canonical_numeric("1.50e1"), "15.0");
  EXPECT_EQ(canonical_numeric("-0.00"), "0.00");
  EXPECT_EQ(canonical_numeric("000.10"), "0.10");
}

TEST(ContentDigest, AZeroWithAHugeExponentIsReadWithoutWritingOutItsZeros) {
  // PostgreSQL takes "0e999999999" as 0; writing out the exponent took a gigabyte.
  largest_allocation = 0;
  EXPECT_EQ(canonical_numeric("0e999999999"), "0");
  EXPECT_EQ(canonical_numeric("-0.000e999999999"), "0");
  EXPECT_EQ(canonical_numeric("0.00e1"), "0.0");
  EXPECT_LT(largest_allocation.load(), 1024u);
  expect_same("0e999999999", "0", column_type::numeric);
}

TEST(ContentDigest, NumericScaleIsPartOfTheValue) {
  expect_different("1", "1.0", column_type::numeric);
  expect_different("1.50", "1.5", column_type::numeric);
}

TEST(ContentDigest, TextNotANumericIsUnreadable) {
  for (std::string_view text : {"", ".", "e5", "1e", "1e+-5", "1.2.3", " 1", "1 ", "--1", "0x10",
                                "1e5000000000", "Infinityy"})
    EXPECT_EQ(tag_of(text, column_type::numeric), unreadable_tag) << '"' << text << '"';
  EXPECT_EQ(canonical_numeric("1e+-5"), std::nullopt);
}

TEST(ContentDigest, BooleanSpellingsEncodeAlike) {
  expect_same("t", "true", column_type::boolean);
  expect_same("f", "false", column_type::boolean);
  expect_different("t", "f", column_type::boolean);
}

TEST(ContentDigest, PositiveAndNegativeZeroDiffer) {
  expect_different("0", "-0", column_type::double_precision);
  expect_different("0", "-0", column_type::real);
  expect_same("0.0", "0", column_type::double_precision);
  expect_same("-0.0", "-0", column_type::double_precision);
}

TEST(ContentDigest, EveryNanIsOneNan) {
  expect_same("NaN", "nan", column_type::double_precision);
  expect_same("NaN", "NaN", column_type::real);
  expect_different("NaN", "Infinity", column_type::double_precision);
}

TEST(ContentDigest, InfinitiesAreValuesOfTheirOwn) {
  for (auto type : {column_type::real, column_type::double_precision}) {
    expect_same("Infinity", "inf", type);
    expect_same("-Infinity", "-inf", type);
    expect_different("Infinity", "-Infinity", type);
    expect_different("Infinity", "1e38", type);
  }
  expect_same("infinity", "infinity", column_type::date);
  expect_different("infinity", "5874897-12-31", column_type::date);
  expect_different("-infinity", "4714-11-24 BC", column_type::date);
  expect_different("infinity", "294276-12-31 23:59:59.999999", column_type::timestamp);
  expect_different("-infinity", "infinity", column_type::timestamptz);
}

// 294247-01-10 04:00:54.775807 UTC is int64's last microsecond since 1970;
// PostgreSQL's timestamps run on to 294276 AD.
TEST(ContentDigest, InstantsBeyondInt64MicrosecondsMeetNeitherInfinity) {
  constexpr auto last_int64 = "294247-01-10 04:00:54.775807";
  constexpr auto past_int64 = "294247-01-10 04:00:54.775808";
  expect_different("infinity", last_int64, column_type::timestamp);
  expect_different("-infinity", past_int64, column_type::timestamp);
  expect_different(last_int64, past_int64, column_type::timestamp);
  expect_different("294247-01-10 04:00:54.775806", last_int64, column_type::timestamp);
  expect_different("infinity", "294247-01-10 04:00:54.775807+00", column_type::timestamptz);
  expect_same("294247-01-10 05:00:54.775808+01", "294247-01-10 04:00:54.775808+00",
              column_type::timestamptz);
  expect_same("294276-12-31 23:59:59.999999", "294276-12-31T23:59:59.999999",
              column_type::timestamp);
  // Every instant int64 holds below its maximum keeps its 8 bytes.
  EXPECT_EQ(encode("294247-01-10 04:00:54.775806", column_type::timestamp),
            std::string("\x01\x08\0\0\0\xfe\xff\xff\xff\xff\xff\xff\x7f", 13));
  EXPECT_EQ(encode(past_int64, column_type::timestamp).size(), 1u + 4u + 16u);
}

TEST(ContentDigest, FloatSpellingsOfOneValueEncodeAlike) {
  expect_same("1e+20", "100000000000000000000", column_type::double_precision);
  expect_same("1.5e-05", "0.000015", column_type::double_precision);
  expect_same("3.4028235e+38", "340282350000000000000000000000000000000", column_type::real);
  expect_same("1e-45", "1.401298464324817e-45", column_type::real);
}

TEST(ContentDigest, NullEmptyTextAndTheWordNullAllDiffer) {
  for (auto type : {column_type::text, column_type::json, column_type::bigint}) {
    expect_different(std::nullopt, "", type);
    expect_different(std::nullopt, "NULL", type);
    expect_different("", "NULL", type);
  }
  EXPECT_EQ(tag_of(std::nullopt, column_type::text), null_tag);
}

TEST(ContentDigest, CellBoundariesArePartOfTheEncoding) {
  std::string ab_c = encode("ab", column_type::text) + encode("c", column_type::text);
  std::string a_bc = encode("a", column_type::text) + encode("bc", column_type::text);
  EXPECT_NE(ab_c, a_bc);
}

TEST(ContentDigest, UnreadableTextNeverEqualsAReadableValue) {
  struct probe {
    column_type type;
    std::string_view unreadable;
    std::string_view nearest_value;
  };
  // Each unreadable text next to the value a lenient reader would make of it.
  for (const auto& p : std::vector<probe>{
           {column_type::bigint, "+7", "7"},
           {column_type::bigint, " 7", "7"},
           {column_type::integer, "7.0", "7"},
           {column_type::double_precision, "+1.5", "1.5"},
           {column_type::boolean, "yes", "true"},
           {column_type::boolean, "1", "true"},
           {column_type::bytea, "\\xabc", "\\x0abc"},
           {column_type::bytea, "abc", "\\x616263"},
           {column_type::uuid, "0e9a1f3c5b7d4e2a9c1babcdef012345",
            "0e9a1f3c-5b7d-4e2a-9c1b-abcdef012345"},
           {column_type::uuid, "{0e9a1f3c-5b7d-4e2a-9c1b-abcdef012345}",
            "0e9a1f3c-5b7d-4e2a-9c1b-abcdef012345"},
           {column_type::date, "2024-02-30", "2024-03-01"},
           {column_type::date, "2023-02-29", "2023-03-01"},
           {column_type::date, "0000-01-01", "0001-01-01 BC"},
           {column_type::date, "2024-13-01", "2025-01-01"},
           {column_type::date, "4714-11-23 BC", "4714-11-24 BC"},
           {column_type::date, "5874898-01-01", "5874897-12-31"},
           {column_type::timestamp, "2024-01-01 24:00:00", "2024-01-02 00:00:00"},
           {column_type::timestamp, "2024-01-01 12:60:00", "2024-01-01 13:00:00"},
           {column_type::timestamp, "2024-01-01 12:00:00.1234567", "2024-01-01 12:00:00.123457"},
           {column_type::timestamp, "2024-01-01 12:00", "2024-01-01 12:00:00"},
           {column_type::timestamp, "2024-01-01 12:00:00+02", "2024-01-01 12:00:00"},
           {column_type::timestamptz, "2024-01-01 12:00:00+16", "2023-12-31 20:00:00+00"},
           {column_type::timestamptz, "2024-01-01 12:00:00 UTC", "2024-01-01 12:00:00+00"},
       }) {
    EXPECT_EQ(tag_of(p.unreadable, p.type), unreadable_tag)
        << type_name(p.type) << " \"" << p.unreadable << '"';
    EXPECT_NE(encode(p.unreadable, p.type), encode(p.nearest_value, p.type))
        << type_name(p.type) << " \"" << p.unreadable << '"';
  }
}

TEST(ContentDigest, DatesAcrossTheWholeRangeAreValues) {
  for (std::string_view text : {"4714-11-24 BC", "0001-01-01 BC", "0001-01-01", "9999-12-31",
                                "10000-01-01", "5874897-12-31"})
    EXPECT_EQ(tag_of(text, column_type::date), value_tag) << text;
  expect_different("0001-01-01 BC", "0001-01-01", column_type::date);
  // 1 BC is a leap year (astronomical year 0).
  EXPECT_EQ(tag_of("0001-02-29 BC", column_type::date), value_tag);
  EXPECT_EQ(tag_of("0002-02-29 BC", column_type::date), unreadable_tag);
}

TEST(ContentDigest, TextIsEncodedByteForByte) {
  expect_different("a", "A", column_type::text);
  expect_different("{\"a\":1}", "{\"a\": 1}", column_type::json);
  EXPECT_EQ(tag_of(std::string_view("\xff\xfe", 2), column_type::text), value_tag);
}

TEST(RowDigest, DigestsAreStable) {
  row_digest digest;
  digest.add_cell("1", column_type::bigint);
  digest.add_cell("hello", column_type::text);
  digest.end_row();
  EXPECT_EQ(digest.rows(), 1);
  auto first = digest.finish();
  EXPECT_EQ(first.size(), 2 * row_digest::range_digest_bytes);
  EXPECT_EQ(digest.rows(), 0);
  digest.add_cell("1", column_type::bigint);
  digest.add_cell("hello", column_type::text);
  digest.end_row();
  EXPECT_EQ(digest.finish(), first);
  EXPECT_EQ(first, sha256_hex(encode("1", column_type::bigint) + encode("hello", column_type::text)));
}

TEST(RowDigest, AnEmptyRangeHasTheDigestOfNothing) {
  row_digest digest;
  EXPECT_EQ(digest.finish(), sha256_hex(""));
}

TEST(RowDigest, RowOrderMatters) {
  auto digest_of = [](std::vector<std::string_view> ids) {
    row_digest digest;
    for (auto id : ids) {
      digest.add_cell(id, column_type::bigint);
      digest.end_row();
    }
    return digest.finish();
  };
  EXPECT_NE(digest_of({"1", "2"}), digest_of({"2", "1"}));
  EXPECT_NE(digest_of({"1"}), digest_of({"1", "1"}));
}

TEST(RowDigest, FlushBoundariesDoNotChangeTheDigest) {
  // Rows of varied sizes cross the internal flush threshold at different places.
  for (std::size_t cell_bytes : {1u, 1000u, 65'535u, 65'536u, 200'000u}) {
    row_digest digest;
    std::string all;
    for (int row = 0; row < 40; ++row) {
      std::string text(cell_bytes + static_cast<std::size_t>(row), static_cast<char>('a' + row % 26));
      digest.add_cell(std::to_string(row), column_type::integer);
      digest.add_cell(text, column_type::text);
      digest.end_row();
      all += encode(std::to_string(row), column_type::integer) + encode(text, column_type::text);
    }
    EXPECT_EQ(digest.finish(), sha256_hex(all)) << cell_bytes;
  }
}

TEST(SingleRowDigest, IsTheFirstSixteenBytesOfTheRowsDigest) {
  std::vector<cell> cells{"7", std::nullopt, "x"};
  std::vector<column_type> types{column_type::bigint, column_type::text, column_type::text};
  auto digest = single_row_digest(cells, types);
  EXPECT_EQ(digest.size(), 32u);
  row_digest whole;
  for (std::size_t i = 0; i < cells.size(); ++i)
    whole.add_cell(cells[i], types[i]);
  whole.end_row();
  EXPECT_EQ(digest, whole.finish().substr(0, 32));
  cells[1] = "";
  EXPECT_NE(single_row_digest(cells, types), digest);
}

TEST(CanonicalKey, TwoSpellingsOfOneKeyMeet) {
  std::vector<column_type> types{column_type::uuid, column_type::timestamptz};
  std::vector<cell> site{"0E9A1F3C-5B7D-4E2A-9C1B-ABCDEF012345", "2024-01-01T02:00:00+02"};
  std::vector<cell> cloud{"0e9a1f3c-5b7d-4e2a-9c1b-abcdef012345", "2024-01-01 00:00:00+00"};
  EXPECT_EQ(canonical_key(site, types), canonical_key(cloud, types));
  cloud[1] = "2024-01-01 00:00:01+00";
  EXPECT_NE(canonical_key(site, types), canonical_key(cloud, types));
}
