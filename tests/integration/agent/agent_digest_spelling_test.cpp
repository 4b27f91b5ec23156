// Content digests against the spellings real data has: SQLite texts that
// PostgreSQL normalises, PostgreSQL values at their edges, and keys whose
// order the two databases might disagree on. Each table must settle: one
// full pass makes it identical and the next repairs nothing.
#include "actors/content_verify.hpp"

#include "tests/integration/agent/digest_settling.hpp"
#include "tests/integration/agent/random_values.hpp"

#include <limits>
#include <set>

namespace tidesync::testing {

namespace {

// More than one 10,000-row range, so the walk cuts ranges at site keys.
constexpr int spelled_rows = 25'000;
constexpr int pg_rows = 12'000;
constexpr std::size_t rows_per_insert = 500;

class DigestSpellings : public settling<sqlite_agent_test> {
protected:
  void insert_all(const std::string& head, const std::vector<std::string>& rows) {
    for (const auto& sql : inserts(head, rows, rows_per_insert))
      site_exec(sql);
  }
};

class DigestPostgresEdges : public settling<postgres_agent_test> {
protected:
  void insert_all(const std::string& head, const std::vector<std::string>& rows) {
    for (const auto& sql : inserts(head, rows, rows_per_insert))
      site_exec(sql);
  }
};

template <std::size_t N> const char* pick(std::mt19937_64& engine, const char* const (&from)[N]) {
  return from[engine() % N];
}

} // namespace

// SQLite compares a uuid column's text byte by byte, so "0B…" sorts before
// "0a…"; PostgreSQL compares the uuid's bytes. Ranges cut at site keys then
// hold other rows on the two sides.
TEST_F(DigestSpellings, MixedCaseUuidKeysSettleAfterOnePass) {
  site_exec("CREATE TABLE devices (id UUID PRIMARY KEY, label TEXT)");
  std::mt19937_64 engine{20240611};
  std::vector<std::string> rows;
  for (int i = 0; i < spelled_rows; ++i)
    rows.push_back("(" + sql_literal(mixed_case_uuid(engine)) + ", 'device " + std::to_string(i) + "')");
  insert_all("INSERT INTO devices (id, label)", rows);
  prepare({"devices"});
  auto report = run_with(with_large_batches(agent_config({"devices"})));
  EXPECT_TRUE(report.all_in_sync()) << report.summary_lines();
  expect_settled({"devices"});
}

// ISO 8601's 'T' and SQL's space both separate date and time: bytewise every
// 'T' timestamp of a day sorts after every spaced one, by value they interleave.
TEST_F(DigestSpellings, TimestampKeysSpelledWithTAndSpaceSettleAfterOnePass) {
  site_exec("CREATE TABLE ticks (at TIMESTAMP PRIMARY KEY, note TEXT)");
  site_exec("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < " +
            std::to_string(spelled_rows) +
            ") INSERT INTO ticks SELECT strftime('%Y-%m-%d' || CASE WHEN i % 2 = 1 THEN 'T' "
            "ELSE ' ' END || '%H:%M:%S', 1704067200 + i * 7, 'unixepoch'), 'tick ' || i FROM n");
  prepare({"ticks"});
  auto report = run_with(with_large_batches(agent_config({"ticks"})));
  EXPECT_TRUE(report.all_in_sync()) << report.summary_lines();
  expect_settled({"ticks"});
}

// Every column a spelling PostgreSQL reads as the same value but prints
// otherwise: the digests compare values, so nothing is repaired.
TEST_F(DigestSpellings, TextsPostgresqlNormalisesDigestAsTheirValues) {
  site_exec("CREATE TABLE things (id INTEGER PRIMARY KEY, other UUID, at TIMESTAMP, day DATE, "
            "amount NUMERIC, ratio REAL, flag BOOLEAN, payload BLOB, doc JSON, note TEXT)");
  static const char* const at[] = {"'2024-01-02T03:04:05.500000'", "'2024-01-02 03:04:05'",
                                   "'1999-12-31T23:59:59.000001'", "'2024-03-10T02:30:00.120'",
                                   "'0044-03-15 12:00:00 BC'", "NULL"};
  static const char* const day[] = {"'2024-02-29'", "'0001-01-01'", "'9999-12-31'",
                                    "'0044-03-15 BC'", "NULL"};
  static const char* const amount[] = {"12.50", "12345678901234567890", "1e20", "-0.0", "0.1",
                                       "7", "'12.500'", "1.5e-7", "-98765.4321", "NULL"};
  static const char* const ratio[] = {"3", "1e308", "-2.5e-310", "0.1", "-0.0", "123456789012",
                                      "'7'", "NULL"};
  static const char* const flag[] = {"'yes'", "'TRUE'", "1", "'no'", "0", "'f'", "'Y'",
                                     "'False'", "NULL"};
  static const char* const doc[] = {"'{ \"a\" :  1 ,\"b\":[ 1, 2 ]}'", "'[ ]'", "'  \"x\"  '",
                                    "'{\"k\": 1.50}'", "'123'", "NULL"};
  std::mt19937_64 engine{7};
  random_values values{7};
  std::vector<std::string> rows;
  for (int i = 0; i < spelled_rows; ++i) {
    rows.push_back("(" + std::to_string(i) + ", " + sql_literal(mixed_case_uuid(engine)) + ", " +
                   pick(engine, at) + ", " + pick(engine, day) + ", " + pick(engine, amount) +
                   ", " + pick(engine, ratio) + ", " + pick(engine, flag) + ", X'" +
                   hex_of(values.bytes()) + "', " + pick(engine, doc) + ", " +
                   sql_literal(values.utf8_text()) + ")");
  }
  insert_all("INSERT INTO things", rows);
  prepare({"things"});
  auto report = run_with(with_large_batches(agent_config({"things"})));
  EXPECT_TRUE(report.all_in_sync()) << report.summary_lines();
  expect_settled({"things"});
}

// Text keys with bytes above 0x7F next to integers in a composite key, and
// every PostgreSQL value at its edge: jsonb, numeric with scale, timestamptz,
// NaN, -0, infinities, subnormals.
TEST_F(DigestPostgresEdges, EdgeValuesAndCompositeTextKeysSettleAfterOnePass) {
  site_exec("CREATE TABLE mixed (name TEXT, n BIGINT, doc JSONB, amount NUMERIC, "
            "at TIMESTAMPTZ, d DOUBLE PRECISION, r REAL, bin BYTEA, PRIMARY KEY (name, n))");
  random_values values{11};
  std::vector<std::string> names;
  for (int i = 0; i < 60; ++i)
    names.push_back(values.utf8_text());
  std::vector<std::string> rows;
  for (int i = 0; i < pg_rows; ++i) {
    auto n = i == 0   ? std::numeric_limits<std::int64_t>::min()
             : i == 1 ? std::numeric_limits<std::int64_t>::max()
                      : (i % 2 == 0 ? -1 : 1) * static_cast<std::int64_t>(i) * 1'000'003;
    rows.push_back("(" + sql_literal(names[values.between(0, 59)]) + ", " + std::to_string(n) + ", " +
                   sql_literal(values.json_text()) + ", " + sql_literal(values.numeric_text()) + ", " +
                   sql_literal(values.timestamp_text(true)) + ", " +
                   sql_literal(exact_text(values.any_double())) + ", " +
                   sql_literal(exact_text(values.any_float())) + ", " +
                   sql_literal("\\x" + hex_of(values.bytes())) + ")");
  }
  insert_all("INSERT INTO mixed", rows);
  prepare({"mixed"});
  auto report = run_with(with_large_batches(agent_config({"mixed"})));
  EXPECT_TRUE(report.all_in_sync()) << report.summary_lines();
  expect_settled({"mixed"});
}

TEST_F(DigestPostgresEdges, ByteaUuidAndExtremeBigintKeysSettleAfterOnePass) {
  site_exec("CREATE TABLE blobs (k BYTEA PRIMARY KEY, note TEXT)");
  site_exec("CREATE TABLE uuids (k UUID PRIMARY KEY, note TEXT)");
  site_exec("CREATE TABLE bigs (k BIGINT PRIMARY KEY, f DOUBLE PRECISION)");
  random_values values{13};
  std::set<std::string> blob_keys;
  while (blob_keys.size() < static_cast<std::size_t>(pg_rows))
    blob_keys.insert(hex_of(values.bytes()));
  std::set<std::int64_t> big_keys{std::numeric_limits<std::int64_t>::min(),
                                  std::numeric_limits<std::int64_t>::max(), -1, 0, 1};
  while (big_keys.size() < static_cast<std::size_t>(pg_rows))
    big_keys.insert(values.integer(64));
  std::vector<std::string> blobs, uuids, bigs;
  for (const auto& key : blob_keys)
    blobs.push_back("(" + sql_literal("\\x" + key) + ", " + sql_literal(values.utf8_text()) + ")");
  for (int i = 0; i < pg_rows; ++i)
    uuids.push_back("(" + sql_literal(values.uuid_text()) + ", 'u" + std::to_string(i) + "')");
  for (auto key : big_keys)
    bigs.push_back("(" + std::to_string(key) + ", " + sql_literal(exact_text(values.any_double())) +
                   ")");
  insert_all("INSERT INTO blobs", blobs);
  insert_all("INSERT INTO uuids", uuids);
  insert_all("INSERT INTO bigs", bigs);
  prepare({"blobs", "uuids", "bigs"});
  auto report = run_with(with_large_batches(agent_config({"blobs", "uuids", "bigs"})));
  EXPECT_TRUE(report.all_in_sync()) << report.summary_lines();
  expect_settled({"blobs", "uuids", "bigs"});
}

} // namespace tidesync::testing
