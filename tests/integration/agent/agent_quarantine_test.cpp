// Rows the agent cannot encode for their declared column type: held back at
// the site (quarantined) without a request, while the rest of the table syncs.
#include "actors/agent.hpp"

#include "protocol/http_client.hpp"
#include "tests/integration/agent/agent_fixture.hpp"

namespace tidesync::testing {

namespace {

using actors::table_state;

constexpr int reading_rows = 300;
constexpr const char* bad_id = "150";

/// A SQLite site with `readings` of 300 rows (batches of at most 50, so the
/// bad row sits mid-batch with rows after it in its batch and in later ones).
class Quarantine : public sqlite_agent_test {
protected:
  void SetUp() override {
    sqlite_agent_test::SetUp();
    site_exec("CREATE TABLE readings (id INTEGER PRIMARY KEY, qty INTEGER, weight REAL, "
              "day DATE, note TEXT)");
    site_exec("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < " +
              std::to_string(reading_rows) +
              ") INSERT INTO readings SELECT i, i * 3, i * 0.5, '2024-01-15', 'reading ' || i "
              "FROM n");
  }

  /// Upload requests the server refused with 400 so far.
  std::string server_rejections() {
    protocol::http_client client{"http://127.0.0.1:" + std::to_string(port_)};
    auto body = client.get("/metrics").body;
    auto at = body.find(R"(tidesync_server_requests_total{route="upload",status="400"})");
    if (at == std::string::npos)
      return "0";
    auto line_end = body.find('\n', at);
    return body.substr(body.rfind(' ', line_end) + 1, line_end - body.rfind(' ', line_end) - 1);
  }

  /// Breaks row 150 with `assignment`, syncs, and checks that only that row is
  /// held back, locally, with a reason naming `column`; then fixes it with
  /// `repair` and checks that the next cycle syncs it and empties the quarantine.
  void expect_quarantined_then_synced(const std::string& assignment, const std::string& column,
                                      const std::string& repair) {
    site_exec("UPDATE readings SET " + assignment + " WHERE id = " + bad_id);
    // Tracking installed afterwards gives every row one version: the bad row
    // keeps its place in key order, mid-batch.
    prepare({"readings"});
    auto report = run_once({"readings"});
    auto readings = table_of(report, "readings");
    EXPECT_EQ(readings.state, table_state::skipped) << report.summary_lines();
    EXPECT_EQ(readings.skipped_rows, 1);
    EXPECT_EQ(readings.rows_uploaded, reading_rows - 1) << report.summary_lines();
    EXPECT_FALSE(report.all_in_sync());
    auto remote = remote_rows("readings");
    EXPECT_EQ(remote.size(), static_cast<std::size_t>(reading_rows - 1));
    EXPECT_EQ(remote.count({bad_id}), 0u);
    EXPECT_EQ(remote.count({"300"}), 1u) << "the rows after the bad one synced";
    ASSERT_EQ(skipped_rows().size(), 1u);
    EXPECT_EQ(skipped_rows()[0].key_json, "[150]");
    EXPECT_NE(skipped_rows()[0].reason.find("column " + column), std::string::npos)
      << skipped_rows()[0].reason;
    // Caught at the site: no request carried it, no batch was refused or shrunk.
    EXPECT_EQ(server_rejections(), "0");
    // The --once output names the row and why.
    auto lines = report.summary_lines();
    EXPECT_NE(lines.find("[150]"), std::string::npos) << lines;
    EXPECT_NE(lines.find(skipped_rows()[0].reason), std::string::npos) << lines;

    // Still bad: retried, still held, the rest unchanged.
    report = run_once({"readings"});
    EXPECT_EQ(table_of(report, "readings").state, table_state::skipped) << report.summary_lines();
    ASSERT_EQ(skipped_rows().size(), 1u);
    EXPECT_GE(skipped_rows()[0].attempts, 2);

    site_exec("UPDATE readings SET " + repair + " WHERE id = " + bad_id);
    report = run_once({"readings"});
    EXPECT_TRUE(report.all_in_sync()) << report.summary_lines();
    EXPECT_EQ(table_of(report, "readings").skipped_rows, 0);
    EXPECT_TRUE(skipped_rows().empty());
    expect_remote_matches("readings");
    EXPECT_EQ(server_rejections(), "0");
  }
};

TEST_F(Quarantine, TextInAnIntegerColumnIsHeldBackAndTheRestSyncs) {
  expect_quarantined_then_synced("qty = 'not a number'", "qty", "qty = 450");
}

TEST_F(Quarantine, TextInARealColumnIsHeldBackAndTheRestSyncs) {
  expect_quarantined_then_synced("weight = 'heavy'", "weight", "weight = 75.5");
}

TEST_F(Quarantine, AnImpossibleDateIsHeldBackWithoutARequestAndTheRestSyncs) {
  expect_quarantined_then_synced("day = '2023-02-30'", "day", "day = '2023-02-28'");
}

TEST_F(Quarantine, InvalidUtf8InATextColumnIsHeldBackWithoutARequestAndTheRestSyncs) {
  expect_quarantined_then_synced("note = CAST(x'7265616469ff6e67' AS TEXT)", "note",
                                 "note = 'reading 150'");
}

TEST_F(Quarantine, TwoBadRowsInOneBatchAreBothHeldBackAndTheirNeighboursSync) {
  site_exec("UPDATE readings SET qty = 'x' WHERE id IN (120, 121)");
  prepare({"readings"});
  auto report = run_once({"readings"});
  EXPECT_EQ(table_of(report, "readings").skipped_rows, 2) << report.summary_lines();
  EXPECT_EQ(remote_rows("readings").size(), static_cast<std::size_t>(reading_rows - 2));
  EXPECT_EQ(server_rejections(), "0");
}

// A key the server can't hold can't be named to it either: the row is held
// under its site key (its local text) and found again by that key.
TEST_F(sqlite_agent_test, ARowWhoseKeyCannotBeEncodedIsHeldUnderItsSiteKey) {
  // INT (not INTEGER) PRIMARY KEY is an ordinary column: SQLite lets it hold text.
  site_exec("CREATE TABLE codes (id INT PRIMARY KEY, note TEXT)");
  site_exec("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 120) "
            "INSERT INTO codes SELECT i, 'code ' || i FROM n");
  site_exec("INSERT INTO codes VALUES ('abc', 'bad key')");
  prepare({"codes"});
  // Text sorts after numbers: these later versions are what follows the bad key.
  site_exec("INSERT INTO codes (id, note) SELECT 1000 + id, note FROM codes WHERE id <= 40");
  auto report = run_once({"codes"});
  auto codes = table_of(report, "codes");
  EXPECT_EQ(codes.state, table_state::skipped) << report.summary_lines();
  EXPECT_EQ(codes.rows_uploaded, 160) << report.summary_lines();
  ASSERT_EQ(skipped_rows().size(), 1u);
  EXPECT_EQ(skipped_rows()[0].key_json, R"({"site_key":["abc"]})");
  EXPECT_NE(skipped_rows()[0].reason.find("key column id"), std::string::npos)
    << skipped_rows()[0].reason;

  report = run_once({"codes"});
  EXPECT_EQ(table_of(report, "codes").state, table_state::skipped) << report.summary_lines();
  ASSERT_EQ(skipped_rows().size(), 1u);

  site_exec("UPDATE codes SET id = 999 WHERE id = 'abc'");
  report = run_once({"codes"});
  EXPECT_TRUE(report.all_in_sync()) << report.summary_lines();
  EXPECT_TRUE(skipped_rows().empty());
  expect_remote_matches("codes");
}

} // namespace

} // namespace tidesync::testing
