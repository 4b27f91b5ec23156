#pragma once

#include "actors/content_verify.hpp"
#include "tests/integration/agent/agent_fixture.hpp"

#include <random>
#include <string>
#include <vector>

namespace tidesync::testing {

/// Config for tests with tens of thousands of rows: large batches.
inline config::agent_config with_large_batches(config::agent_config config) {
  config.batch = {1, 5'000, 20'000};
  return config;
}

/// Adds expect_settled to an agent fixture.
template <class Base> class settling : public Base {
protected:
  /// Checks that tables have settled after a sync: `verify` finds them
  /// identical, another full pass repairs nothing and reports them in sync,
  /// and the cloud's rows equal the site's.
  void expect_settled(const std::vector<std::string>& tables) {
    auto config = with_large_batches(this->agent_config(tables));
    for (const auto& verified : actors::verify_content(config, {})) {
      EXPECT_EQ(verified.state, actors::content_state::identical)
        << verified.table << ": " << verified.diff.missing.size() << " missing, "
        << verified.diff.extra.size() << " extra, " << verified.diff.different.size()
        << " different " << verified.error;
      EXPECT_EQ(verified.site_rows, verified.cloud_rows) << verified.table;
    }
    auto report = this->run_with(config);
    EXPECT_TRUE(report.all_in_sync()) << report.summary_lines();
    for (const auto& table : tables) {
      auto line = this->table_of(report, table);
      EXPECT_TRUE(line.digest_pass_completed) << table;
      EXPECT_EQ(line.rows_repaired, 0) << table << " is repaired on every pass";
      this->expect_remote_matches(table);
    }
  }
};

/// A uuid in 8-4-4-4-12 form whose hex letters are each upper or lower case at random.
inline std::string mixed_case_uuid(std::mt19937_64& engine) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  for (int i = 0; i < 32; ++i) {
    if (i == 8 || i == 12 || i == 16 || i == 20)
      out.push_back('-');
    char c = digits[engine() % 16];
    if (c >= 'a' && engine() % 2 == 0)
      c = static_cast<char>(c - 'a' + 'A');
    out.push_back(c);
  }
  return out;
}

/// `text` as an SQL string literal.
inline std::string sql_literal(const std::string& text) {
  std::string out = "'";
  for (char c : text) {
    if (c == '\'')
      out.push_back('\'');
    out.push_back(c);
  }
  return out + "'";
}

/// INSERT statements for `rows` (each a parenthesised value list), `per` rows each.
inline std::vector<std::string> inserts(const std::string& head,
                                        const std::vector<std::string>& rows, std::size_t per) {
  std::vector<std::string> out;
  for (std::size_t first = 0; first < rows.size(); first += per) {
    std::string sql = head + " VALUES ";
    for (std::size_t i = first; i < rows.size() && i < first + per; ++i)
      sql += (i == first ? "" : ", ") + rows[i];
    out.push_back(sql);
  }
  return out;
}

} // namespace tidesync::testing
