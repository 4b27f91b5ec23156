#include "actors/agent.hpp"

#include "tests/integration/agent/agent_fixture.hpp"

namespace tidesync::testing {

namespace {

using actors::table_state;

// Small enough that one row can exceed it; the other rows' batches stay far below.
constexpr std::uint64_t small_body_limit = 256 << 10;

// 2 MiB of md5 hex: still about 1 MiB gzip'd, so over the limit either way.
const std::string incompressible_text =
  "SELECT string_agg(md5(i::text), '') FROM generate_series(1, 65536) i";

} // namespace

TEST_P(agent_test, CompositeTextAndUuidKeysSync) {
  site_exec("CREATE TABLE order_lines (order_id BIGINT NOT NULL, line_no INTEGER NOT NULL, "
            "sku TEXT, PRIMARY KEY (order_id, line_no))");
  site_exec("CREATE TABLE tags (name TEXT PRIMARY KEY, weight REAL)");
  site_exec("CREATE TABLE devices (id UUID PRIMARY KEY, label TEXT)");
  site_exec(rows_of("INSERT INTO order_lines (order_id, line_no, sku)",
                    "i / 7, i % 7, 'sku-' || i", 400));
  site_exec(rows_of("INSERT INTO tags (name, weight)", "'tag-' || i, i * 0.25", 150));
  site_exec("INSERT INTO tags (name, weight) VALUES ('Zebra', 1), ('apple', 2), ('Äpfel', 3), "
            "('a b', 4), ('日本', 5), ('', 6)");
  auto uuid = is_postgres() ? std::string{"(lpad(to_hex(i * 7919), 8, '0') || "
                                          "'-0000-4000-8000-' || lpad(to_hex(i), 12, '0'))::uuid"}
                            : std::string{"printf('%08x-0000-4000-8000-%012x', i * 7919, i)"};
  site_exec(rows_of("INSERT INTO devices (id, label)", uuid + ", 'device ' || i", 130));
  prepare({"order_lines", "tags", "devices"});
  auto report = run_once({"order_lines", "tags", "devices"});
  EXPECT_TRUE(report.all_in_sync()) << report.summary_lines();
  expect_remote_matches("order_lines");
  expect_remote_matches("tags");
  expect_remote_matches("devices");

  site_exec("DELETE FROM order_lines WHERE line_no = 3");
  site_exec("UPDATE tags SET weight = NULL WHERE name IN ('Äpfel', '日本')");
  site_exec("DELETE FROM devices WHERE label LIKE '%7'");
  report = run_once({"order_lines", "tags", "devices"});
  EXPECT_TRUE(report.all_in_sync()) << report.summary_lines();
  expect_remote_matches("order_lines");
  expect_remote_matches("tags");
  expect_remote_matches("devices");
}

TEST_P(agent_test, EveryTypeWithNullsAndUnicodeSyncs) {
  if (is_postgres()) {
    site_exec("CREATE TABLE every_type (id integer PRIMARY KEY, s smallint, i integer, b bigint, "
              "n numeric(14,4), r real, d double precision, flag boolean, t text, v varchar(40), "
              "bin bytea, day date, at timestamp, atz timestamptz, u uuid, j json, jb jsonb)");
    site_exec("INSERT INTO every_type VALUES "
              "(1, 32767, -2147483648, 9223372036854775807, 12345.6789, 1.5, 0.1, true, "
              "'grüße 🌊 \"quoted\" \\ back', 'naïve', '\\x00ff0a'::bytea, '2024-02-29', "
              "'2024-02-29 13:45:01.123456', '2024-02-29 13:45:01.5+02', "
              "'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{\"k\": [1, \"ü\"]}', '{\"b\": 1, \"a\": null}'),"
              "(2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, "
              "NULL, NULL, NULL),"
              "(3, -32768, 0, -1, -0.0001, 'NaN', '-Infinity', false, '', '日本語', ''::bytea, "
              "'0001-01-01', '1999-12-31 23:59:59', '1970-01-01 00:00:00+00', "
              "'00000000-0000-0000-0000-000000000000', '[]', '\"text\"')");
  } else {
    site_exec("CREATE TABLE every_type (id INTEGER PRIMARY KEY, b BIGINT, n NUMERIC, r REAL, "
              "d DOUBLE, flag BOOLEAN, t TEXT, v VARCHAR(40), bin BLOB, day DATE, at DATETIME, "
              "u UUID, j JSON)");
    site_exec("INSERT INTO every_type VALUES "
              "(1, 9223372036854775807, '12345.6789', 1.5, 0.1, 1, 'grüße 🌊 \"quoted\" \\ back', "
              "'naïve', x'00ff0a', '2024-02-29', '2024-02-29 13:45:01.123456', "
              "'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{\"k\": [1, \"ü\"]}'),"
              "(2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),"
              "(3, -1, -0.0001, 9e999, -9e999, 0, '', '日本語', x'', '0001-01-01', "
              "'1999-12-31 23:59:59', '00000000-0000-0000-0000-000000000000', '[]')");
  }
  prepare({"every_type"});
  auto report = run_once({"every_type"});
  EXPECT_TRUE(report.all_in_sync()) << report.summary_lines();
  EXPECT_EQ(table_of(report, "every_type").rows_uploaded, 3);
  expect_remote_matches("every_type");
}

// A row the server refuses: an impossible date on SQLite (400); PostgreSQL
// refuses those itself, so there a row too large for the server's body limit (413).
TEST_P(agent_test, ARejectedRowIsSkippedTheRestSyncsAndItFollowsOnceFixed) {
  site_exec("CREATE TABLE visits (id INTEGER PRIMARY KEY, day DATE, note TEXT)");
  site_exec(rows_of("INSERT INTO visits (id, day, note)", "i, '2023-01-15', 'visit ' || i", 300));
  if (is_postgres()) {
    restart_server_with_body_limit(small_body_limit);
    site_exec("UPDATE visits SET note = (" + incompressible_text + ") WHERE id = 150");
  } else {
    site_exec("UPDATE visits SET day = '2023-02-30' WHERE id = 150");
  }
  prepare({"visits"});
  auto report = run_once({"visits"});
  auto visits = table_of(report, "visits");
  EXPECT_EQ(visits.state, table_state::skipped) << report.summary_lines();
  EXPECT_EQ(visits.skipped_rows, 1);
  EXPECT_EQ(visits.rows_uploaded, 299);
  EXPECT_FALSE(report.all_in_sync());
  EXPECT_EQ(remote_rows("visits").size(), 299u);
  ASSERT_EQ(skipped_rows().size(), 1u);
  EXPECT_EQ(skipped_rows()[0].key_json, "[150]");

  site_exec(is_postgres() ? "UPDATE visits SET note = 'visit 150' WHERE id = 150"
                          : "UPDATE visits SET day = '2023-02-28' WHERE id = 150");
  report = run_once({"visits"});
  EXPECT_TRUE(report.all_in_sync()) << report.summary_lines();
  EXPECT_EQ(table_of(report, "visits").skipped_rows, 0);
  EXPECT_TRUE(skipped_rows().empty());
  expect_remote_matches("visits");
}

TEST_P(agent_test, ARestoredBackupDeletesTheNewerRemoteRows) {
  site_exec("CREATE TABLE orders (id BIGINT PRIMARY KEY, note TEXT)");
  site_exec(rows_of("INSERT INTO orders (id, note)", "i, 'order ' || i", 200));
  prepare({"orders"});
  ASSERT_TRUE(run_once({"orders"}).all_in_sync());
  back_up_site();

  site_exec(rows_of("INSERT INTO orders (id, note)", "1000 + i, 'late ' || i", 60));
  site_exec("UPDATE orders SET note = 'changed' WHERE id <= 20");
  ASSERT_TRUE(run_once({"orders"}).all_in_sync());
  EXPECT_EQ(remote_rows("orders").size(), 260u);

  restore_site();
  auto report = run_once({"orders"});
  EXPECT_TRUE(report.all_in_sync()) << report.summary_lines();
  EXPECT_GE(table_of(report, "orders").rows_deleted, 60);
  expect_remote_matches("orders");
}

} // namespace tidesync::testing
